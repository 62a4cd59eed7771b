/**
 * Runs the hub as a separate process, exactly as `npm start` does, so a test can kill it with
 * SIGKILL and start it again on the same data.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD } from './hub.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type ChildHub = { proc: ChildProcess; mqttPort: number; httpPort: number; output: () => string; kill(signal?: NodeJS.Signals): Promise<void> };

export async function startChildHub(dataDir: string, env: Record<string, string> = {}): Promise<ChildHub> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'hub/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', HUB_ADMIN_PASSWORD: ADMIN_PASSWORD, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const ready = await new Promise<{ mqttPort: number; httpPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start: ${out}`)), 30_000);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`hub exited with ${code}: ${out}`)); });
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as { msg?: string; mqttPort?: number; httpPort?: number };
          if (j.msg === 'hub ready' && j.mqttPort && j.httpPort) {
            clearTimeout(timer);
            resolve({ mqttPort: j.mqttPort, httpPort: j.httpPort });
          }
        } catch { /* a partial line */ }
      }
    });
  });
  proc.removeAllListeners('exit');
  return {
    proc, ...ready,
    output: () => out,
    kill(signal = 'SIGKILL') {
      return new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      });
    },
  };
}

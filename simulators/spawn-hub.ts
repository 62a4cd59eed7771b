/**
 * Starts the hub as its own process, exactly as `npm start` runs it, and waits for its
 * "hub ready" line to learn its ports. Used by the demo, the crash tests and the benchmarks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export type HubProcess = {
  proc: ChildProcess;
  mqttPort: number;
  httpPort: number;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
};

const BUILT = 'build/hub/main.js';

/**
 * `onLine` sees every line the hub prints after it is ready. `compiled` runs the production
 * build (`npm run build`: build/hub/main.js) with plain Node instead of the sources; `if-built`
 * does so when there is a build (the benchmarks: as the hub runs in its image). `nodeArgs` go to
 * Node before the script (a benchmark's `--inspect`).
 */
export async function spawnHub(env: Record<string, string>, onLine?: (line: string) => void, opts: { compiled?: boolean | 'if-built'; nodeArgs?: string[] } = {}): Promise<HubProcess> {
  const compiled = opts.compiled === 'if-built' ? existsSync(join(ROOT, BUILT)) : !!opts.compiled;
  const args = [...(opts.nodeArgs ?? []), ...(compiled ? [BUILT] : ['--import', 'tsx', 'hub/main.ts'])];
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let ready = false;
  let partial = '';
  const lines = (d: Buffer) => {
    out += d.toString();
    if (!ready || !onLine) return;
    const text = partial + d.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) onLine(l);
  };
  proc.stderr?.on('data', lines);
  const ports = await new Promise<{ mqttPort: number; httpPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`hub did not start: ${out}`));
    }, 30_000);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`hub exited with ${code}: ${out}`)); });
    proc.stdout?.on('data', (d: Buffer) => {
      lines(d);
      if (ready) return;
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as { msg?: string; mqttPort?: number; mqttsPort?: number | null; httpPort?: number };
          if (j.msg === 'hub ready' && (j.mqttPort || j.mqttsPort) && j.httpPort) {
            clearTimeout(timer);
            ready = true;
            resolve({ mqttPort: j.mqttPort || (j.mqttsPort as number), httpPort: j.httpPort });
          }
        } catch { /* a partial line */ }
      }
    });
  });
  proc.removeAllListeners('exit');
  return {
    proc, ...ports,
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

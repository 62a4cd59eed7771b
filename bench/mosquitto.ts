/**
 * Debian's Mosquitto as the benchmarks' reference broker: started on a free port with its
 * configuration in a temporary directory, anonymous, no persistence. Null where it is not
 * installed (apt-get install mosquitto); the benchmarks then leave out their reference half.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { tempDir } from '../test/helpers/hub.ts';
import { freePort } from '../test/helpers/influxd.ts';

export type Mosquitto = { url: string; pid(): number; kill(): Promise<void>; restart(): Promise<number>; stop(): Promise<void> };

export const MOSQUITTO_MISSING = 'Mosquitto is not installed (apt-get install mosquitto): the reference half is left out.';

/** `extra`: more lines of mosquitto.conf. */
export async function startMosquitto(extra: string[] = []): Promise<Mosquitto | null> {
  // Debian installs the broker in /usr/sbin, which is not on every user's PATH.
  const bin = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) => existsSync(p));
  if (!bin) return null;
  const dir = tempDir('bench-mosquitto-');
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  writeFileSync(join(dir, 'm.conf'), [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', ...extra, ''].join('\n'));
  let broker: ChildProcess;
  const start = async () => {
    broker = spawn(bin, ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const c = mqtt.connect(url, { reconnectPeriod: 0 });
        c.once('connect', () => { c.end(true); resolve(true); });
        c.once('error', () => resolve(false));
        c.once('close', () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await start();
  return {
    url,
    pid: () => broker.pid as number,
    async kill() {
      broker.kill('SIGKILL');
      await new Promise((r) => broker.once('exit', r));
    },
    async restart() {
      const t = performance.now();
      await start();
      return performance.now() - t;
    },
    async stop() {
      broker.kill('SIGTERM');
      await new Promise((r) => broker.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

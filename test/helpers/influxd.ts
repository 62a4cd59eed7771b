/**
 * Starts Debian's `influxd` (InfluxDB 1.x) on a temporary directory and free ports, as a real
 * server the tests can stop and start again. A missing influxd fails the test: it is installed
 * by .ci/run and must be there.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export type Influxd = { url: string; start(): Promise<void>; stop(): Promise<void>; close(): Promise<void> };

export function influxdBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v influxd'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('influxd not found: install Debian\'s influxdb package (apt-get install influxdb); .ci/run does');
  return found;
}

export async function startInfluxd(): Promise<Influxd> {
  const bin = influxdBinary();
  const dir = mkdtempSync(join(tmpdir(), 'influxd-'));
  const httpPort = await freePort();
  const rpcPort = await freePort();
  const config = join(dir, 'influxdb.conf');
  writeFileSync(config, `
reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${dir}/meta"
  logging-enabled = false
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:${httpPort}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
`);
  const url = `http://127.0.0.1:${httpPort}`;
  let proc: ChildProcess | null = null;
  let output = '';

  async function start(): Promise<void> {
    proc = spawn(bin, ['-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    proc.stderr?.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      if (proc.exitCode !== null) throw new Error(`influxd exited with ${proc.exitCode}: ${output}`);
      try {
        // Bounded: fetch would wait minutes for an answer from a server still starting.
        if ((await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) })).status === 204) return;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`influxd did not start within 30 s: ${output}`);
  }

  async function stop(): Promise<void> {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
      setTimeout(() => p.kill('SIGKILL'), 10_000).unref();
    });
  }

  await start();
  return {
    url, start, stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

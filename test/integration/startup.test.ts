/**
 * `npm start` as a user meets it: clear messages for bad settings, and the admin password
 * generated and printed once on the first start.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startChildHub } from '../helpers/child-hub.ts';
import { apiClient, tempDir } from '../helpers/hub.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('starting the hub', () => {
  it('refuses bad settings with every problem named, and exits', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'hub/main.ts'], {
      cwd: ROOT, encoding: 'utf8', timeout: 30_000,
      env: { ...process.env, MQTT_PORT: 'one', INFLUX_URL: 'localhost:8086', LOG_LEVEL: 'loud' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('invalid configuration');
    for (const key of ['MQTT_PORT', 'INFLUX_URL', 'LOG_LEVEL']) expect(r.stderr).toContain(key);
    expect(r.stderr).toContain('.env.example');
  });

  it('generates the admin password on the first start, prints it once, and it works', async () => {
    const dataDir = tempDir('hub-first-start-');
    dirs.push(dataDir);
    const first = await startChildHub(dataDir, { HUB_ADMIN_PASSWORD: '' });
    const m = /password\s+(\S+)\s+It is shown only this once/.exec(first.output());
    expect(m).not.toBeNull();
    const password = m![1]!;
    const api = apiClient(`http://127.0.0.1:${first.httpPort}`, () => null);
    const login = await api('POST', '/api/auth/login', { username: 'admin', password });
    expect(login.status).toBe(200);
    await first.kill('SIGTERM');

    const second = await startChildHub(dataDir, { HUB_ADMIN_PASSWORD: '' });
    expect(second.output()).not.toContain('shown only this once');
    expect(second.output()).not.toContain(password);
    const again = apiClient(`http://127.0.0.1:${second.httpPort}`, () => null);
    expect((await again('POST', '/api/auth/login', { username: 'admin', password })).status).toBe(200);
    await second.kill('SIGTERM');
  });
});

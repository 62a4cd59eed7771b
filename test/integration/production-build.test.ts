/**
 * The production build (`npm run build`): the hub compiled ahead of time runs with plain Node,
 * needs nothing from the development dependencies, and serves the dashboard built beside it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../hub/core/topics.ts';
import { type HubProcess, spawnHub } from '../../simulators/spawn-hub.ts';
import { ADMIN_PASSWORD, apiClient, connectDevice, eventually, registerDevice, tempDir } from '../helpers/hub.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = join(ROOT, 'build');
const dataDir = tempDir('hub-prod-');
let hub: HubProcess | null = null;

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'pipe' });
}, 180_000);
afterAll(async () => {
  await hub?.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? jsFiles(p) : p.endsWith('.js') ? [p] : [];
  });
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (spec: string) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

describe('production build', () => {
  it('imports only compiled files, Node itself and production dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const files = jsFiles(join(BUILD, 'hub'));
    expect(files.length).toBeGreaterThan(50);
    const relative: string[] = [];
    const packages = new Set<string>();
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const statics = text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm);
      const dynamics = text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g);
      for (const m of [...statics, ...dynamics]) {
        const spec = (m[1] ?? m[2]) as string;
        if (spec.startsWith('.')) relative.push(spec);
        else packages.add(spec);
      }
    }
    expect(relative.filter((s) => !s.endsWith('.js'))).toEqual([]);
    const outside = [...packages].filter((s) => !s.startsWith('node:') && !builtinModules.includes(s) && !(packageOf(s) in pkg.dependencies));
    expect(outside).toEqual([]);
    expect(packages.has('tsx')).toBe(false);
  });

  it('starts with plain Node, serves the dashboard and carries a care event to an alarm', async () => {
    hub = await spawnHub({ DATA_DIR: dataDir, MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', HUB_ADMIN_PASSWORD: ADMIN_PASSWORD }, undefined, { compiled: true });
    expect(hub.proc.spawnargs.slice(1)).toEqual(['build/hub/main.js']);
    const base = `http://127.0.0.1:${hub.httpPort}`;
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html lang="nb">');

    let token = '';
    const api = apiClient(base, () => token);
    token = (await api('POST', '/api/auth/login', { username: 'admin', password: ADMIN_PASSWORD }, null)).body.token;
    expect(token).toBeTruthy();
    const dev = await registerDevice(api, 'safety_alarm');
    const client = await connectDevice(`mqtt://127.0.0.1:${hub.mqttPort}`, dev);
    await client.publishAsync(topics.events(dev.id), JSON.stringify({ id: 'prod-1', ts: new Date().toISOString(), type: 'button_pressed' }), { qos: 1 });
    await client.endAsync();
    const alarms = await eventually(async () => {
      const list = (await api('GET', '/api/alarms')).body as { deviceId: string; type: string }[];
      return list.find((a) => a.deviceId === dev.id) ? list : null;
    }, 'the alarm from the compiled hub');
    expect(alarms.find((a) => a.deviceId === dev.id)?.type).toBe('button_pressed');
  });
});

/**
 * The simulator's tools against a real hub: a synthetic municipality created through the API
 * and found again on a re-run; load mode with real MQTT connections; a lively municipality's
 * devices whose every payload the hub accepts.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimClock } from '../../simulators/clock.ts';
import { HubApi } from '../../simulators/hub-api.ts';
import { runLoad } from '../../simulators/load.ts';
import { ensureMunicipality } from '../../simulators/municipality.ts';
import { Simulation } from '../../simulators/simulation.ts';
import { ADMIN_PASSWORD, startTestHub, tempDir, type TestHub } from '../helpers/hub.ts';

let t: TestHub;
let api: HubApi;
const dir = tempDir('simtools-');
beforeAll(async () => {
  t = await startTestHub();
  api = new HubApi(t.httpUrl);
  await api.login('admin', ADMIN_PASSWORD);
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a synthetic municipality', () => {
  it('is created through the API, and a re-run reuses what exists', async () => {
    const stateFile = join(dir, 'muni.json');
    const first = await ensureMunicipality(api, { tenantId: '4601', residents: 30, seed: 4, stateFile });
    expect(first.created.residents).toBe(30);
    expect(first.created.devices).toBe(first.devices.length);
    expect(first.devices.length).toBeGreaterThanOrEqual(30);
    const again = await ensureMunicipality(api, { tenantId: '4601', residents: 30, seed: 4, stateFile });
    expect(again.created).toEqual({ residents: 0, devices: 0 });
    expect(again.devices.map((d) => d.id).sort()).toEqual(first.devices.map((d) => d.id).sort());
    // A device decommissioned on the hub is replaced; the rest stay.
    const gone = first.devices[0]!;
    expect((await api.call('DELETE', `/api/devices/${gone.id}`) as { id: string }).id).toBe(gone.id);
    const third = await ensureMunicipality(api, { tenantId: '4601', residents: 30, seed: 4, stateFile });
    expect(third.created).toEqual({ residents: 0, devices: 1 });
    const residents = await api.residents('4601');
    expect(residents).toHaveLength(30);
    expect(residents.every((r) => r.nextOfKin && r.nextOfKin.length > 0 && r.actionPlan && r.address.endsWith('Bergen'))).toBe(true);
  });

  it('lives a lively hour at speed, and the hub takes every payload', async () => {
    const muni = await ensureMunicipality(api, { tenantId: '4601', residents: 30, seed: 4, stateFile: join(dir, 'muni.json') });
    const clock = new SimClock(new Date('2026-11-23T07:30:00Z'), 360);
    const sim = new Simulation({ mqttUrl: t.mqttUrl, municipality: muni, seed: 4, mode: 'lively', clock, tickMs: 50 });
    const before = (await api.call<{ ingest: Record<string, number> }>('GET', '/api/health')).ingest;
    await sim.start();
    await sim.runUntil(new Date(clock.start.getTime() + 3600_000));
    await sim.stop();
    const after = (await api.call<{ ingest: Record<string, number> }>('GET', '/api/health')).ingest;
    expect(sim.stats.sent).toBeGreaterThan(100);
    expect(sim.stats.acked).toBe(sim.stats.sent);
    expect(sim.stats.errors).toBe(0);
    expect(after.rejected).toBe(before.rejected);
    const accepted = (k: Record<string, number>) => (k.stored ?? 0) + (k.telemetry ?? 0) + (k.status ?? 0) + (k.duplicate ?? 0);
    expect(accepted(after) - accepted(before)).toBeGreaterThanOrEqual(sim.stats.sent);
  });
});

describe('load mode', () => {
  it('connects its devices, sends at the rate asked, and counts every acknowledgement', async () => {
    const lines: string[] = [];
    const s = await runLoad({
      api, mqttUrl: t.mqttUrl, tenantId: '9901', devices: 100, rate: 200, durationSeconds: 2, stateFile: join(dir, 'load.json'),
      progress: (l) => lines.push(l), hubMemory: async () => process.memoryUsage().rss,
    });
    expect(s.devices).toBe(100);
    expect(s.connectedAtEnd).toBe(100);
    expect(s.errors).toBe(0);
    expect(s.acked).toBe(s.sent);
    expect(s.sent).toBeGreaterThanOrEqual(300);
    expect(lines.some((l) => l.startsWith('connected 100/100'))).toBe(true);
    expect(lines.some((l) => / rate \d+ msg\/s/.test(l))).toBe(true);
    // A second run reuses the registered devices.
    const again = await runLoad({ api, mqttUrl: t.mqttUrl, tenantId: '9901', devices: 100, rate: 100, durationSeconds: 1, stateFile: join(dir, 'load.json') });
    expect(again.registerSeconds).toBeLessThan(s.registerSeconds + 1);
    expect((await api.devices('9901')).length).toBe(100);
  });
});

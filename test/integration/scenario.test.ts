/**
 * Shipped scenarios against a real hub: every device a real MQTT client with its own
 * credentials, the municipality created through the API, and the hub's clock running on the
 * simulation's time, so night rules, dwell times and silence behave as they would over a night.
 * The alarms the hub raises are exactly the ones the scenario predicts.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../hub/core/alarms.ts';
import { SimClock } from '../../simulators/clock.ts';
import { HubApi } from '../../simulators/hub-api.ts';
import { ensureMunicipality } from '../../simulators/municipality.ts';
import { loadScenario, scenarioStart, timeline } from '../../simulators/scenario.ts';
import { Simulation } from '../../simulators/simulation.ts';
import { ADMIN_PASSWORD, startTestHub, tempDir } from '../helpers/hub.ts';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function run(name: string, speed: number) {
  const scenario = loadScenario(name);
  const start = scenarioStart(scenario, new Date('2026-11-20T12:00:00Z'));
  // Setting up runs at real speed just before the scenario's start; then time runs fast.
  let clock = new SimClock(new Date(start.getTime() - 60_000), 1);
  const hubNow = { now: () => clock.now() };
  const t = await startTestHub({ clock: hubNow, config: { scheduler: { tickMs: 40, silenceEveryMs: 80 } } });
  const dir = tempDir('scenario-');
  dirs.push(dir);
  try {
    const api = new HubApi(t.httpUrl);
    await api.login('admin', ADMIN_PASSWORD);
    const residents = Math.max(...scenario.steps.map((s) => s.resident)) + 1;
    const muni = await ensureMunicipality(api, { tenantId: '0301', residents, seed: scenario.seed, stateFile: join(dir, 'state.json') });
    clock = new SimClock(clock.now(), speed);
    const sim = new Simulation({ mqttUrl: t.mqttUrl, municipality: muni, seed: scenario.seed, mode: scenario.background, clock, steps: timeline(scenario, start), tickMs: 50 });
    await sim.start();
    await sim.runUntil(new Date(start.getTime() + scenario.durationMinutes * 60_000));
    await sim.stop();
    expect(sim.stats.errors).toBe(0);
    expect(sim.stats.acked).toBe(sim.stats.sent);
    const alarms: Alarm[] = await api.call('GET', '/api/alarms?tenantId=0301&limit=500');
    const indexOf = new Map(muni.residents.map((r) => [r.id, r.index]));
    return { scenario, alarms, got: alarms.map((a) => ({ resident: a.residentId ? indexOf.get(a.residentId) : undefined, alarmType: a.type, state: a.state })), sim };
  } finally {
    await t.close();
  }
}

const key = (x: { resident?: number | undefined; alarmType: string }) => `${x.resident ?? 'municipality'}:${x.alarmType}`;

describe('scenarios against a real hub', () => {
  it('a night at the response centre raises exactly the alarms it predicts', async () => {
    // 600×: a night in under a minute, with seconds of slack before a heartbeat counts as missed.
    const { scenario, got, alarms } = await run('night', 600);
    expect(got.map(key).sort()).toEqual(scenario.expect.map(key).sort());
    for (const e of scenario.expect) {
      if (e.state) expect(got.find((g) => key(g) === key(e))?.state, key(e)).toBe(e.state);
    }
    // The door opened at night raised one alarm for both its events; the cancel came within the grace period.
    expect(alarms.find((a) => a.type === 'night_door_open')?.count).toBe(2);
    expect(alarms.find((a) => a.type === 'button_pressed')?.resolution?.reason).toBe('cancelled_by_resident');
  }, 120_000);

  it('a power cut in a district becomes one outage, and the two still silent after it get their own alarms', async () => {
    const { scenario, got, alarms } = await run('outage', 600);
    expect(got.map(key).sort()).toEqual(scenario.expect.map(key).sort());
    const outage = alarms.find((a) => a.type === 'outage');
    expect(outage?.devices).toHaveLength(12);
    expect(outage?.state).toBe('resolved');
  }, 120_000);
});

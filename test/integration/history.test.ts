/**
 * The demo's history: days of alarms, doses and door unlocks played through the real hub on its
 * own clock leave statistics a leader can read afterwards, on a hub started again on the data.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureMunicipality } from '../../simulators/municipality.ts';
import { playHistory } from '../../simulators/history.ts';
import { HubApi } from '../../simulators/hub-api.ts';
import { ADMIN_PASSWORD, startTestHub, tempDir } from '../helpers/hub.ts';

const dataDir = tempDir('hub-history-');
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('the demo\'s history', () => {
  it('plays days of a municipality through the hub, and the statistics show them', async () => {
    let t = await startTestHub({ dataDir });
    const api = new HubApi(t.httpUrl);
    await api.login('admin', ADMIN_PASSWORD);
    const muni = await ensureMunicipality(api, { tenantId: '0301', residents: 30, seed: 7, stateFile: `${dataDir}/sim.json` });
    await t.close({ keepData: true });

    const played = await playHistory({ dataDir, adminPassword: ADMIN_PASSWORD, municipality: muni, days: 3, seed: 7, log: () => {} });
    expect(played.alarms).toBeGreaterThanOrEqual(9);

    t = await startTestHub({ dataDir });
    const today = new Date();
    const day = (offset: number) => { const d = new Date(today.getTime() + offset * 86_400_000); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; };
    const s = (await t.api('GET', `/api/stats/summary?tenantId=0301&from=${day(-3)}&to=${day(-1)}`)).body;
    // The planned alarms, among them those of doses the dispensers reported missed.
    expect(s.alarms.total).toBeGreaterThanOrEqual(played.alarms);
    expect(s.doses.missed).toBeGreaterThan(0);
    expect(s.alarms.byType.dose_not_taken).toBeGreaterThan(0);
    expect(s.response.acknowledged).toBeGreaterThan(0);
    expect(s.response.shareWithin180s).toBeGreaterThan(0.5);
    expect(Object.keys(s.resolutions).length).toBeGreaterThan(1);
    const dispensers = muni.devices.filter((d) => d.kind === 'medicine_dispenser').length;
    expect(s.doses.due).toBe(dispensers * 3 * 3);
    expect(s.doses.taken + s.doses.missed).toBe(s.doses.due);
    const weekly = (await t.api('GET', `/api/stats/series?tenantId=0301&from=${day(-3)}&to=${day(-1)}&metric=alarms&interval=day`)).body;
    expect(weekly.buckets.reduce((n: number, b: { values: { care: number } }) => n + b.values.care, 0)).toBe(s.alarms.byCategory.care);
    await t.close({ keepData: true });
  });
});

import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../hub/core/decode.ts';
import { DEVICE_KINDS, type DeviceKind, eventTypesOf } from '../../hub/core/events.ts';
import { insideZone } from '../../hub/core/geo.ts';
import { ACTIONS, makeBehaviour, type Mode } from '../../simulators/behaviours.ts';
import { nextLocalTime, SimClock } from '../../simulators/clock.ts';
import { makePopulation } from '../../simulators/population.ts';
import { Rng } from '../../simulators/rng.ts';
import { loadScenario, parseScenario, scenarioStart, timeline } from '../../simulators/scenario.ts';

const start = new Date('2026-03-23T00:00:00Z'); // a week that crosses the switch to summer time
const DAY = 86_400_000;

function simulate(kind: DeviceKind, seed: number, days: number, mode: Mode = 'lively', actions = true) {
  const rng = new Rng(seed);
  const b = makeBehaviour({
    kind, rng, mode, heartbeatSeconds: 300, idPrefix: `s${seed}`, start, home: { lat: 59.9139, lon: 10.7522 },
    safeZone: { type: 'circle', center: { lat: 59.9139, lon: 10.7522 }, radiusMetres: 300 }, wanderingRisk: true,
  });
  const events = [];
  const actor = new Rng(seed * 7919);
  for (let t = start.getTime(); t < start.getTime() + days * DAY; t += 5 * 60_000) {
    if (actions && actor.chance(0.01)) b.act(actor.pick(ACTIONS), new Date(t));
    const batch = b.tick(new Date(t), new Date(t + 5 * 60_000));
    for (const e of batch) expect(Date.parse(e.ts), `${e.type} inside its window`).toBeLessThan(t + 5 * 60_000);
    events.push(...batch);
  }
  return events;
}

describe('every payload every behaviour emits passes the hub\'s schemas', () => {
  for (const kind of DEVICE_KINDS) {
    it(`${kind}: 300 seeded runs of a day or a week`, () => {
      const seen = new Set<string>();
      let total = 0;
      for (let seed = 1; seed <= 300; seed++) {
        const events = simulate(kind, seed, seed % 25 === 0 ? 7 : 1);
        const ids = new Set<string>();
        for (const e of events) {
          const d = decodeEvent(kind, Buffer.from(JSON.stringify(e)));
          if (!d.ok) throw new Error(`seed ${seed}: ${d.reason} in ${JSON.stringify(e)}`);
          expect(ids.has(e.id), `unique id ${e.id}`).toBe(false);
          ids.add(e.id);
          seen.add(e.type);
        }
        total += events.length;
      }
      expect(total).toBeGreaterThan(1000);
      // A lively device uses (nearly) its whole vocabulary over these runs.
      const vocabulary = eventTypesOf(kind);
      expect([...seen].filter((t) => vocabulary.includes(t)).length).toBeGreaterThanOrEqual(vocabulary.length - 1);
    });
  }

  it('is the same for the same seed, and differs for another', () => {
    const a = simulate('door_lock', 42, 3);
    const b = simulate('door_lock', 42, 3);
    const c = simulate('door_lock', 43, 3);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('quiet devices only send heartbeats, at their interval (and a GPS its position at home)', () => {
    for (const kind of DEVICE_KINDS) {
      const events = simulate(kind, 5, 1, 'quiet', false);
      const types = new Set(events.map((e) => e.type));
      expect([...types].sort()).toEqual(kind === 'gps_tracker' ? ['heartbeat', 'position'] : ['heartbeat']);
      expect(events.filter((e) => e.type === 'heartbeat').length).toBeGreaterThanOrEqual(285);
      for (const e of events) if (e.type === 'position') expect(insideZone(e, { type: 'circle', center: { lat: 59.9139, lon: 10.7522 }, radiusMetres: 300 })).toBe(true);
    }
  });

  it('a silent device sends nothing until it comes back', () => {
    const b = makeBehaviour({ kind: 'safety_alarm', rng: new Rng(1), mode: 'quiet', heartbeatSeconds: 60, idPrefix: 'x', start });
    b.act('go_silent', start);
    expect(b.tick(start, new Date(start.getTime() + 3600_000))).toEqual([]);
    b.act('come_back', new Date(start.getTime() + 3600_000));
    expect(b.tick(new Date(start.getTime() + 3600_000), new Date(start.getTime() + 7200_000)).length).toBeGreaterThan(50);
  });

  it('a GPS wearer who leaves the safe zone is outside for a while, then comes home', () => {
    const zone = { type: 'circle' as const, center: { lat: 59.9139, lon: 10.7522 }, radiusMetres: 300 };
    const b = makeBehaviour({ kind: 'gps_tracker', rng: new Rng(3), mode: 'quiet', heartbeatSeconds: 600, idPrefix: 'g', start, home: zone.center, safeZone: zone });
    b.act('leave_safe_zone', start);
    const positions = b.tick(start, new Date(start.getTime() + 3 * 3600_000)).filter((e) => e.type === 'position');
    const outside = positions.map((e) => e.type === 'position' && !insideZone(e, zone));
    expect(outside.some(Boolean)).toBe(true);
    expect(outside.at(-1)).toBe(false);
    expect(outside.filter(Boolean).length).toBeGreaterThan(30);
  });
});

describe('population, clock and generator', () => {
  it('makes the same municipality for a seed, with every kind of device and no national id numbers', () => {
    const a = makePopulation('0301', 200, 7);
    expect(makePopulation('0301', 200, 7)).toEqual(a);
    const kinds = a.flatMap((r) => r.devices);
    expect(kinds.filter((k) => k === 'safety_alarm').length).toBeGreaterThan(180);
    for (const k of DEVICE_KINDS) expect(kinds).toContain(k);
    for (const r of a.filter((x) => x.devices.includes('gps_tracker'))) expect(r.safeZone).toBeDefined();
    expect(JSON.stringify(a)).not.toMatch(/\b\d{11}\b/);
    expect(a[0]!.address).toMatch(/\d{4} Oslo$/);
  });

  it('runs simulated time at its speed', () => {
    let real = 1000;
    const c = new SimClock(new Date('2026-01-01T00:00:00Z'), 144, () => real);
    real += 10 * 60_000;
    expect(c.now().toISOString()).toBe('2026-01-02T00:00:00.000Z'); // a day in ten minutes
    expect(c.realDelayUntil(new Date('2026-01-02T01:12:00Z'))).toBe(30_000);
  });

  it('finds the next local wall-clock time, also across daylight saving', () => {
    expect(nextLocalTime(new Date('2026-01-15T12:00:00Z'), '23:00').toISOString()).toBe('2026-01-15T22:00:00.000Z');
    expect(nextLocalTime(new Date('2026-07-15T12:00:00Z'), '23:00').toISOString()).toBe('2026-07-15T21:00:00.000Z');
  });

  it('draws the same numbers for the same seed', () => {
    const a = new Rng(9);
    const b = new Rng(9);
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
  });
});

describe('scenarios', () => {
  it('ship valid, each step on a resident who has the device it needs', () => {
    for (const name of readdirSync(new URL('../../simulators/scenarios/', import.meta.url)).map((f) => f.replace(/\.json$/, ''))) {
      const s = loadScenario(name);
      expect(s.steps.length, name).toBeGreaterThan(0);
      expect(s.expect.length, name).toBeGreaterThan(0);
    }
  });
  it('refuse a bad scenario with a clear reason', () => {
    const base = loadScenario('night');
    expect(() => parseScenario({ ...base, start: '25:00' })).toThrow(/\/start/);
    expect(() => parseScenario({ ...base, steps: [{ at: '00:10', resident: 0, do: 'teleport' }] })).toThrow(/invalid scenario/);
    expect(() => parseScenario({ ...base, steps: [{ at: '00:10', resident: 0, do: 'leave_safe_zone' }] })).toThrow(/resident 0 has no gps_tracker/);
    expect(() => parseScenario({ ...base, steps: [{ at: '00:10', resident: 999, do: 'fall' }] })).toThrow(/no resident 999/);
  });
  it('puts steps after the start in time order, across midnight', () => {
    const s = loadScenario('night');
    const start = scenarioStart(s, new Date('2026-11-20T12:00:00Z'));
    expect(start.toISOString()).toBe('2026-11-20T22:00:00.000Z');
    const steps = timeline(s, start);
    expect(steps[0]!.at.toISOString()).toBe('2026-11-20T22:20:00.000Z');
    expect(steps.at(-1)!.at.toISOString()).toBe('2026-11-21T05:00:00.000Z');
  });
});

/**
 * Scenarios: what happens when, as data validated by a schema. "At 00:30 resident 1 opens the
 * front door, at 00:34 resident 2 leaves the safe zone." Times are local (Europe/Oslo) from the
 * scenario's start; a time before the start is on the next day. With a seed the run is the same
 * every time. `expect` lists the alarms the scenario predicts, so a run can be checked.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEVICE_KINDS, type DeviceKind } from '../hub/core/events.ts';
import { literals } from '../hub/core/schema.ts';
import { ACTIONS, type Action } from './behaviours.ts';
import { nextLocalTime } from './clock.ts';
import { makePopulation } from './population.ts';

const HHMM = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });
export const RUNNER_ACTIONS = [...ACTIONS, 'flap'] as const;

export const ScenarioSchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  description: Type.String(),
  seed: Type.Integer(),
  /** Local time the scenario begins. */
  start: HHMM,
  durationMinutes: Type.Integer({ minimum: 1, maximum: 7 * 24 * 60 }),
  /** Residents in the synthetic municipality the scenario needs at least. */
  residents: Type.Integer({ minimum: 1, maximum: 100_000 }),
  background: literals(['quiet', 'lively'] as const),
  steps: Type.Array(Type.Object({
    at: HHMM,
    resident: Type.Integer({ minimum: 0 }),
    device: Type.Optional(literals(DEVICE_KINDS)),
    do: literals(RUNNER_ACTIONS),
    note: Type.Optional(Type.String()),
  }, { additionalProperties: false })),
  expect: Type.Array(Type.Object({
    /** The resident whose device raises it; left out for a municipality-wide alarm (an outage). */
    resident: Type.Optional(Type.Integer({ minimum: 0 })),
    alarmType: Type.String(),
    state: Type.Optional(literals(['open', 'acknowledged', 'resolved'] as const)),
  }, { additionalProperties: false })),
}, { additionalProperties: false });
export type Scenario = Static<typeof ScenarioSchema>;

/** Which device kind does an action, unless the step names one. */
const DEFAULT_DEVICE: Record<Action | 'flap', DeviceKind> = {
  press_button: 'safety_alarm', fall: 'safety_alarm', cancel: 'safety_alarm', mains_lost: 'safety_alarm', mains_restored: 'safety_alarm',
  pendant_out_of_range: 'safety_alarm', open_door: 'door_lock', force_door: 'door_lock', leave_door_open: 'door_lock',
  leave_safe_zone: 'gps_tracker', return_home: 'gps_tracker', sos: 'gps_tracker',
  skip_dose: 'medicine_dispenser', dose_due: 'medicine_dispenser', take_dose: 'medicine_dispenser', jam: 'medicine_dispenser',
  battery_low: 'safety_alarm', go_silent: 'safety_alarm', come_back: 'safety_alarm', flap: 'safety_alarm',
};

export type TimedStep = { at: Date; resident: number; device: DeviceKind; do: Action | 'flap'; note?: string };

export class ScenarioError extends Error {}

/** Validates a scenario: the schema, and that every step's resident has the device it needs. */
export function parseScenario(raw: unknown, residents?: number): Scenario {
  if (!Value.Check(ScenarioSchema, raw)) {
    const problems = [...Value.Errors(ScenarioSchema, raw)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
    throw new ScenarioError(`invalid scenario: ${problems.join('; ')}`);
  }
  const s = raw as Scenario;
  const population = makePopulation('0301', Math.max(residents ?? s.residents, s.residents), s.seed);
  for (const [i, step] of s.steps.entries()) {
    const r = population[step.resident];
    const kind = step.device ?? DEFAULT_DEVICE[step.do];
    if (!r) throw new ScenarioError(`step ${i}: there is no resident ${step.resident} among ${population.length}`);
    if (!r.devices.includes(kind)) throw new ScenarioError(`step ${i}: resident ${step.resident} has no ${kind} (has ${r.devices.join(', ')})`);
  }
  return s;
}

export function loadScenario(nameOrPath: string, residents?: number): Scenario {
  const path = /[/\\.]/.test(nameOrPath) ? nameOrPath : fileURLToPath(new URL(`./scenarios/${nameOrPath}.json`, import.meta.url));
  return parseScenario(JSON.parse(readFileSync(path, 'utf8')), residents);
}

/** The scenario's start as an instant: the next `start` local time at or after `from`. */
export function scenarioStart(s: Scenario, from: Date): Date {
  return nextLocalTime(from, s.start);
}

/** Steps with their instants, in order. */
export function timeline(s: Scenario, start: Date): TimedStep[] {
  return s.steps
    .map((step) => ({ at: nextLocalTime(start, step.at), resident: step.resident, device: step.device ?? DEFAULT_DEVICE[step.do], do: step.do, ...(step.note ? { note: step.note } : {}) }))
    .sort((a, b) => a.at.getTime() - b.at.getTime());
}

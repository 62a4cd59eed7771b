/**
 * Creates a synthetic municipality through the hub's API, or finds the one created before.
 * Device passwords are shown only once, so what was created is kept in a state file; a re-run
 * reuses every resident and device that still exists on the hub and creates only what is missing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DeviceKind } from '../hub/core/events.ts';
import type { HubApi } from './hub-api.ts';
import { makePopulation, MUNICIPALITIES, type SimResident } from './population.ts';

export type SimDeviceRecord = { id: string; password: string; kind: DeviceKind; residentIndex: number; heartbeatIntervalSeconds: number };
export type Municipality = { tenantId: string; residents: (SimResident & { id: string })[]; devices: SimDeviceRecord[]; created: { residents: number; devices: number } };

type State = { hub: string; tenantId: string; seed: number; residents: Record<string, string>; devices: SimDeviceRecord[] };

export async function ensureMunicipality(api: HubApi, opts: { tenantId: string; residents: number; seed: number; stateFile: string }): Promise<Municipality> {
  const { tenantId } = opts;
  const state: State = existsSync(opts.stateFile)
    ? JSON.parse(readFileSync(opts.stateFile, 'utf8')) as State
    : { hub: api.url, tenantId, seed: opts.seed, residents: {}, devices: [] };
  if (state.tenantId !== tenantId || state.seed !== opts.seed) throw new Error(`${opts.stateFile} belongs to municipality ${state.tenantId} with seed ${state.seed}; use another --state file`);
  const save = () => {
    mkdirSync(dirname(opts.stateFile), { recursive: true });
    writeFileSync(opts.stateFile, JSON.stringify(state, null, 2));
  };

  await api.ensureTenant(tenantId, MUNICIPALITIES[tenantId]?.name ?? `Kommune ${tenantId}`);
  const existingResidents = new Set((await api.residents(tenantId)).map((r) => r.id));
  const existingDevices = new Set((await api.devices(tenantId)).map((d) => d.id));
  state.devices = state.devices.filter((d) => existingDevices.has(d.id));

  const population = makePopulation(tenantId, opts.residents, opts.seed);
  const residents: Municipality['residents'] = [];
  const created = { residents: 0, devices: 0 };
  for (const r of population) {
    let id = state.residents[r.index];
    if (!id || !existingResidents.has(id)) {
      const { index: _i, home: _h, devices: _d, ...body } = r;
      id = (await api.createResident(body)).id;
      state.residents[r.index] = id;
      created.residents++;
      save();
    }
    residents.push({ ...r, id });
    for (const kind of r.devices) {
      if (state.devices.some((d) => d.residentIndex === r.index && d.kind === kind)) continue;
      const d = await api.createDevice({ tenantId, kind, serial: `SIM-${tenantId}-${r.index}-${kind}-${opts.seed}`, residentId: id });
      state.devices.push({ id: d.mqtt.username, password: d.mqtt.password, kind, residentIndex: r.index, heartbeatIntervalSeconds: d.heartbeatIntervalSeconds });
      created.devices++;
      save();
    }
  }
  save();
  const wanted = new Set(population.flatMap((r) => r.devices.map((k) => `${r.index}|${k}`)));
  return { tenantId, residents, devices: state.devices.filter((d) => wanted.has(`${d.residentIndex}|${d.kind}`)), created };
}

/**
 * A synthetic municipality: invented residents with addresses, next of kin and action plans,
 * and their devices in the proportions seen in Norway (KPR/IPLOS 2020: nearly every user has a
 * safety alarm; a few percent have GPS, digital door supervision or medicine support).
 * Deterministic for a seed. Pure.
 */
import type { DeviceKind } from '../hub/core/events.ts';
import type { SafeZone } from '../hub/core/geo.ts';
import type { NewResident } from '../hub/core/model.ts';
import type { RiskFlag } from '../hub/core/rules.ts';
import { Rng } from './rng.ts';

/** Centres of some municipalities, by kommunenummer; others get Oslo's with a note in the name. */
export const MUNICIPALITIES: Record<string, { name: string; lat: number; lon: number; postal: [number, number] }> = {
  '0301': { name: 'Oslo', lat: 59.9139, lon: 10.7522, postal: [150, 1295] },
  '4601': { name: 'Bergen', lat: 60.3913, lon: 5.3221, postal: [5003, 5268] },
  '5001': { name: 'Trondheim', lat: 63.4305, lon: 10.3951, postal: [7010, 7099] },
  '1103': { name: 'Stavanger', lat: 58.97, lon: 5.7331, postal: [4005, 4099] },
  '3024': { name: 'Bærum', lat: 59.8949, lon: 10.5464, postal: [1300, 1369] },
  '5401': { name: 'Tromsø', lat: 69.6492, lon: 18.9553, postal: [9006, 9038] },
  '4204': { name: 'Kristiansand', lat: 58.1467, lon: 7.9956, postal: [4608, 4639] },
  '3403': { name: 'Hamar', lat: 60.7945, lon: 11.068, postal: [2301, 2326] },
};

const FIRST = ['Kari', 'Ola', 'Ingrid', 'Per', 'Astrid', 'Olav', 'Solveig', 'Arne', 'Bjørg', 'Knut', 'Ragnhild', 'Kjell', 'Liv', 'Harald', 'Gunnhild', 'Odd', 'Randi', 'Svein', 'Berit', 'Jon', 'Aud', 'Leif', 'Marit', 'Egil', 'Turid', 'Rolf', 'Inger', 'Magne', 'Sigrid', 'Terje'];
const LAST = ['Hansen', 'Johansen', 'Olsen', 'Larsen', 'Andersen', 'Pedersen', 'Nilsen', 'Kristiansen', 'Jensen', 'Karlsen', 'Johnsen', 'Pettersen', 'Eriksen', 'Berg', 'Haugen', 'Hagen', 'Johannessen', 'Andreassen', 'Jacobsen', 'Dahl', 'Lie', 'Moen', 'Solberg', 'Bakken', 'Strand'];
const STREETS = ['Bjørkeveien', 'Granveien', 'Kirkegata', 'Skolegata', 'Furuveien', 'Solbakken', 'Lindeveien', 'Storgata', 'Parkveien', 'Eikeveien', 'Heggeveien', 'Nygata', 'Løkkeveien', 'Bakkegata', 'Fjellveien', 'Sjøgata', 'Rognveien', 'Engveien'];
const RELATIONS = ['datter', 'sønn', 'ektefelle', 'nabo', 'barnebarn', 'niese'];
const PLANS = [
  'Ring bruker først. Ved fall eller ingen svar: send hjemmetjenesten.',
  'Bruker hører dårlig; ring pårørende om ingen svar etter to forsøk. Send hjemmetjenesten.',
  'Bruker har hjertesykdom: ved brystsmerter ring 113, deretter pårørende.',
  'Ved nattlig døråpning: send hjemmetjenesten straks og ring datter.',
  'Bruker er ofte forvirret om kvelden; snakk rolig, send hjemmetjenesten ved tvil.',
];
const KEYS = ['Nøkkelboks ved inngangsdøren', 'Digital lås; hjemmetjenesten har tilgang', 'Nøkkel hos nabo i 2. etasje', 'Nøkkelboks i garasjen', 'Dør låses opp av responssenteret'];

export type SimResident = NewResident & {
  /** Index in the municipality, stable for a seed: scenarios refer to residents by it. */
  index: number;
  home: { lat: number; lon: number };
  devices: DeviceKind[];
};

const phone = (rng: Rng) => `+47 ${rng.int(900, 999)} ${String(rng.int(0, 99)).padStart(2, '0')} ${String(rng.int(0, 999)).padStart(3, '0')}`;

/** Metres to degrees near a latitude. */
function offset(lat: number, lon: number, north: number, east: number): { lat: number; lon: number } {
  return { lat: lat + north / 111_320, lon: lon + east / (111_320 * Math.cos((lat * Math.PI) / 180)) };
}

export function makePopulation(tenantId: string, count: number, seed: number): SimResident[] {
  const centre = MUNICIPALITIES[tenantId] ?? MUNICIPALITIES['0301']!;
  const residents: SimResident[] = [];
  for (let i = 0; i < count; i++) {
    const rng = new Rng(seed).fork(i);
    const first = rng.pick(FIRST);
    const last = rng.pick(LAST);
    const home = offset(centre.lat, centre.lon, rng.normal(0, 1500), rng.normal(0, 1500));
    const postal = String(rng.int(centre.postal[0], centre.postal[1])).padStart(4, '0');
    // Make sure a small municipality still shows every kind of device.
    const devices: DeviceKind[] = [];
    if (i % 50 !== 7 || count < 20) devices.push('safety_alarm');
    if (rng.chance(0.1) || i === 1) devices.push('door_lock');
    if (rng.chance(0.05) || i === 2) devices.push('gps_tracker');
    if (rng.chance(0.08) || i === 3) devices.push('medicine_dispenser');
    if (devices.length === 0) devices.push('safety_alarm');
    const riskFlags: RiskFlag[] = [];
    // Resident 1 (door lock) and 2 (GPS) are the night scenario's wanderers.
    if (devices.includes('gps_tracker') || i === 1 || (devices.includes('door_lock') && rng.chance(0.5))) riskFlags.push('wandering_risk', 'cognitive_impairment');
    if (rng.chance(0.3)) riskFlags.push('fall_risk');
    if (rng.chance(0.7)) riskFlags.push('lives_alone');
    const safeZone: SafeZone | undefined = devices.includes('gps_tracker') ? { type: 'circle', center: home, radiusMetres: 300 } : undefined;
    // One or two next of kin; at most one of them a spouse.
    const relations = [rng.pick(RELATIONS), rng.pick(RELATIONS.filter((r) => r !== 'ektefelle'))];
    const kin = relations.slice(0, rng.int(1, 2)).map((relation) => ({ name: `${rng.pick(FIRST)} ${rng.chance(0.6) ? last : rng.pick(LAST)}`, relation, phone: phone(rng) }));
    residents.push({
      index: i,
      tenantId,
      name: `${first} ${last}`,
      address: `${rng.pick(STREETS)} ${rng.int(1, 120)}${rng.chance(0.2) ? rng.pick(['A', 'B']) : ''}, ${postal} ${centre.name}`,
      phone: phone(rng),
      keyInfo: rng.pick(KEYS),
      nextOfKin: kin,
      actionPlan: rng.pick(PLANS),
      riskFlags: [...new Set(riskFlags)],
      ...(safeZone ? { safeZone } : {}),
      home,
      devices,
    });
  }
  return residents;
}

export { offset as offsetMetres };

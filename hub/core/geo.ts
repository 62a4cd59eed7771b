/**
 * Safe zones and distances. Pure. A safe zone is a circle (centre and radius) or a polygon of
 * at least three points; zones are small (a neighbourhood), so a local flat projection is
 * accurate enough for "inside or not".
 */
import { type Static, Type } from '@sinclair/typebox';

const Lat = Type.Number({ minimum: -90, maximum: 90 });
const Lon = Type.Number({ minimum: -180, maximum: 180 });
export const LatLonSchema = Type.Object({ lat: Lat, lon: Lon }, { additionalProperties: false });
export type LatLon = Static<typeof LatLonSchema>;

export const SafeZoneSchema = Type.Union([
  Type.Object({ type: Type.Literal('circle'), center: LatLonSchema, radiusMetres: Type.Number({ minimum: 10, maximum: 100_000 }) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('polygon'), points: Type.Array(LatLonSchema, { minItems: 3, maxItems: 200 }) }, { additionalProperties: false }),
]);
export type SafeZone = Static<typeof SafeZoneSchema>;

const EARTH_RADIUS_M = 6_371_000;
const rad = (d: number) => (d * Math.PI) / 180;

/** Great-circle distance (haversine). */
export function distanceMetres(a: LatLon, b: LatLon): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Ray casting on an equirectangular projection around the point. */
function insidePolygon(p: LatLon, points: readonly LatLon[]): boolean {
  const k = Math.cos(rad(p.lat));
  const x = p.lon * k;
  const y = p.lat;
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const pi = points[i] as LatLon;
    const pj = points[j] as LatLon;
    const xi = pi.lon * k, yi = pi.lat, xj = pj.lon * k, yj = pj.lat;
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function insideZone(p: LatLon, zone: SafeZone): boolean {
  return zone.type === 'circle' ? distanceMetres(p, zone.center) <= zone.radiusMetres : insidePolygon(p, zone.points);
}

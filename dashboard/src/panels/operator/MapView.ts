/**
 * A Leaflet map of a GPS alarm: the last position and the resident's safe zone. The tile server
 * is the hub's setting; when tiles cannot load (no network at night, a blocked server) the
 * marker and zone still show on a plain background, with a note saying so.
 */
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import type { SafeZone } from '../../../../hub/core/geo.ts';
import { type Lang, translate } from '../../lib/i18n.ts';

export type MapViewProps = {
  lang: Lang;
  position: { lat: number; lon: number; accuracy?: number };
  zone: SafeZone | null;
  tileUrl: string;
  attribution: string;
};

export function MapView(p: MapViewProps) {
  const el = useRef<HTMLDivElement>(null);
  const [tilesFailed, setTilesFailed] = useState(false);
  useEffect(() => {
    if (!el.current) return;
    const map = L.map(el.current, { attributionControl: true });
    const tiles = L.tileLayer(p.tileUrl, { attribution: p.attribution, maxZoom: 19 });
    tiles.on('tileerror', () => setTilesFailed(true));
    tiles.addTo(map);
    const here = L.latLng(p.position.lat, p.position.lon);
    const layers: L.Layer[] = [];
    if (p.zone?.type === 'circle') layers.push(L.circle([p.zone.center.lat, p.zone.center.lon], { radius: p.zone.radiusMetres, color: '#2f9e44', weight: 2, fillOpacity: 0.08 }));
    if (p.zone?.type === 'polygon') layers.push(L.polygon(p.zone.points.map((x) => [x.lat, x.lon] as [number, number]), { color: '#2f9e44', weight: 2, fillOpacity: 0.08 }));
    if (p.position.accuracy) layers.push(L.circle(here, { radius: p.position.accuracy, color: '#e03131', weight: 1, fillOpacity: 0.1 }));
    const marker = L.circleMarker(here, { radius: 9, color: '#fff', weight: 3, fillColor: '#e03131', fillOpacity: 1, className: 'position-marker' });
    layers.push(marker);
    for (const l of layers) l.addTo(map);
    // Bounds by hand: a circle knows its own only once the map has laid it out.
    const bounds = L.latLngBounds([here, here]).extend(here.toBounds((p.position.accuracy ?? 50) * 2));
    if (p.zone?.type === 'circle') bounds.extend(L.latLng(p.zone.center.lat, p.zone.center.lon).toBounds(p.zone.radiusMetres * 2));
    if (p.zone?.type === 'polygon') for (const x of p.zone.points) bounds.extend([x.lat, x.lon]);
    map.fitBounds(bounds.pad(0.2), { maxZoom: 17 });
    return () => { map.remove(); };
  }, [p.position.lat, p.position.lon, p.position.accuracy, JSON.stringify(p.zone), p.tileUrl]);
  return html`
    <div>
      <div ref=${el} class="map" data-testid="map" role="region" aria-label=${`${translate(p.lang, 'lastPosition')}: ${p.position.lat.toFixed(5)}, ${p.position.lon.toFixed(5)}`}></div>
      ${tilesFailed ? html`<p class="muted" data-testid="map-no-tiles">${translate(p.lang, 'mapNoTiles')}</p>` : null}
    </div>`;
}

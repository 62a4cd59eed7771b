/**
 * The fleet at a glance: a summary per municipality, and every device filtered by municipality,
 * kind, state and serial, most urgent first, a page at a time.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { DEVICE_KINDS } from '../../../../hub/core/events.ts';
import { DEVICE_STATES } from '../../../../hub/core/fleet.ts';
import type { Api, Device, DeviceState, FleetQuery, FleetSummary, Tenant } from '../../data/api.ts';
import { formatTime } from '../../lib/format.ts';
import { type Key, type Lang, translate } from '../../lib/i18n.ts';

const PAGE = 50;

/** States that need a technician, shown in warning colours. */
const BAD: readonly DeviceState[] = ['offline', 'low_battery', 'weak_signal', 'never_tested', 'test_overdue', 'rejected', 'clock_skew'];

export function StateChips(p: { lang: Lang; states: readonly DeviceState[] }) {
  return html`${p.states.map((s) => html`<span class=${`chip state-${s} ${BAD.includes(s) ? 'bad' : ''}`} data-state=${s}>${translate(p.lang, `state_${s}` as Key)}</span>`)}`;
}

export function Fleet(p: { lang: Lang; api: Api; tenants: Tenant[]; query: FleetQuery; onQuery(q: FleetQuery): void }) {
  const t = (k: Key, params?: Record<string, string | number>) => translate(p.lang, k, params);
  const [summary, setSummary] = useState<FleetSummary[]>([]);
  const [page, setPage] = useState<{ devices: Device[]; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const q = p.query;
  useEffect(() => { p.api.fleetSummary().then(setSummary, () => setSummary([])); }, []);
  useEffect(() => {
    p.api.fleet(q).then((r) => { setPage(r); setError(null); }, (e: unknown) => setError(String(e)));
  }, [q.tenantId, q.kind, q.state, q.q, q.offset]);
  const set = (patch: Partial<FleetQuery>) => p.onQuery({ ...q, offset: 0, ...patch });
  const tenantName = (id: string) => p.tenants.find((x) => x.id === id)?.name ?? id;
  const select = (label: Key, value: string, all: Key, options: { v: string; label: string }[], onChange: (v: string) => void, testid: string) => html`
    <label>${t(label)}
      <select data-testid=${testid} value=${value} onChange=${(e: Event) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="">${t(all)}</option>
        ${options.map((o) => html`<option value=${o.v}>${o.label}</option>`)}
      </select>
    </label>`;
  const shown = summary.filter((s) => !q.tenantId || s.tenantId === q.tenantId);
  return html`
    <div data-testid="fleet">
      <section class="summaries" aria-label=${t('summary')}>
        ${shown.map((s) => html`
          <div class="card summary" data-testid="fleet-summary" data-tenant=${s.tenantId}>
            <h2>${tenantName(s.tenantId)} · ${t('devicesN', { n: s.total })}</h2>
            <ul class="kinds">${DEVICE_KINDS.map((k) => html`<li>${translate(p.lang, `kind_${k}` as Key)}: <strong>${s.byKind[k] ?? 0}</strong></li>`)}</ul>
            <ul class="states">
              ${DEVICE_STATES.filter((st) => (s.byState[st] ?? 0) > 0).map((st) => html`
                <li><button type="button" class=${`chip state-${st} ${BAD.includes(st) ? 'bad' : ''}`} onClick=${() => set({ tenantId: s.tenantId, state: st })}>
                  ${translate(p.lang, `state_${st}` as Key)}: ${s.byState[st]}</button></li>`)}
            </ul>
            <details><summary>${t('firmwareInUse')}</summary>
              <table class="plain"><tbody>${s.firmware.map((f) => html`<tr><td>${translate(p.lang, `kind_${f.kind}` as Key)}</td><td>${f.firmware}</td><td>${f.devices}</td></tr>`)}</tbody></table>
            </details>
          </div>`)}
      </section>
      <form class="toolbar filters" role="search" onSubmit=${(e: Event) => e.preventDefault()}>
        ${p.tenants.length > 1 ? select('municipality', q.tenantId ?? '', 'allMunicipalities', p.tenants.map((x) => ({ v: x.id, label: x.name })), (v) => set({ tenantId: v || undefined }), 'filter-tenant') : null}
        ${select('kind', q.kind ?? '', 'allKinds', DEVICE_KINDS.map((k) => ({ v: k, label: translate(p.lang, `kind_${k}` as Key) })), (v) => set({ kind: v || undefined }), 'filter-kind')}
        ${select('state', q.state ?? '', 'allStates', DEVICE_STATES.map((s) => ({ v: s, label: translate(p.lang, `state_${s}` as Key) })), (v) => set({ state: v as DeviceState | '' }), 'filter-state')}
        <label>${t('searchSerial')}
          <input type="search" data-testid="filter-serial" value=${q.q ?? ''} onInput=${(e: Event) => set({ q: (e.target as HTMLInputElement).value.trim() || undefined })} />
        </label>
      </form>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      ${page && page.devices.length === 0 ? html`<p class="muted">${t('noDevices')}</p>` : null}
      ${page && page.devices.length > 0 ? html`
        <table class="queue fleet">
          <caption class="sr-only">${t('viewFleet')}</caption>
          <thead><tr>
            <th scope="col">${t('serial')}</th><th scope="col">${t('kind')}</th><th scope="col">${t('state')}</th>
            <th scope="col">${t('lastContact')}</th><th scope="col">${t('battery')}</th><th scope="col">${t('signal')}</th>
            <th scope="col">${t('firmware')}</th><th scope="col">${t('rejectedCol')}</th>
          </tr></thead>
          <tbody>
            ${page.devices.map((d) => html`
              <tr data-testid="fleet-row" data-device-id=${d.id}>
                <td><a href=${`#/devices/${d.id}`}>${d.serial}</a><div class="muted">${tenantName(d.tenantId)}</div></td>
                <td>${translate(p.lang, `kind_${d.kind}` as Key)}</td>
                <td><${StateChips} lang=${p.lang} states=${d.states} /></td>
                <td>${d.lastSeenAt ? formatTime(d.lastSeenAt, p.lang) : '–'}</td>
                <td>${d.battery ?? '–'}${d.battery !== null ? ' %' : ''}</td>
                <td>${d.signal ?? '–'}${d.signal !== null ? ' dBm' : ''}</td>
                <td>${d.firmware ?? '–'}</td>
                <td>${d.rejectedCount}${d.lastRejection ? html`<div class="muted reason">${d.lastRejection.reason}</div>` : null}</td>
              </tr>`)}
          </tbody>
        </table>
        <nav class="toolbar" aria-label=${t('pageOf', { from: q.offset + 1, to: q.offset + page.devices.length, total: page.total })}>
          <button type="button" disabled=${q.offset === 0} onClick=${() => p.onQuery({ ...q, offset: Math.max(0, q.offset - PAGE) })}>${t('prev')}</button>
          <span data-testid="fleet-page">${t('pageOf', { from: q.offset + 1, to: q.offset + page.devices.length, total: page.total })}</span>
          <button type="button" disabled=${q.offset + PAGE >= page.total} onClick=${() => p.onQuery({ ...q, offset: q.offset + PAGE })}>${t('next')}</button>
        </nav>` : null}
    </div>`;
}

export const FIRST_PAGE: FleetQuery = { limit: PAGE, offset: 0 };

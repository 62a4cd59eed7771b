/**
 * One alarm: who and where (the resident's current address, door and key, next of kin, action
 * plan), the device and its health, the events that raised it, a map for positions, its
 * history, and the form to resolve it.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { RESOLUTION_REASONS, TEST_OK } from '../../../../hub/core/alarms.ts';
import { type Alarm, type AlarmDetail as Detail, type Api, ApiError, type DashboardConfig, type Device, type Resident } from '../../data/api.ts';
import { formatAge, formatTime } from '../../lib/format.ts';
import { positionOf } from '../../lib/position.ts';
import { saidText } from '../../lib/said.ts';
import { alarmTypeLabel, eventTypeLabel, type Key, type Lang, translate } from '../../lib/i18n.ts';
import { MapView } from './MapView.ts';

export type AlarmDetailProps = {
  lang: Lang;
  api: Api;
  alarm: Alarm;
  me: string;
  canEditResident: boolean;
  config: DashboardConfig;
  tenantName(id: string): string;
  onClaim(id: string): void;
  onClose(): void;
  onResidentSaved(r: Resident): void;
};

function skewText(seconds: number | null, lang: Lang): string {
  if (seconds === null) return '–';
  return translate(lang, seconds >= 0 ? 'skewAhead' : 'skewBehind', { d: formatAge(Math.abs(seconds) * 1000, lang) });
}

export function AlarmDetail(p: AlarmDetailProps) {
  const t = (k: Key, params?: Record<string, string | number>) => translate(p.lang, k, params);
  const [detail, setDetail] = useState<Detail | null>(null);
  const [resident, setResident] = useState<Resident | null>(null);
  const [device, setDevice] = useState<Device | null>(null);
  const [reason, setReason] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);

  const a = p.alarm;
  useEffect(() => {
    p.api.alarm(a.id).then(setDetail, () => setDetail(null));
  }, [a.id, a.updatedAt]);
  useEffect(() => {
    setResident(null);
    setDevice(null);
    // Reading a resident is written to the audit log, with this alarm as the reason.
    if (a.residentId) p.api.resident(a.residentId, `alarm ${a.id}`).then(setResident, () => setResident(null));
    if (a.deviceId) p.api.device(a.deviceId, `alarm ${a.id}`).then(setDevice, () => setDevice(null));
  }, [a.id]);

  const claimed = a.state === 'acknowledged';
  const heldByOther = claimed && a.acknowledgedBy?.name !== p.me;
  // Shown right after the resident: where they are matters before what the device says.
  const position = positionOf(detail, device);

  async function submit(e: Event) {
    e.preventDefault();
    if (!reason) return setError(t('chooseReason'));
    if (!note.trim()) return setError(t('noteRequired'));
    try {
      await p.api.resolve(a.id, reason, note.trim());
      p.onClose();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }

  return html`
    <section class="detail" data-testid="alarm-detail" aria-labelledby="detail-title">
      <header class="detail-head">
        <h2 id="detail-title"><span class=${`prio p${a.priority}`}>P${a.priority}</span> ${alarmTypeLabel(p.lang, a.type)}${a.test ? html` <span class="chip test">${t('testChip')}</span>` : null}</h2>
        <button class="ghost" onClick=${p.onClose} aria-label=${t('close')}>✕</button>
      </header>
      <p class="muted">
        ${formatTime(a.createdAt, p.lang)} · ${p.tenantName(a.tenantId)} · ${translate(p.lang, `state_${a.state}` as Key)}
        ${claimed ? ` · ${t('claimedBy', { name: a.acknowledgedBy?.name ?? '' })}` : ''}
        ${a.count > 1 ? ` · ${t('repeats', { n: a.count })}` : ''}
      </p>
      ${a.detail ? html`<p data-testid="alarm-said">${saidText(p.lang, a.said, a.detail)}</p>` : null}
      ${a.state === 'open' ? html`<button class="claim big" data-testid="detail-claim" onClick=${() => p.onClaim(a.id)}>${t('claim')}</button>` : null}

      ${resident ? html`
        <div class="card" data-testid="resident">
          <h3>${t('resident')}</h3>
          <p class="resident-name" data-testid="resident-name">${resident.name}</p>
          <p class="address" data-testid="resident-address"><span class="label">${t('address')}:</span> ${resident.address}</p>
          ${resident.phone ? html`<p><span class="label">${t('phone')}:</span> <a href=${`tel:${resident.phone}`}>${resident.phone}</a></p>` : null}
          ${resident.keyInfo ? html`<p data-testid="resident-keyinfo"><span class="label">${t('keyInfo')}:</span> ${resident.keyInfo}</p>` : null}
          ${resident.nextOfKin?.length ? html`
            <div><span class="label">${t('nextOfKin')}:</span>
              <ul>${resident.nextOfKin.map((k) => html`<li>${k.name}${k.relation ? ` (${k.relation})` : ''}: <a href=${`tel:${k.phone}`}>${k.phone}</a></li>`)}</ul>
            </div>` : null}
          ${resident.actionPlan ? html`<div data-testid="resident-actionplan"><span class="label">${t('actionPlan')}:</span><p class="pre">${resident.actionPlan}</p></div>` : null}
          ${resident.notes ? html`<div><span class="label">${t('notes')}:</span><p class="pre">${resident.notes}</p></div>` : null}
          ${p.canEditResident && !editing ? html`<button class="ghost" onClick=${() => setEditing(true)}>${t('edit')}</button>` : null}
          ${editing ? html`<${ResidentEditor} lang=${p.lang} api=${p.api} resident=${resident}
              onDone=${(r: Resident | null) => { setEditing(false); if (r) { setResident(r); p.onResidentSaved(r); } }} />` : null}
        </div>` : null}

      ${position ? html`
        <div class="card">
          <h3>${t('map')}</h3>
          <${MapView} lang=${p.lang} position=${position} zone=${resident?.safeZone ?? null} tileUrl=${p.config.mapTileUrl} attribution=${p.config.mapAttribution} />
        </div>` : null}

      ${device ? html`
        <div class="card" data-testid="device">
          <h3>${t('device')}</h3>
          <p>${translate(p.lang, `kind_${device.kind}` as Key)} · ${device.serial} · ${device.online ? t('online') : t('offline')}</p>
          <p><span class="label">${t('battery')}:</span> ${device.battery ?? '–'} % · <span class="label">${t('signal')}:</span> ${device.signal ?? '–'} dBm</p>
          <p><span class="label">${t('lastContact')}:</span> ${device.lastSeenAt ? formatTime(device.lastSeenAt, p.lang) : '–'}</p>
          ${device.position ? html`<p><span class="label">${t('positionReceived')}:</span> ${formatTime(device.position.at, p.lang)}</p>` : null}
          ${device.flags.length > 0 ? html`
            <div data-testid="device-flags">
              <p class="label">${t('deviceAttention')}:</p>
              <ul>${device.flags.map((f) => html`<li data-flag=${f}>${translate(p.lang, `flag_${f}` as Key, { skew: skewText(device.clockSkewSeconds, p.lang) })}</li>`)}</ul>
            </div>` : null}
        </div>` : null}

      ${detail ? html`
        <div class="card">
          <h3>${t('events')}</h3>
          <ul class="events" data-testid="events">
            ${detail.events.map((e) => html`<li>${formatTime(e.receivedAt, p.lang)} · ${eventTypeLabel(p.lang, e.event.type)}</li>`)}
          </ul>
          <h3>${t('history')}</h3>
          <ul class="events">
            ${detail.transitions.map((x) => html`<li>${formatTime(x.at, p.lang)} · ${translate(p.lang, `action_${x.action}` as Key)} · ${x.actor.type === 'system' ? t('actorSystem') : x.actor.name}${x.detail ? ` · ${saidText(p.lang, x.said, x.detail)}` : ''}</li>`)}
          </ul>
        </div>` : null}

      ${a.state !== 'resolved' && !heldByOther ? html`
        <form class="card resolve" data-testid="resolve-form" onSubmit=${submit}>
          <h3>${t('resolve')}</h3>
          <label>${t('reason')}
            <select data-testid="resolve-reason" value=${reason} onChange=${(e: Event) => setReason((e.target as HTMLSelectElement).value)} required>
              <option value="">${t('chooseReason')}</option>
              ${(a.test ? [TEST_OK, ...RESOLUTION_REASONS] : RESOLUTION_REASONS).map((r) => html`<option value=${r}>${translate(p.lang, `reason_${r}` as Key)}</option>`)}
            </select>
          </label>
          <label>${t('note')}
            <textarea data-testid="resolve-note" rows="3" value=${note} onInput=${(e: Event) => setNote((e.target as HTMLTextAreaElement).value)} required></textarea>
          </label>
          ${error ? html`<p class="error" role="alert">${error}</p>` : null}
          <button type="submit" class="primary" data-testid="resolve-submit">${t('resolve')}</button>
        </form>` : null}
    </section>`;
}

function ResidentEditor(p: { lang: Lang; api: Api; resident: Resident; onDone(r: Resident | null): void }) {
  const t = (k: Key) => translate(p.lang, k);
  const r = p.resident;
  const [f, setF] = useState({ address: r.address, phone: r.phone ?? '', keyInfo: r.keyInfo ?? '', actionPlan: r.actionPlan ?? '', notes: r.notes ?? '' });
  const [error, setError] = useState<string | null>(null);
  const field = (k: keyof typeof f, label: Key, multi = false) => html`
    <label>${t(label)}
      ${multi
        ? html`<textarea rows="3" value=${f[k]} onInput=${(e: Event) => setF({ ...f, [k]: (e.target as HTMLTextAreaElement).value })}></textarea>`
        : html`<input value=${f[k]} onInput=${(e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value })} />`}
    </label>`;
  async function save(e: Event) {
    e.preventDefault();
    const { id: _i, tenantId: _t, createdAt: _c, updatedAt: _u, maintenanceUntil: _m, ...rest } = r;
    const opt = (v: string) => (v.trim() ? v.trim() : undefined);
    try {
      const saved = await p.api.updateResident(r.id, {
        ...rest, address: f.address.trim(), phone: opt(f.phone), keyInfo: opt(f.keyInfo), actionPlan: opt(f.actionPlan), notes: opt(f.notes),
      });
      p.onDone(saved);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }
  return html`
    <form class="editor" data-testid="resident-editor" onSubmit=${save}>
      ${field('address', 'address')}${field('phone', 'phone')}${field('keyInfo', 'keyInfo', true)}
      ${field('actionPlan', 'actionPlan', true)}${field('notes', 'notes', true)}
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <button type="submit" class="primary">${t('save')}</button>
      <button type="button" class="ghost" onClick=${() => p.onDone(null)}>${t('cancel')}</button>
    </form>`;
}

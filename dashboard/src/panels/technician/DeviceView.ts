/**
 * One device, as a technician works on it: health and states, a chain test watched as it runs,
 * a new password, maintenance, moving it to another resident, decommissioning; and its history:
 * events, alarms, tests, password changes, moves and the last rejected payload.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { needsOperator } from '../../../../hub/core/chain-test.ts';
import { type Alarm, type Api, ApiError, type CreatedDevice, type Device, type DeviceChanges, type DeviceTest, type Resident } from '../../data/api.ts';
import { formatTime } from '../../lib/format.ts';
import { alarmTypeLabel, eventTypeLabel, type Key, type Lang, translate } from '../../lib/i18n.ts';
import { CredentialsSheet } from './Credentials.ts';
import { StateChips } from './Fleet.ts';

/** How often an open test is looked at again while the page shows it. */
const TEST_POLL_MS = 1000;

export function DeviceView(p: { lang: Lang; api: Api; id: string; mqttPort: number; tenantName(id: string): string }) {
  const t = (k: Key, params?: Record<string, string | number>) => translate(p.lang, k, params);
  const [device, setDevice] = useState<Device | null>(null);
  const [tests, setTests] = useState<DeviceTest[]>([]);
  const [events, setEvents] = useState<Awaited<ReturnType<Api['deviceEvents']>>>([]);
  const [alarms, setAlarms] = useState<Alarm[]>([]);
  const [changes, setChanges] = useState<DeviceChanges>({ credentialRotations: [], assignments: [] });
  const [residents, setResidents] = useState<Resident[]>([]);
  const [fresh, setFresh] = useState<CreatedDevice | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [until, setUntil] = useState('');
  const [note, setNote] = useState('');
  const [confirmSerial, setConfirmSerial] = useState<string | null>(null);

  const load = () => {
    p.api.device(p.id, 'technician: device page').then(setDevice, (e: unknown) => setError(String(e)));
    p.api.deviceTests(p.id).then(setTests, () => {});
    p.api.deviceEvents(p.id, 'technician: device page').then(setEvents, () => {});
    p.api.deviceAlarms(p.id).then(setAlarms, () => {});
    p.api.deviceChanges(p.id).then(setChanges, () => {});
  };
  useEffect(load, [p.id]);
  useEffect(() => { if (device) p.api.residentsOf(device.tenantId).then(setResidents, () => setResidents([])); }, [device?.tenantId]);
  const open = tests.find((x) => x.state === 'waiting' || x.state === 'alarm_raised');
  // Watch a running test until it ends.
  useEffect(() => {
    if (!open) return;
    const timer = setInterval(() => {
      p.api.deviceTests(p.id).then((list) => {
        setTests(list);
        if (!list.some((x) => x.state === 'waiting' || x.state === 'alarm_raised')) load();
      }, () => {});
    }, TEST_POLL_MS);
    return () => clearInterval(timer);
  }, [open?.id]);

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      load();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };
  if (!device) return html`<p class="muted">${error ?? '…'}</p>`;
  if (fresh) return html`<${CredentialsSheet} lang=${p.lang} devices=${[fresh]} mqttPort=${p.mqttPort} onDone=${() => setFresh(null)} />`;
  const active = !device.decommissionedAt;
  const residentName = (id: string | null) => (id ? residents.find((r) => r.id === id)?.name ?? id : t('none'));
  return html`
    <div class="device-page" data-testid="device-page">
      <p><a href="#/fleet">← ${t('backToFleet')}</a></p>
      <h2>${translate(p.lang, `kind_${device.kind}` as Key)} · ${device.serial}</h2>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <div class="columns">
        <div>
          <div class="card" data-testid="device-health">
            <h3>${t('deviceDetails')}</h3>
            <p><${StateChips} lang=${p.lang} states=${device.states} /></p>
            <dl class="facts">
              <dt>${t('deviceId')}</dt><dd><code>${device.id}</code></dd>
              <dt>${t('municipality')}</dt><dd>${p.tenantName(device.tenantId)}</dd>
              <dt>${t('resident')}</dt><dd>${residentName(device.residentId)}</dd>
              <dt>${t('lastContact')}</dt><dd>${device.lastSeenAt ? formatTime(device.lastSeenAt, p.lang) : '–'}</dd>
              <dt>${t('battery')}</dt><dd>${device.battery ?? '–'}${device.battery !== null ? ' %' : ''}</dd>
              <dt>${t('signal')}</dt><dd>${device.signal ?? '–'}${device.signal !== null ? ' dBm' : ''}</dd>
              <dt>${t('firmware')}</dt><dd>${device.firmware ?? '–'}</dd>
              <dt>${t('lastTest')}</dt><dd data-testid="last-test">${device.lastTest ? `${t(`testState_${device.lastTest.result}` as Key)} · ${formatTime(device.lastTest.at, p.lang)} · ${t('byName', { name: device.lastTest.by })}` : t('state_never_tested')}</dd>
              <dt>${t('lastRejection')}</dt><dd>${device.lastRejection ? html`${formatTime(device.lastRejection.at, p.lang)} · <span class="reason">${device.lastRejection.reason}</span>` : t('none')}</dd>
              ${device.decommissionedAt ? html`<dt>${t('state_decommissioned')}</dt><dd>${t('decommissionedAt', { time: formatTime(device.decommissionedAt, p.lang) })}</dd>` : null}
            </dl>
          </div>

          ${active ? html`
          <div class="card" data-testid="chain-test">
            <h3>${t('chainTest')}</h3>
            ${open ? html`
              <p role="status" data-testid="test-status" data-state=${open.state}><strong>${t(`testState_${open.state}` as Key)}</strong> · ${t('testUntil', { time: formatTime(open.expiresAt, p.lang) })}</p>
              <p class="muted">${needsOperator(device.kind) ? t('testHowOperator') : t('testHowEvent')}</p>`
              : html`<button type="button" class="primary" data-testid="start-test" onClick=${() => act(() => p.api.startTest(device.id))}>${t('startTest')}</button>`}
            ${tests[0] && !open ? html`<p role="status" data-testid="test-status" data-state=${tests[0].state}><strong>${t(`testState_${tests[0].state}` as Key)}</strong> · ${formatTime(tests[0].endedAt ?? tests[0].startedAt, p.lang)}</p>` : null}
          </div>

          <div class="card">
            <h3>${t('maintenance')}</h3>
            ${device.maintenanceUntil && Date.parse(device.maintenanceUntil) > Date.now()
              ? html`<p data-testid="maintenance-status">${t('inMaintenanceUntil', { time: formatTime(device.maintenanceUntil, p.lang) })}</p>
                     <button type="button" data-testid="end-maintenance" onClick=${() => act(() => p.api.endMaintenance(device.id))}>${t('endMaintenance')}</button>`
              : html`<form class="inline" onSubmit=${(e: Event) => { e.preventDefault(); void act(() => p.api.setMaintenance(device.id, new Date(until).toISOString(), note)); }}>
                  <label>${t('until')} <input type="datetime-local" data-testid="maintenance-until" required value=${until} onInput=${(e: Event) => setUntil((e.target as HTMLInputElement).value)} /></label>
                  <label>${t('note')} <input data-testid="maintenance-note" value=${note} onInput=${(e: Event) => setNote((e.target as HTMLInputElement).value)} /></label>
                  <button type="submit" data-testid="set-maintenance">${t('setMaintenance')}</button>
                </form>`}
          </div>

          <div class="card">
            <h3>${t('actions')}</h3>
            <label>${t('moveTo')}
              <select data-testid="reassign" value=${device.residentId ?? ''} onChange=${(e: Event) => { const v = (e.target as HTMLSelectElement).value; void act(() => p.api.assign(device.id, v || null)); }}>
                <option value="">${t('noResident')}</option>
                ${residents.map((r) => html`<option value=${r.id}>${r.name} · ${r.address}</option>`)}
              </select>
            </label>
            <p><button type="button" data-testid="rotate" onClick=${() => { if (window.confirm(t('rotateConfirm'))) void act(async () => { const r = await p.api.rotateCredentials(device.id); setFresh({ id: device.id, serial: device.serial, kind: device.kind, tenantId: device.tenantId, residentId: device.residentId, mqtt: r.mqtt }); }); }}>${t('rotate')}</button></p>
            ${confirmSerial === null
              ? html`<p><button type="button" class="danger" data-testid="decommission" onClick=${() => setConfirmSerial('')}>${t('decommission')}</button></p>`
              : html`<form class="inline" onSubmit=${(e: Event) => { e.preventDefault(); if (confirmSerial === device.serial) void act(() => p.api.decommission(device.id)).then(() => setConfirmSerial(null)); }}>
                  <label>${t('decommissionConfirm', { serial: device.serial })} <input data-testid="decommission-serial" value=${confirmSerial} onInput=${(e: Event) => setConfirmSerial((e.target as HTMLInputElement).value)} /></label>
                  <button type="submit" class="danger" data-testid="decommission-confirm" disabled=${confirmSerial !== device.serial}>${t('confirm')}</button>
                  <button type="button" class="ghost" onClick=${() => setConfirmSerial(null)}>${t('cancelAction')}</button>
                </form>`}
          </div>` : null}
        </div>
        <div>
          <div class="card"><h3>${t('tests')}</h3>
            <ul class="events" data-testid="tests">${tests.length === 0 ? html`<li>${t('none')}</li>` : tests.map((x) => html`<li>${formatTime(x.startedAt, p.lang)} · ${t(`testState_${x.state}` as Key)} · ${t('byName', { name: x.startedBy })}${x.endedBy && x.endedBy !== 'system' ? ` · ${x.endedBy}` : ''}</li>`)}</ul>
          </div>
          <div class="card"><h3>${t('technicalAlarms')}</h3>
            <ul class="events">${alarms.length === 0 ? html`<li>${t('none')}</li>` : alarms.map((a) => html`<li>${formatTime(a.createdAt, p.lang)} · ${alarmTypeLabel(p.lang, a.type)}${a.test ? ` · ${t('testChip')}` : ''} · ${a.resolution ? translate(p.lang, `reason_${a.resolution.reason}` as Key) : a.state === 'open' ? t('unclaimed') : t('claimedBy', { name: a.acknowledgedBy?.name ?? '' })}</li>`)}</ul>
          </div>
          <div class="card"><h3>${t('events')}</h3>
            <ul class="events">${events.length === 0 ? html`<li>${t('none')}</li>` : events.map((e) => html`<li>${e.receivedAt ? formatTime(e.receivedAt, p.lang) : formatTime(e.event.ts, p.lang)} · ${eventTypeLabel(p.lang, e.event.type)}</li>`)}</ul>
          </div>
          <div class="card"><h3>${t('credentialRotations')}</h3>
            <ul class="events" data-testid="rotations">${changes.credentialRotations.length === 0 ? html`<li>${t('none')}</li>` : changes.credentialRotations.map((r) => html`<li>${formatTime(r.at, p.lang)} · ${t('byName', { name: r.by })}</li>`)}</ul>
            <h3>${t('assignments')}</h3>
            <ul class="events">${changes.assignments.length === 0 ? html`<li>${t('none')}</li>` : changes.assignments.map((m) => html`<li>${formatTime(m.at, p.lang)} · ${residentName(m.from)} → ${residentName(m.to)} · ${t('byName', { name: m.by })}</li>`)}</ul>
          </div>
        </div>
      </div>
    </div>`;
}

/** Registering one device: municipality, kind, serial, resident, heartbeat interval. */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { DEVICE_KINDS } from '../../../../hub/core/events.ts';
import { type Api, ApiError, type CreatedDevice, type Device, type Resident, type Tenant } from '../../data/api.ts';
import { type Key, type Lang, translate } from '../../lib/i18n.ts';
import { CredentialsSheet } from './Credentials.ts';

export function Register(p: { lang: Lang; api: Api; tenants: Tenant[]; mqttPort: number }) {
  const t = (k: Key) => translate(p.lang, k);
  const [tenantId, setTenantId] = useState(p.tenants[0]?.id ?? '');
  const [kind, setKind] = useState<Device['kind']>('safety_alarm');
  const [serial, setSerial] = useState('');
  const [residentId, setResidentId] = useState('');
  const [interval, setIntervalS] = useState('');
  const [residents, setResidents] = useState<Resident[]>([]);
  const [created, setCreated] = useState<CreatedDevice | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { if (tenantId) p.api.residentsOf(tenantId).then(setResidents, () => setResidents([])); }, [tenantId]);
  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      const r = await p.api.registerDevice({
        tenantId, kind, serial: serial.trim(), ...(residentId ? { residentId } : {}), ...(interval ? { heartbeatIntervalSeconds: Number(interval) } : {}),
      });
      setCreated({ id: r.id, serial: serial.trim(), kind: r.kind, tenantId: r.tenantId, residentId: residentId || null, mqtt: r.mqtt });
      setSerial('');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }
  if (created) return html`<${CredentialsSheet} lang=${p.lang} devices=${[created]} mqttPort=${p.mqttPort} onDone=${() => setCreated(null)} />`;
  return html`
    <form class="card editor narrow" data-testid="register" onSubmit=${submit}>
      <h2>${t('tabRegister')}</h2>
      <label>${t('municipality')}
        <select data-testid="register-tenant" value=${tenantId} onChange=${(e: Event) => setTenantId((e.target as HTMLSelectElement).value)}>
          ${p.tenants.map((x) => html`<option value=${x.id}>${x.name} (${x.id})</option>`)}
        </select>
      </label>
      <label>${t('kind')}
        <select data-testid="register-kind" value=${kind} onChange=${(e: Event) => setKind((e.target as HTMLSelectElement).value as Device['kind'])}>
          ${DEVICE_KINDS.map((k) => html`<option value=${k}>${translate(p.lang, `kind_${k}` as Key)}</option>`)}
        </select>
      </label>
      <label>${t('serial')} <input data-testid="register-serial" required maxlength="100" value=${serial} onInput=${(e: Event) => setSerial((e.target as HTMLInputElement).value)} /></label>
      <label>${t('resident')}
        <select data-testid="register-resident" value=${residentId} onChange=${(e: Event) => setResidentId((e.target as HTMLSelectElement).value)}>
          <option value="">${t('noResident')}</option>
          ${residents.map((r) => html`<option value=${r.id}>${r.name} · ${r.address}</option>`)}
        </select>
      </label>
      <label>${t('heartbeatInterval')} <input type="number" min="10" max="604800" inputmode="numeric" value=${interval} onInput=${(e: Event) => setIntervalS((e.target as HTMLInputElement).value)} /></label>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <button type="submit" class="primary" data-testid="register-submit">${t('register')}</button>
    </form>`;
}

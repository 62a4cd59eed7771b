/**
 * New devices' credentials, shown once, right after they were made: copy buttons, a printable
 * sheet (one block per device) and a CSV download. Nothing of it is kept: leave, and the
 * passwords are gone (rotate to get a new one).
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { stringify } from 'csv-stringify/browser/esm/sync';
import type { CreatedDevice } from '../../data/api.ts';
import { type Key, type Lang, translate } from '../../lib/i18n.ts';

export function hubAddress(mqttPort: number, tls = false): string {
  return `${tls ? 'mqtts' : 'mqtt'}://${location.hostname}:${mqttPort}`;
}

/** The rows as a spreadsheet opens them in Norway: UTF-8 with a byte-order mark, semicolons. */
export function credentialsCsv(devices: readonly CreatedDevice[], address: string): string {
  const rows = devices.map((d) => [d.serial, d.kind, d.tenantId, d.id, d.mqtt.username, d.mqtt.password, address]);
  return `\uFEFF${stringify([['serial', 'kind', 'tenantId', 'deviceId', 'username', 'password', 'hub'], ...rows], { delimiter: ';', record_delimiter: 'windows' })}`;
}

function Copy(p: { lang: Lang; text: string; label: string }) {
  const [done, setDone] = useState(false);
  return html`<button type="button" class="ghost small no-print" aria-label=${`${translate(p.lang, 'copy')}: ${p.label}`}
    onClick=${() => navigator.clipboard.writeText(p.text).then(() => { setDone(true); setTimeout(() => setDone(false), 1500); }, () => {})}>
    ${done ? translate(p.lang, 'copied') : translate(p.lang, 'copy')}</button>`;
}

export function CredentialsSheet(p: { lang: Lang; devices: readonly CreatedDevice[]; mqttPort: number; onDone(): void }) {
  const t = (k: Key, params?: Record<string, string | number>) => translate(p.lang, k, params);
  const address = hubAddress(p.mqttPort, location.protocol === 'https:');
  function download() {
    const blob = new Blob([credentialsCsv(p.devices, address)], { type: 'text/csv;charset=utf-8' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `enheter-${new Date().toISOString().slice(0, 10)}.csv`;
    a.click();
    URL.revokeObjectURL(a.href);
  }
  return html`
    <section class="credentials printable" data-testid="credentials" aria-labelledby="credentials-title">
      <h2 id="credentials-title">${t('devicesN', { n: p.devices.length })}</h2>
      <p class="banner notice no-print" role="status">${t('credentialsOnce')}</p>
      <div class="toolbar no-print">
        <button type="button" class="primary" data-testid="print" onClick=${() => window.print()}>${t('print')}</button>
        <button type="button" data-testid="download-csv" onClick=${download}>${t('downloadCsv')}</button>
        <button type="button" class="ghost" data-testid="credentials-done" onClick=${p.onDone}>${t('done')}</button>
      </div>
      <div class="sheet">
        ${p.devices.map((d) => html`
          <div class="card credential" data-testid="credential" data-device-id=${d.id}>
            <h3>${translate(p.lang, `kind_${d.kind}` as Key)} · ${d.serial}</h3>
            <dl>
              <dt>${t('serial')}</dt><dd>${d.serial}</dd>
              <dt>${t('deviceId')}</dt><dd><code>${d.id}</code> <${Copy} lang=${p.lang} text=${d.id} label=${t('deviceId')} /></dd>
              <dt>${t('username')}</dt><dd><code>${d.mqtt.username}</code> <${Copy} lang=${p.lang} text=${d.mqtt.username} label=${t('username')} /></dd>
              <dt>${t('password')}</dt><dd><code data-testid="password">${d.mqtt.password}</code> <${Copy} lang=${p.lang} text=${d.mqtt.password} label=${t('password')} /></dd>
              <dt>${t('hubAddress')}</dt><dd><code>${address}</code></dd>
            </dl>
          </div>`)}
      </div>
    </section>`;
}

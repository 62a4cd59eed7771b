/**
 * Onboarding by the hundred: choose or paste a CSV file, see the dry run (every row, every error
 * by line, in the user's language), then import it whole and get the credential sheet.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { type Api, ApiError, type CreatedDevice, type ImportResult } from '../../data/api.ts';
import { type Key, type Lang, translate } from '../../lib/i18n.ts';
import { CredentialsSheet } from './Credentials.ts';

export function Import(p: { lang: Lang; api: Api; mqttPort: number }) {
  const t = (k: Key, params?: Record<string, string | number>) => translate(p.lang, k, params);
  const [text, setText] = useState('');
  const [preview, setPreview] = useState<ImportResult | null>(null);
  const [created, setCreated] = useState<CreatedDevice[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function check(csv: string) {
    setError(null);
    setPreview(null);
    if (!csv.trim()) return;
    setBusy(true);
    try {
      setPreview(await p.api.importDevices(csv, true));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }
  async function importAll() {
    setBusy(true);
    try {
      const r = await p.api.importDevices(text, false);
      setCreated(r.created);
      setPreview(null);
      setText('');
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && err.body && typeof err.body === 'object' && 'errors' in err.body) setPreview(err.body as ImportResult);
      else setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }
  if (created) return html`<${CredentialsSheet} lang=${p.lang} devices=${created} mqttPort=${p.mqttPort} onDone=${() => setCreated(null)} />`;
  const rows = preview?.preview ?? [];
  const errors = preview?.errors ?? [];
  return html`
    <div class="import" data-testid="import">
      <div class="card">
        <h2>${t('tabImport')}</h2>
        <p class="muted">${t('importHelp')}</p>
        <label>${t('importFile')}
          <input type="file" accept=".csv,text/csv" data-testid="import-file" onChange=${async (e: Event) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (!f) return;
            const content = await f.text();
            setText(content);
            await check(content);
          }} />
        </label>
        <label>${t('orPaste')}
          <textarea rows="6" data-testid="import-text" value=${text} onInput=${(e: Event) => setText((e.target as HTMLTextAreaElement).value)}></textarea>
        </label>
        <p><button type="button" data-testid="import-check" disabled=${busy || !text.trim()} onClick=${() => check(text)}>${t('checkFile')}</button></p>
        ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      </div>
      ${preview ? html`
        <div class="card" data-testid="import-preview">
          ${errors.length > 0
            ? html`<p class="error" role="alert" data-testid="import-summary">${t('previewErrors', { n: errors.length })}</p>
              <table class="queue"><caption class="sr-only">${t('problem')}</caption>
                <thead><tr><th scope="col">${t('line')}</th><th scope="col">${t('problem')}</th></tr></thead>
                <tbody>${errors.map((e) => html`<tr data-testid="import-error" data-line=${e.line}><td>${e.line}</td><td>${translate(p.lang, `imp_${e.code}` as Key, e.params)}</td></tr>`)}</tbody>
              </table>`
            : html`<p role="status" data-testid="import-summary">${t('previewOk', { n: rows.length })}</p>`}
          ${rows.length > 0 ? html`
            <table class="queue"><caption class="sr-only">${t('devicesN', { n: rows.length })}</caption>
              <thead><tr><th scope="col">${t('line')}</th><th scope="col">${t('municipality')}</th><th scope="col">${t('kind')}</th><th scope="col">${t('serial')}</th><th scope="col">${t('resident')}</th></tr></thead>
              <tbody>${rows.map((r) => html`<tr data-testid="import-row"><td>${r.line}</td><td>${r.tenantId}</td><td>${translate(p.lang, `kind_${r.kind}` as Key)}</td><td>${r.serial}</td><td>${r.residentId ?? '–'}</td></tr>`)}</tbody>
            </table>` : null}
          ${errors.length === 0 && rows.length > 0
            ? html`<button type="button" class="primary" data-testid="import-submit" disabled=${busy} onClick=${importAll}>${t('importN', { n: rows.length })}</button>` : null}
        </div>` : null}
    </div>`;
}

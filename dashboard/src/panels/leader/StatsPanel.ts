/**
 * The municipal leader's statistics: a period (presets or days of their own), a municipality
 * (or several side by side), key figures against the targets, charts each with a table view for
 * screen readers, and CSV downloads of what is shown. Aggregates only: the API gives no names.
 */
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { DEVICE_KINDS } from '../../../../hub/core/events.ts';
import type { Api, SeriesResult, StatsPeriodQuery, StatsSummary, Tenant } from '../../data/api.ts';
import { drawChart, SERIES_COLOURS, TARGET_COLOURS } from '../../lib/charts.ts';
import { bucketLabel, formatAge, formatDay, formatTime, percent } from '../../lib/format.ts';
import { alarmTypeLabel, type Key, type Lang, translate } from '../../lib/i18n.ts';

const PRESETS = ['this_month', 'last_month', 'this_year', 'last_12_months'] as const;
type PeriodChoice = { preset: (typeof PRESETS)[number] | 'custom'; from: string; to: string };

/** The interval that suits a period: hours for a day or two, days up to two months, else weeks. */
export function intervalFor(from: string, to: string): 'hour' | 'day' | 'week' {
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  return days <= 2 ? 'hour' : days <= 62 ? 'day' : 'week';
}

function save(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  URL.revokeObjectURL(a.href);
}

type Line = { key: string; label: string; kind: 'bar' | 'line'; target?: boolean };

/** A chart with its table: the canvas for eyes, the table for screen readers and on request for all. */
function ChartFigure(p: { lang: Lang; id: string; title: string; series: SeriesResult; lines: Line[]; percent?: boolean; stacked?: boolean; onCsv(): void }) {
  const t = (k: Key, params?: Record<string, string | number>) => translate(p.lang, k, params);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [table, setTable] = useState(false);
  const labels = p.series.buckets.map((b) => bucketLabel(b.start, p.series.interval, p.lang));
  const value = (b: SeriesResult['buckets'][number], l: Line) => (l.target ? Number(l.key) : b.values[l.key] ?? null);
  useEffect(() => {
    if (!canvas.current) return;
    return drawChart(canvas.current, {
      type: 'bar',
      data: {
        labels,
        datasets: p.lines.map((l, i) => {
          const colour = l.target ? TARGET_COLOURS[p.lines.slice(0, i).filter((x) => x.target).length % TARGET_COLOURS.length] : SERIES_COLOURS[i % SERIES_COLOURS.length];
          return {
          type: l.kind, label: l.label, data: p.series.buckets.map((b) => { const v = value(b, l); return v === null ? null : p.percent ? v * 100 : v; }),
          backgroundColor: colour, borderColor: colour,
          borderDash: l.target ? [6, 4] : [], pointRadius: l.target ? 0 : 3, borderWidth: 2, ...(p.stacked && l.kind === 'bar' ? { stack: 'a' } : {}),
          };
        }),
      },
      options: { scales: { x: { stacked: !!p.stacked }, y: { stacked: !!p.stacked, beginAtZero: true, ...(p.percent ? { max: 100 } : {}) } } },
    });
  }, [p.series, p.lang]);
  const show = (v: number | null) => (v === null ? '–' : p.percent ? percent(v, p.lang) : String(v));
  return html`
    <figure class="card chart" data-testid=${`chart-${p.id}`}>
      <figcaption><h3>${p.title}</h3>
        <span class="no-print">
          <button type="button" class="ghost small" aria-expanded=${table} onClick=${() => setTable(!table)}>${table ? t('hideTable') : t('showTable')}</button>
          <button type="button" class="ghost small" onClick=${p.onCsv}>${t('downloadSeriesCsv')}</button>
        </span>
      </figcaption>
      <div class="canvas-box" aria-hidden="true"><canvas ref=${canvas}></canvas></div>
      <table class=${table ? 'plain data' : 'sr-only'} data-testid=${`table-${p.id}`}>
        <caption>${p.title}</caption>
        <thead><tr><th scope="col">${t('periodStart')}</th>${p.lines.map((l) => html`<th scope="col">${l.label}</th>`)}</tr></thead>
        <tbody>${p.series.buckets.map((b, i) => html`<tr><th scope="row">${labels[i]}</th>${p.lines.map((l) => html`<td>${show(value(b, l))}</td>`)}</tr>`)}</tbody>
      </table>
    </figure>`;
}

function persons(c: { value: number | null; suppressed: boolean }): string {
  return c.suppressed ? '<5' : String(c.value ?? 0);
}

export function StatsPanel(p: { lang: Lang; api: Api }) {
  const t = (k: Key, params?: Record<string, string | number>) => translate(p.lang, k, params);
  const [tenants, setTenants] = useState<Tenant[]>([]);
  const [tenantId, setTenantId] = useState<string>('');
  const [choice, setChoice] = useState<PeriodChoice>({ preset: 'this_month', from: '', to: '' });
  const [applied, setApplied] = useState<PeriodChoice>(choice);
  const [summaries, setSummaries] = useState<StatsSummary[]>([]);
  const [series, setSeries] = useState<Record<string, SeriesResult>>({});
  const [error, setError] = useState<string | null>(null);
  useEffect(() => { p.api.tenants().then((list) => { setTenants(list); setTenantId(list[0]?.id ?? ''); }, () => setTenants([])); }, []);

  const query = (id: string): StatsPeriodQuery => (applied.preset === 'custom' ? { tenantId: id, from: applied.from, to: applied.to } : { tenantId: id, period: applied.preset });
  const main = summaries.find((s) => s.tenantId === tenantId);
  const interval = main ? intervalFor(main.from, main.to) : 'week';
  useEffect(() => {
    if (!tenantId) return;
    setError(null);
    Promise.all(tenants.map((x) => p.api.statsSummary(query(x.id)))).then(setSummaries, (e: unknown) => setError(String(e)));
  }, [tenantId, applied, tenants.length]);
  useEffect(() => {
    if (!main) return;
    const q = query(tenantId);
    Promise.all(['alarms', 'answered', 'doses', 'staff_unlocks'].map(async (m) => [m, await p.api.statsSeries(q, m, interval)] as const))
      .then((list) => setSeries(Object.fromEntries(list)), (e: unknown) => setError(String(e)));
  }, [main?.tenantId, main?.from, main?.to]);

  const name = (id: string) => tenants.find((x) => x.id === id)?.name ?? id;
  const csv = (kind: 'summary' | 'series', extra: Record<string, string> = {}) => () => {
    p.api.statsCsv(kind, query(tenantId), extra).then((b) => save(b, `${kind === 'summary' ? 'nokkeltall' : extra.metric}-${tenantId}.csv`), (e: unknown) => setError(String(e)));
  };
  const ivl = t(`interval_${interval}` as Key);
  return html`
    <div class="stats" data-testid="stats">
      <form class="toolbar filters no-print" onSubmit=${(e: Event) => { e.preventDefault(); setApplied(choice); }}>
        ${tenants.length > 1 ? html`<label>${t('municipality')}
          <select data-testid="stats-tenant" value=${tenantId} onChange=${(e: Event) => setTenantId((e.target as HTMLSelectElement).value)}>
            ${tenants.map((x) => html`<option value=${x.id}>${x.name}</option>`)}
          </select></label>` : null}
        <label>${t('period')}
          <select data-testid="stats-period" value=${choice.preset} onChange=${(e: Event) => {
            const v = (e.target as HTMLSelectElement).value as PeriodChoice['preset'];
            const next = { ...choice, preset: v };
            setChoice(next);
            if (v !== 'custom') setApplied(next);
          }}>
            ${PRESETS.map((x) => html`<option value=${x}>${t(`preset_${x}` as Key)}</option>`)}
            <option value="custom">${t('preset_custom')}</option>
          </select>
        </label>
        ${choice.preset === 'custom' ? html`
          <label>${t('fromDay')} <input type="date" data-testid="stats-from" required value=${choice.from} onInput=${(e: Event) => setChoice({ ...choice, from: (e.target as HTMLInputElement).value })} /></label>
          <label>${t('toDay')} <input type="date" data-testid="stats-to" required value=${choice.to} onInput=${(e: Event) => setChoice({ ...choice, to: (e.target as HTMLInputElement).value })} /></label>
          <button type="submit" data-testid="stats-apply">${t('show')}</button>` : null}
        <button type="button" data-testid="stats-csv" onClick=${csv('summary')}>${t('downloadSummaryCsv')}</button>
        <button type="button" class="ghost" onClick=${() => window.print()}>${t('print')}</button>
      </form>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      ${main ? html`
        <h2 data-testid="stats-title">${t('statsTitle', { name: name(main.tenantId) })} · ${formatDay(main.from, p.lang)} – ${formatDay(new Date(Date.parse(main.to) - 1).toISOString(), p.lang)}</h2>
        <div class="stat-grid">
          <section class="card" data-testid="stats-response" aria-labelledby="h-response">
            <h3 id="h-response">${t('answerTimes')}</h3>
            ${[['within60', main.response.shareWithin60s, main.response.targets.within60s, main.response.meets60s], ['within180', main.response.shareWithin180s, main.response.targets.within180s, main.response.meets180s]].map(([k, v, target, met]) => html`
              <p class="figure"><span class="label">${t(k as Key)}</span> <strong>${percent(v as number | null, p.lang)}</strong>${' '}
                <span class=${met === null ? 'muted' : met ? 'ok' : 'bad'}>(${t('targetLabel', { target: percent(target as number, p.lang) })}${met === null ? '' : `: ${t(met ? 'targetMet' : 'targetMissed')}`})</span></p>`)}
            <p class="figure"><span class="label">${t('medianAck')}</span> ${main.response.medianAckSeconds === null ? '–' : formatAge(main.response.medianAckSeconds * 1000, p.lang)}</p>
            <p class="figure"><span class="label">${t('p90Ack')}</span> ${main.response.p90AckSeconds === null ? '–' : formatAge(main.response.p90AckSeconds * 1000, p.lang)}</p>
            <p class="figure"><span class="label">${t('medianResolve')}</span> ${main.response.medianResolveSeconds === null ? '–' : formatAge(main.response.medianResolveSeconds * 1000, p.lang)}</p>
          </section>
          <section class="card" data-testid="stats-users" aria-labelledby="h-users">
            <h3 id="h-users">${t('usersPerTechnology')}</h3>
            <table class="plain data"><caption class="sr-only">${t('usersPerTechnology')}</caption>
              <thead><tr><th scope="col">${t('kindCol')}</th><th scope="col">${t('atEnd')}</th><th scope="col">${t('during')}</th><th scope="col">${t('newUsers')}</th><th scope="col">${t('endedUsers')}</th></tr></thead>
              <tbody>${[...DEVICE_KINDS, 'total' as const].map((k) => html`<tr>
                <th scope="row">${k === 'total' ? t('total') : translate(p.lang, `kind_${k}` as Key)}</th>
                <td data-testid=${`users-${k}`}>${persons(main.users[k])}</td><td>${persons(main.usersDuring[k])}</td><td>${persons(main.usersNew[k])}</td><td>${persons(main.usersEnded[k])}</td></tr>`)}</tbody>
            </table>
            <p class="muted small-text">${t('suppressedNote')}</p>
          </section>
          <section class="card" aria-labelledby="h-alarms">
            <h3 id="h-alarms">${t('alarmsTitle')}</h3>
            <p class="figure"><span class="label">${t('realAlarms')}</span> <strong data-testid="alarms-total">${main.alarms.total}</strong></p>
            <p class="figure"><span class="label">${t('testAlarms')}</span> ${main.alarms.test}</p>
            <p class="figure"><span class="label">${t('escalatedN')}</span> ${main.alarms.escalated} · <span class="label">${t('repeatsN')}</span> ${main.alarms.repeats} · <span class="label">${t('outagesN')}</span> ${main.alarms.outages}</p>
            <table class="plain data"><caption class="sr-only">${t('alarmsTitle')}</caption><tbody>
              ${Object.entries(main.alarms.byType).sort((a, b) => b[1] - a[1]).map(([k, v]) => html`<tr><th scope="row">${alarmTypeLabel(p.lang, k)}</th><td>${v}</td></tr>`)}
            </tbody></table>
          </section>
          <section class="card" aria-labelledby="h-ends">
            <h3 id="h-ends">${t('howAlarmsEnd')}</h3>
            <table class="plain data"><caption class="sr-only">${t('howAlarmsEnd')}</caption><tbody>
              ${Object.entries(main.resolutions).sort((a, b) => b[1] - a[1]).map(([k, v]) => html`<tr><th scope="row">${translate(p.lang, `reason_${k}` as Key)}</th><td>${v}</td></tr>`)}
            </tbody></table>
            <h3>${t('falseAlarmShare')}</h3>
            <table class="plain data"><caption class="sr-only">${t('falseAlarmShare')}</caption><tbody>
              ${DEVICE_KINDS.map((k) => html`<tr><th scope="row">${translate(p.lang, `kind_${k}` as Key)}</th><td>${percent(main.falseAlarmsByKind[k]?.share ?? null, p.lang)}</td></tr>`)}
            </tbody></table>
          </section>
        </div>
        ${summaries.length > 1 ? html`
          <section class="card" aria-labelledby="h-compare">
            <h3 id="h-compare">${t('compareTitle')}</h3>
            <table class="queue" data-testid="stats-compare"><caption class="sr-only">${t('compareTitle')}</caption>
              <thead><tr><th scope="col">${t('municipality')}</th><th scope="col">${t('usersPerTechnology')} (${t('total')})</th><th scope="col">${t('realAlarms')}</th><th scope="col">${t('within60')}</th><th scope="col">${t('within180')}</th><th scope="col">${t('missedShare')}</th></tr></thead>
              <tbody>${summaries.map((s) => html`<tr><th scope="row">${name(s.tenantId)}</th><td>${persons(s.users.total)}</td><td>${s.alarms.total}</td><td>${percent(s.response.shareWithin60s, p.lang)}</td><td>${percent(s.response.shareWithin180s, p.lang)}</td><td>${percent(s.doses.missedShare, p.lang)}</td></tr>`)}</tbody>
            </table>
          </section>` : null}
        <div class="chart-grid">
          ${series.alarms ? html`<${ChartFigure} lang=${p.lang} id="alarms" title=${t('alarmsPerBucket', { interval: ivl })} series=${series.alarms} stacked=${true}
            lines=${[{ key: 'care', label: t('category_care'), kind: 'bar' }, { key: 'technical', label: t('category_technical'), kind: 'bar' }]} onCsv=${csv('series', { metric: 'alarms', interval })} />` : null}
          ${series.answered ? html`<${ChartFigure} lang=${p.lang} id="answered" title=${t('answeredPerBucket', { interval: ivl })} series=${series.answered} percent=${true}
            lines=${[
              { key: 'shareWithin60s', label: t('within60'), kind: 'line' }, { key: 'shareWithin180s', label: t('within180'), kind: 'line' },
              { key: String(main.response.targets.within60s), label: `${t('within60')} – ${t('targetLabel', { target: percent(main.response.targets.within60s, p.lang) })}`, kind: 'line', target: true },
              { key: String(main.response.targets.within180s), label: `${t('within180')} – ${t('targetLabel', { target: percent(main.response.targets.within180s, p.lang) })}`, kind: 'line', target: true },
            ]} onCsv=${csv('series', { metric: 'answered', interval })} />` : null}
          ${series.doses ? html`<${ChartFigure} lang=${p.lang} id="doses" title=${t('missedPerBucket', { interval: ivl })} series=${series.doses} percent=${true}
            lines=${[{ key: 'missedShare', label: t('missedShare'), kind: 'line' }]} onCsv=${csv('series', { metric: 'doses', interval })} />` : null}
          ${series.staff_unlocks ? html`<${ChartFigure} lang=${p.lang} id="unlocks" title=${t('staffUnlocksPerBucket', { interval: ivl })} series=${series.staff_unlocks}
            lines=${[{ key: 'staffUnlocks', label: t('staffUnlocks'), kind: 'bar' }]} onCsv=${csv('series', { metric: 'staff_unlocks', interval })} />` : null}
        </div>
        <section class="card" aria-labelledby="h-heat" data-testid="stats-heatmap">
          <h3 id="h-heat">${t('nightLoad')}</h3>
          <div class="heat-wrap"><table class="heat"><caption class="sr-only">${t('nightLoad')}</caption>
            <thead><tr><th scope="col">${t('hourCol')}</th>${Array.from({ length: 24 }, (_, h) => html`<th scope="col">${String(h).padStart(2, '0')}</th>`)}</tr></thead>
            <tbody>${main.heatmap.map((row, d) => {
              const max = Math.max(1, ...main.heatmap.flat());
              return html`<tr><th scope="row">${t(`weekday_${d}` as Key)}</th>${row.map((n) => html`<td style=${`--heat:${(n / max).toFixed(2)}`} class=${n > 0 ? 'hot' : ''}>${n}</td>`)}</tr>`;
            })}</tbody>
          </table></div>
        </section>
        <div class="stat-grid">
          <section class="card" aria-labelledby="h-slow">
            <h3 id="h-slow">${t('slowestAlarms')}</h3>
            <table class="plain data"><caption class="sr-only">${t('slowestAlarms')}</caption><tbody>
              ${main.response.slowest.map((s) => html`<tr><td>${formatTime(s.at, p.lang)}</td><td>${alarmTypeLabel(p.lang, s.type)}</td><td>${s.seconds === null ? t('notAcknowledged') : t('seconds', { n: Math.round(s.seconds) })}</td></tr>`)}
            </tbody></table>
          </section>
          <section class="card" aria-labelledby="h-devices">
            <h3 id="h-devices">${t('devicesTitle')}</h3>
            <table class="plain data"><caption class="sr-only">${t('devicesTitle')}</caption>
              <thead><tr><th scope="col">${t('kindCol')}</th><th scope="col">${t('availability')}</th><th scope="col">${t('offlineHours')}</th><th scope="col">${t('technicalPer100')}</th><th scope="col">${t('state_never_tested')}</th><th scope="col">${t('state_test_overdue')}</th></tr></thead>
              <tbody>${DEVICE_KINDS.map((k) => { const d = main.devices.byKind[k]; return html`<tr><th scope="row">${translate(p.lang, `kind_${k}` as Key)}</th><td>${percent(d.availability, p.lang)}</td><td>${d.offlineHours}</td><td>${d.technicalPer100 ?? '–'}</td><td>${d.neverTested}</td><td>${d.testOverdue}</td></tr>`; })}</tbody>
            </table>
          </section>
          <section class="card" aria-labelledby="h-med">
            <h3 id="h-med">${t('medicineTitle')} · ${t('doorsTitle')}</h3>
            <p class="figure"><span class="label">${t('dosesDue')}</span> ${main.doses.due} · <span class="label">${t('dosesTaken')}</span> ${main.doses.taken} · <span class="label">${t('dosesLate')}</span> ${main.doses.late} · <span class="label">${t('dosesMissed')}</span> ${main.doses.missed}</p>
            <p class="figure"><span class="label">${t('missedShare')}</span> ${percent(main.doses.missedShare, p.lang)}</p>
            <p class="figure"><span class="label">${t('staffUnlocks')}</span> <strong data-testid="staff-unlocks">${main.doors.staffUnlocks}</strong></p>
          </section>
        </div>` : null}
    </div>`;
}

/**
 * The queue: open and acknowledged alarms, most urgent first, with age counting up. Unclaimed
 * and claimed differ in colour, icon and words, never colour alone.
 */
import { html } from 'htm/preact';
import type { Alarm } from '../../data/api.ts';
import { formatAge } from '../../lib/format.ts';
import { alarmTypeLabel, type Lang, translate, type Key } from '../../lib/i18n.ts';

export type QueueProps = {
  lang: Lang;
  alarms: Alarm[];
  now: number;
  me: string;
  selectedId: string | null;
  residentName(id: string | null): string;
  residentAddress(id: string | null): string;
  tenantName(id: string): string;
  onSelect(id: string): void;
  onOpen(id: string): void;
  onClaim(id: string): void;
};

export function Queue(p: QueueProps) {
  const t = (k: Key, params?: Record<string, string | number>) => translate(p.lang, k, params);
  if (p.alarms.length === 0) return html`<p class="empty" data-testid="queue-empty">${t('noAlarms')}</p>`;
  return html`
    <table class="queue" data-testid="queue" aria-label=${t('queue')}>
      <thead>
        <tr>
          <th scope="col">${t('priority', { p: '' }).trim()}</th>
          <th scope="col">${t('alarm')}</th>
          <th scope="col">${t('resident')} / ${t('address')}</th>
          <th scope="col">${t('municipality')}</th>
          <th scope="col">${t('age')}</th>
          <th scope="col"><span class="sr-only">${t('state_acknowledged')}</span></th>
        </tr>
      </thead>
      <tbody>
        ${p.alarms.map((a) => {
          const claimed = a.state === 'acknowledged';
          const mine = claimed && a.acknowledgedBy?.name === p.me;
          const status = claimed ? (mine ? t('claimedByYou') : t('claimedBy', { name: a.acknowledgedBy?.name ?? '' })) : t('unclaimed');
          return html`
            <tr
              key=${a.id}
              data-testid="alarm-row"
              data-alarm-id=${a.id}
              data-state=${a.state}
              class=${`row p${a.priority} ${claimed ? 'claimed' : 'unclaimed'} ${p.selectedId === a.id ? 'selected' : ''}`}
              tabindex="0"
              aria-selected=${p.selectedId === a.id}
              onClick=${() => p.onOpen(a.id)}
              onFocus=${() => p.onSelect(a.id)}
            >
              <td><span class=${`prio p${a.priority}`} title=${t('priority', { p: a.priority })}>P${a.priority}</span></td>
              <td>
                <strong data-testid="alarm-type">${alarmTypeLabel(p.lang, a.type)}</strong>${a.test ? html` <span class="chip test" data-testid="test-chip">${translate(p.lang, 'testChip')}</span>` : null}
                ${a.count > 1 ? html` <span class="count" data-testid="alarm-count">×${a.count}</span>` : null}
                ${a.escalationLevel > 0 ? html` <span class="escalated">⚠ ${t('escalated')}</span>` : null}
                <div class="muted">${translate(p.lang, `category_${a.category}` as Key)}</div>
              </td>
              <td>
                <div data-testid="alarm-resident">${a.type === 'outage' ? `${a.devices.length} ${t('device').toLowerCase()}` : p.residentName(a.residentId)}</div>
                <div class="muted" data-testid="alarm-address">${p.residentAddress(a.residentId)}</div>
              </td>
              <td>${p.tenantName(a.tenantId)}</td>
              <td class="age" data-testid="alarm-age">${formatAge(p.now - Date.parse(a.createdAt), p.lang)}</td>
              <td>
                <span class=${`status ${claimed ? 'is-claimed' : 'is-unclaimed'}`} data-testid="alarm-status">${claimed ? '✔' : '●'} ${status}</span>
                ${claimed ? null : html`
                  <button class="claim" data-testid="claim" onClick=${(e: Event) => { e.stopPropagation(); p.onClaim(a.id); }}>${t('claim')}</button>`}
              </td>
            </tr>`;
        })}
      </tbody>
    </table>`;
}

/**
 * The operator's screen: the live queue, the open alarm, the resolved list, the stale-screen
 * banner, sound and screen-reader announcements, and keyboard use.
 */
import { html } from 'htm/preact';
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import type { LiveMessage } from '../../../../hub/live/live.ts';
import { type Alarm, type Api, ApiError, type DashboardConfig, type Resident, type Session } from '../../data/api.ts';
import { LiveConnection, type LiveStatus, SessionEnded } from '../../data/live.ts';
import { type AlarmsState, apply, disconnected, EMPTY, newlyRaised, queue } from '../../lib/alarms-state.ts';
import { clockSkewMs, formatAge, formatTime } from '../../lib/format.ts';
import { alarmTypeLabel, CLAIM_KEY, type Key, type Lang, translate } from '../../lib/i18n.ts';
import { playAlert, SILENCE_MINUTES, SOUND_PRIORITY } from '../../lib/sound.ts';
import { AlarmDetail } from './AlarmDetail.ts';
import { Queue } from './Queue.ts';

type Action = { type: 'message'; m: LiveMessage } | { type: 'disconnected' };
function reducer(s: AlarmsState, a: Action): AlarmsState {
  return a.type === 'message' ? apply(s, a.m) : disconnected(s);
}

export type OperatorPanelProps = { lang: Lang; api: Api; session: Session; config: DashboardConfig; onSessionEnded: () => void };

export function OperatorPanel(p: OperatorPanelProps) {
  const t = (k: Key, params?: Record<string, string | number>) => translate(p.lang, k, params);
  const [state, dispatch] = useReducer(reducer, EMPTY);
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [residents, setResidents] = useState(new Map<string, Resident>());
  const [tenants, setTenants] = useState(new Map<string, string>());
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [openId, setOpenId] = useState<string | null>(null);
  const [tab, setTab] = useState<'queue' | 'resolved'>('queue');
  const skew = useRef(0);
  const [now, setNow] = useState(Date.now());
  const [silencedUntil, setSilencedUntil] = useState(0);
  const [announcement, setAnnouncement] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const prev = useRef<AlarmsState>(EMPTY);
  const wasStale = useRef(false);
  const me = p.session.user.username;

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now() + skew.current), 1000);
    return () => clearInterval(timer);
  }, []);

  // Residents are read one by one when an alarm needs them, each read logged with that alarm as
  // the reason; never the whole register up front (need to know).
  const asked = useRef(new Map<string, Promise<Resident | null>>());
  const residentFor = useCallback((a: Pick<Alarm, 'id' | 'residentId'>): Promise<Resident | null> => {
    const id = a.residentId;
    if (!id) return Promise.resolve(null);
    let pending = asked.current.get(id);
    if (!pending) {
      pending = p.api.resident(id, `alarm ${a.id}`).then((r) => {
        setResidents((m) => new Map(m).set(r.id, r));
        return r;
      }, () => { asked.current.delete(id); return null; });
      asked.current.set(id, pending);
    }
    return pending;
  }, [p.api]);
  useEffect(() => {
    p.api.tenants().then((list) => setTenants(new Map(list.map((x) => [x.id, x.name]))), () => {});
    const ticket = () => p.api.liveTicket().then((r) => r.ticket, (err: unknown) => {
      throw err instanceof ApiError && err.status === 401 ? new SessionEnded() : err;
    });
    const live = new LiveConnection(ticket, {
      onSessionEnded: () => p.onSessionEnded(),
      onMessage: (m) => {
        skew.current = clockSkewMs(m.now, Date.now());
        dispatch({ type: 'message', m });
      },
      onStatus: (s) => {
        setStatus(s);
        if (s === 'stale') { wasStale.current = true; dispatch({ type: 'disconnected' }); }
      },
    });
    live.start();
    return () => live.stop();
  }, [p.session.token]);

  // A new urgent alarm sounds (unless silenced for now) and is announced to screen readers.
  useEffect(() => {
    const fresh = prev.current.synced || prev.current.epoch ? newlyRaised(prev.current, state) : [];
    prev.current = state;
    if (status === 'live' && wasStale.current) {
      wasStale.current = false;
      setNotice(t('reconnected'));
      setTimeout(() => setNotice(null), 5000);
    }
    if (fresh.length === 0) return;
    if (fresh.some((x) => x.priority <= SOUND_PRIORITY) && Date.now() >= silencedUntil) playAlert();
    const a = fresh[0] as Alarm;
    // The resident is read first, so the announcement names them.
    void residentFor(a).then((r) => {
      setAnnouncement(t('newAlarm', { type: alarmTypeLabel(p.lang, a.type), resident: r?.name ?? '', address: r?.address ?? '' }));
    });
  }, [state]);

  const list = useMemo(() => queue(state), [state]);
  // Every alarm in the queue shows its resident.
  useEffect(() => { for (const a of list) void residentFor(a); }, [list]);
  const open = openId ? state.alarms.get(openId) ?? null : null;

  async function claim(id: string) {
    try {
      await p.api.acknowledge(id);
      setOpenId(id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        const holder = (err.body as { alarm?: Alarm } | null)?.alarm?.acknowledgedBy?.name ?? '';
        setNotice(t('alarmClaimedElsewhere', { name: holder }));
        setTimeout(() => setNotice(null), 5000);
      }
    }
  }

  function onKey(e: KeyboardEvent) {
    const target = e.target as HTMLElement;
    if (['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) return;
    const idx = list.findIndex((a) => a.id === selectedId);
    const focusRow = (i: number) => {
      const a = list[Math.max(0, Math.min(list.length - 1, i))];
      if (!a) return;
      setSelectedId(a.id);
      document.querySelector<HTMLElement>(`[data-alarm-id="${a.id}"]`)?.focus();
    };
    if (e.key === 'ArrowDown') { e.preventDefault(); focusRow(idx + 1); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); focusRow(idx - 1); }
    else if (e.key === 'Enter' && selectedId) { setOpenId(selectedId); }
    else if (e.key.toLowerCase() === CLAIM_KEY[p.lang] && selectedId) { void claim(selectedId); }
  }

  const residentName = (id: string | null) => (id ? residents.get(id)?.name ?? t('unknownResident') : '');
  const residentAddress = (id: string | null) => (id ? residents.get(id)?.address ?? '' : '');
  const tenantName = (id: string) => tenants.get(id) ?? id;
  const stale = status !== 'live';

  return html`
    <div class="operator" onKeyDown=${onKey}>
      ${stale ? html`<div class="banner stale" role="alert" data-testid="stale-banner">⚠ ${t('staleBanner')}</div>` : null}
      ${notice ? html`<div class="banner notice" role="status" data-testid="notice">${notice}</div>` : null}
      <div class="sr-only" aria-live="assertive" data-testid="announcer">${announcement}</div>
      <div class="toolbar">
        <div role="tablist">
          <button role="tab" aria-selected=${tab === 'queue'} onClick=${() => setTab('queue')}>${t('queue')} (${list.length})</button>
          <button role="tab" aria-selected=${tab === 'resolved'} data-testid="tab-resolved" onClick=${() => setTab('resolved')}>${t('resolved')}</button>
        </div>
        <span class=${`live-dot ${stale ? 'off' : 'on'}`} data-testid="live-status">${stale ? '○' : '●'} ${stale ? t('offline') : t('live')}</span>
        <span class="sound">
          ${now < silencedUntil
            ? html`<span data-testid="silenced">${t('silencedUntil', { time: formatTime(new Date(silencedUntil).toISOString(), p.lang) })}</span>
                   <button class="ghost" onClick=${() => setSilencedUntil(0)}>${t('soundOn')}</button>`
            : SILENCE_MINUTES.map((m) => html`<button class="ghost" data-testid=${`silence-${m}`} onClick=${() => setSilencedUntil(Date.now() + m * 60_000)}>${t('silenceFor', { m })}</button>`)}
        </span>
        <span class="muted hint">${t('shortcuts')}</span>
      </div>
      <div class="columns">
        <div class="left">
          ${tab === 'queue'
            ? html`<${Queue} lang=${p.lang} alarms=${list} now=${now} me=${me} selectedId=${selectedId}
                residentName=${residentName} residentAddress=${residentAddress} tenantName=${tenantName}
                onSelect=${setSelectedId} onOpen=${setOpenId} onClaim=${claim} />`
            : html`<${ResolvedList} lang=${p.lang} api=${p.api} residentName=${residentName} residentFor=${residentFor} tenantName=${tenantName} now=${now} />`}
        </div>
        <div class="right">
          ${open
            ? html`<${AlarmDetail} key=${open.id} lang=${p.lang} api=${p.api} alarm=${open} me=${me} config=${p.config}
                canEditResident=${['technician', 'admin'].includes(p.session.user.role)} tenantName=${tenantName}
                onClaim=${claim} onClose=${() => setOpenId(null)}
                onResidentSaved=${(r: Resident) => setResidents(new Map(residents).set(r.id, r))} />`
            : html`<p class="muted placeholder">${t('selectAlarm')}</p>`}
        </div>
      </div>
    </div>`;
}

function ResolvedList(p: { lang: Lang; api: Api; now: number; residentName(id: string | null): string; residentFor(a: Alarm): Promise<Resident | null>; tenantName(id: string): string }) {
  const t = (k: Key) => translate(p.lang, k);
  const [alarms, setAlarms] = useState<Alarm[]>([]);
  const [query, setQuery] = useState('');
  useEffect(() => {
    p.api.resolvedSince(new Date(Date.now() - 24 * 3600_000)).then((list) => {
      setAlarms(list);
      for (const a of list) void p.residentFor(a);
    }, () => setAlarms([]));
  }, []);
  const q = query.trim().toLowerCase();
  const shown = alarms.filter((a) => !q || [p.residentName(a.residentId), alarmTypeLabel(p.lang, a.type), a.type, a.resolution?.note ?? '', a.resolvedBy?.name ?? '']
    .some((s) => s.toLowerCase().includes(q)));
  return html`
    <div data-testid="resolved-list">
      <label class="search">${t('search')} <input type="search" data-testid="resolved-search" placeholder=${t('searchPlaceholder')} value=${query}
        onInput=${(e: Event) => setQuery((e.target as HTMLInputElement).value)} /></label>
      <table class="queue">
        <tbody>
          ${shown.map((a) => html`
            <tr data-testid="resolved-row" key=${a.id}>
              <td><span class=${`prio p${a.priority}`}>P${a.priority}</span></td>
              <td><strong>${alarmTypeLabel(p.lang, a.type)}</strong><div class="muted">${p.tenantName(a.tenantId)}</div></td>
              <td>${p.residentName(a.residentId)}</td>
              <td>${a.resolution ? translate(p.lang, `reason_${a.resolution.reason}` as Key) : ''}<div class="muted">${a.resolution?.note}</div></td>
              <td>${a.resolvedAt ? formatTime(a.resolvedAt, p.lang) : ''}<div class="muted">${a.resolvedBy?.name} · ${a.resolvedAt ? formatAge(Date.parse(a.resolvedAt) - Date.parse(a.createdAt), p.lang) : ''}</div></td>
            </tr>`)}
        </tbody>
      </table>
    </div>`;
}

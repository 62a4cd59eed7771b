/**
 * The dashboard's entry: sign-in, language, and the operator's panel.
 */
import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Api, ApiError, type DashboardConfig, type Session } from './data/api.ts';
import { type Key, type Lang, LANGUAGES, translate } from './lib/i18n.ts';
import { OperatorPanel } from './panels/operator/OperatorPanel.ts';
import { TechnicianPanel } from './panels/technician/TechnicianPanel.ts';
import { StatsPanel } from './panels/leader/StatsPanel.ts';

type View = 'queue' | 'fleet' | 'stats';
/** The views a role may use, the first being where it lands. */
const VIEWS: Record<string, readonly View[]> = { operator: ['queue'], technician: ['fleet', 'queue'], admin: ['queue', 'fleet', 'stats'], leader: ['stats'] };
const VIEW_LABEL: Record<View, Key> = { queue: 'viewQueue', fleet: 'viewFleet', stats: 'viewStats' };
import './styles.css';

const SESSION_KEY = 'velferd.session';
const LANG_KEY = 'velferd.lang';

function storedSession(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
    return s && Date.parse(s.expiresAt) > Date.now() ? s : null;
  } catch {
    return null;
  }
}

function Login(p: { lang: Lang; api: Api; ended: boolean; onSession(s: Session): void }) {
  const t = (k: Key) => translate(p.lang, k);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  async function submit(e: Event) {
    e.preventDefault();
    try {
      p.onSession(await p.api.login(username, password));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? t('wrongLogin') : String(err));
    }
  }
  return html`
    <form class="login card" data-testid="login" onSubmit=${submit}>
      <h1>${t('appTitle')}</h1>
      ${p.ended ? html`<p class="banner notice" role="status" data-testid="session-ended">${t('sessionEnded')}</p>` : null}
      <label>${t('username')} <input name="username" autocomplete="username" value=${username} onInput=${(e: Event) => setUsername((e.target as HTMLInputElement).value)} required /></label>
      <label>${t('password')} <input name="password" type="password" autocomplete="current-password" value=${password} onInput=${(e: Event) => setPassword((e.target as HTMLInputElement).value)} required /></label>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <button type="submit" class="primary">${t('signIn')}</button>
    </form>`;
}

/** A password someone else set (generated, reset) is changed before anything else. */
function ChangePassword(p: { lang: Lang; api: Api; onDone(): void }) {
  const t = (k: Key) => translate(p.lang, k);
  const [f, setF] = useState({ current: '', next: '', repeat: '' });
  const [error, setError] = useState<string | null>(null);
  async function submit(e: Event) {
    e.preventDefault();
    if (f.next !== f.repeat) { setError(t('passwordsDiffer')); return; }
    try {
      await p.api.changePassword(f.current, f.next);
      p.onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }
  const field = (k: keyof typeof f, label: Key, autocomplete: string) => html`
    <label>${t(label)} <input type="password" name=${k} autocomplete=${autocomplete} required value=${f[k]} onInput=${(e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value })} /></label>`;
  return html`
    <form class="login card" data-testid="change-password" onSubmit=${submit}>
      <h1>${t('changePasswordTitle')}</h1>
      <p>${t('changePasswordWhy')}</p>
      ${field('current', 'currentPassword', 'current-password')}${field('next', 'newPassword', 'new-password')}${field('repeat', 'repeatPassword', 'new-password')}
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <button type="submit" class="primary">${t('changePassword')}</button>
    </form>`;
}

function App() {
  const [lang, setLang] = useState<Lang>((localStorage.getItem(LANG_KEY) as Lang | null) ?? 'nb');
  const [session, setSession] = useState<Session | null>(storedSession());
  const [config, setConfig] = useState<DashboardConfig | null>(null);
  const [ended, setEnded] = useState(false);
  const views = VIEWS[session?.user.role ?? ''] ?? [];
  const [view, setView] = useState<View | null>(null);
  const current = view && views.includes(view) ? view : views[0] ?? null;
  const [api] = useState(() => new Api(session?.token ?? null));
  useEffect(() => {
    document.documentElement.lang = lang;
    localStorage.setItem(LANG_KEY, lang);
  }, [lang]);
  useEffect(() => { api.config().then(setConfig, () => setConfig({ mapTileUrl: '', mapAttribution: '', mqttPort: 1883 })); }, []);

  function signIn(s: Session) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
    api.setToken(s.token);
    setSession(s);
  }
  function forget() {
    sessionStorage.removeItem(SESSION_KEY);
    api.setToken(null);
    setSession(null);
  }
  function signOut() {
    api.logout().catch(() => { /* the session is dropped here either way */ });
    setEnded(false);
    forget();
  }
  /** The hub ended the session (signed out elsewhere, expired, disabled): say so at the sign-in. */
  function sessionEnded() {
    setEnded(true);
    forget();
  }
  const t = (k: Key) => translate(lang, k);
  return html`
    <header class="top">
      <strong>${t('appTitle')}</strong>
      <span class="spacer"></span>
      <label>${t('language')}
        <select data-testid="language" value=${lang} onChange=${(e: Event) => setLang((e.target as HTMLSelectElement).value as Lang)}>
          ${LANGUAGES.map((l) => html`<option value=${l}>${l === 'nb' ? 'Norsk bokmål' : 'English'}</option>`)}
        </select>
      </label>
      ${session && views.length > 1 ? html`
        <div class="views" role="group" aria-label=${t('views')}>
          ${views.map((v) => html`<button type="button" class=${current === v ? 'selected' : 'ghost'} aria-pressed=${current === v} data-testid=${`view-${v}`}
            onClick=${() => { setView(v); if (v === 'fleet' && !location.hash) location.hash = '#/fleet'; }}>${t(VIEW_LABEL[v])}</button>`)}
        </div>` : null}
      ${session ? html`<span data-testid="whoami">${session.user.username}</span> <button class="ghost" onClick=${signOut}>${t('signOut')}</button>` : null}
    </header>
    <main>
      ${session?.user.mustChangePassword
        ? html`<${ChangePassword} lang=${lang} api=${api} onDone=${() => signIn({ ...session, user: { ...session.user, mustChangePassword: false } })} />`
        : session && config
        ? current === 'queue'
          ? html`<${OperatorPanel} lang=${lang} api=${api} session=${session} config=${config} onSessionEnded=${sessionEnded} />`
          : current === 'fleet'
            ? html`<${TechnicianPanel} lang=${lang} api=${api} config=${config} />`
            : current === 'stats'
              ? html`<${StatsPanel} lang=${lang} api=${api} />`
              : null
        : session ? null : html`<${Login} lang=${lang} api=${api} ended=${ended} onSession=${(s: Session) => { setEnded(false); signIn(s); }} />`}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app') as HTMLElement);

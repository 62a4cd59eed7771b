/**
 * The technician's workspace: the fleet, one device's page, registering one device and
 * importing many. Pages are addressed by the URL's hash (#/fleet, #/devices/{id}, #/register,
 * #/import), so the browser's back button and links work.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import type { Api, DashboardConfig, FleetQuery, Tenant } from '../../data/api.ts';
import { type Key, type Lang, translate } from '../../lib/i18n.ts';
import { DeviceView } from './DeviceView.ts';
import { FIRST_PAGE, Fleet } from './Fleet.ts';
import { Import } from './Import.ts';
import { Register } from './Register.ts';

type Route = { page: 'fleet' } | { page: 'device'; id: string } | { page: 'register' } | { page: 'import' };

export function routeOf(hash: string): Route {
  const m = /^#\/devices\/([^/?#]+)$/.exec(hash);
  if (m?.[1]) return { page: 'device', id: decodeURIComponent(m[1]) };
  if (hash === '#/register') return { page: 'register' };
  if (hash === '#/import') return { page: 'import' };
  return { page: 'fleet' };
}

export function TechnicianPanel(p: { lang: Lang; api: Api; config: DashboardConfig }) {
  const t = (k: Key) => translate(p.lang, k);
  const [route, setRoute] = useState<Route>(routeOf(location.hash));
  const [tenants, setTenants] = useState<Tenant[]>([]);
  const [query, setQuery] = useState<FleetQuery>(FIRST_PAGE);
  useEffect(() => {
    const on = () => setRoute(routeOf(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  useEffect(() => { p.api.tenants().then(setTenants, () => setTenants([])); }, []);
  const tab = (page: Route['page'], href: string, label: Key, testid: string) => html`
    <a role="tab" href=${href} class="tab" aria-selected=${route.page === page} data-testid=${testid}>${t(label)}</a>`;
  const tenantName = (id: string) => tenants.find((x) => x.id === id)?.name ?? id;
  return html`
    <div class="technician" data-testid="technician">
      <nav class="toolbar no-print" aria-label=${t('viewFleet')}>
        <div role="tablist">
          ${tab('fleet', '#/fleet', 'tabFleet', 'tab-fleet')}
          ${tab('register', '#/register', 'tabRegister', 'tab-register')}
          ${tab('import', '#/import', 'tabImport', 'tab-import')}
        </div>
      </nav>
      ${route.page === 'fleet' ? html`<${Fleet} lang=${p.lang} api=${p.api} tenants=${tenants} query=${query} onQuery=${setQuery} />` : null}
      ${route.page === 'device' ? html`<${DeviceView} key=${route.id} lang=${p.lang} api=${p.api} id=${route.id} mqttPort=${p.config.mqttPort} tenantName=${tenantName} />` : null}
      ${route.page === 'register' ? (tenants.length > 0 ? html`<${Register} lang=${p.lang} api=${p.api} tenants=${tenants} mqttPort=${p.config.mqttPort} />` : null) : null}
      ${route.page === 'import' ? html`<${Import} lang=${p.lang} api=${p.api} mqttPort=${p.config.mqttPort} />` : null}
    </div>`;
}

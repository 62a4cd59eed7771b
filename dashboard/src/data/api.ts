/**
 * The hub's HTTP API, typed by the hub's own schemas. The only way the dashboard reads or
 * changes anything besides the live channel.
 */
import type { Alarm, Transition } from '../../../hub/core/alarms.ts';
import type { DeviceEvent } from '../../../hub/core/events.ts';
import type { DeviceTest } from '../../../hub/core/chain-test.ts';
import type { DeviceState, FleetSummary } from '../../../hub/core/fleet.ts';
import type { ImportError } from '../../../hub/core/import.ts';
import type { StatsSummary } from '../../../hub/core/stats.ts';
import type { Device, NewDevice, Resident, ResidentUpdate, Tenant } from '../../../hub/core/model.ts';

export type { StatsSummary };
export type { Alarm, Device, DeviceState, DeviceTest, FleetSummary, ImportError, Resident, Tenant, Transition };
export type Credentials = { username: string; password: string };
export type CreatedDevice = { line?: number; id: string; serial: string; kind: Device['kind']; tenantId: string; residentId: string | null; mqtt: Credentials };
export type ImportRow = { line: number; tenantId: string; kind: Device['kind']; serial: string; residentId?: string; heartbeatIntervalSeconds?: number };
export type ImportResult = { preview?: ImportRow[]; created: CreatedDevice[]; errors: ImportError[] };
export type DeviceChanges = { credentialRotations: { at: string; by: string }[]; assignments: { at: string; from: string | null; to: string | null; by: string }[] };
export type StatsPeriodQuery = { tenantId: string; period?: string; from?: string; to?: string };
export type SeriesResult = { tenantId: string; metric: string; interval: string; from: string; to: string; keys: string[]; buckets: { start: string; end: string; values: Record<string, number | null> }[] };
export type FleetQuery = { tenantId?: string; kind?: string; state?: DeviceState | ''; q?: string; limit: number; offset: number };
export type AlarmDetail = Alarm & { events: { receivedAt: string; event: DeviceEvent }[]; transitions: Transition[] };
export type Session = { token: string; expiresAt: string; user: { username: string; role: string; tenantIds: string[]; allTenants?: boolean; mustChangePassword?: boolean } };
export type DashboardConfig = { mapTileUrl: string; mapAttribution: string; mqttPort: number; mqttTls?: boolean };

export class ApiError extends Error {
  constructor(public readonly status: number, message: string, public readonly body: unknown) {
    super(message);
  }
}

export class Api {
  constructor(private token: string | null = null) {}

  setToken(token: string | null): void {
    this.token = token;
  }

  private async call<T>(method: string, path: string, body?: unknown, csv?: string): Promise<T> {
    return (await this.send<T>(method, path, body, csv)).data;
  }

  private async send<T>(method: string, path: string, body?: unknown, csv?: string): Promise<{ data: T; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (csv !== undefined) headers['content-type'] = 'text/csv; charset=utf-8';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(path, { method, headers, body: csv ?? (body === undefined ? undefined : JSON.stringify(body)) });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new ApiError(res.status, (data as { message?: string } | null)?.message ?? res.statusText, data);
    return { data: data as T, headers: res.headers };
  }

  login(username: string, password: string) { return this.call<Session>('POST', '/api/auth/login', { username, password }); }
  logout() { return this.call<null>('POST', '/api/auth/logout'); }
  changePassword(currentPassword: string, newPassword: string) { return this.call<null>('POST', '/api/auth/password', { currentPassword, newPassword }); }
  liveTicket() { return this.call<{ ticket: string; expiresAt: string }>('POST', '/api/live/ticket'); }
  config() { return this.call<DashboardConfig>('GET', '/api/dashboard-config'); }
  tenants() { return this.call<Tenant[]>('GET', '/api/tenants'); }
  residents() { return this.call<Resident[]>('GET', '/api/residents'); }
  resident(id: string, reason: string) { return this.call<Resident>('GET', `/api/residents/${encodeURIComponent(id)}?reason=${encodeURIComponent(reason)}`); }
  updateResident(id: string, body: ResidentUpdate) { return this.call<Resident>('PUT', `/api/residents/${encodeURIComponent(id)}`, body); }
  /** A device; `reason` goes to the access log (the alarm being handled, the technician's work). */
  device(id: string, reason: string) { return this.call<Device>('GET', `/api/devices/${encodeURIComponent(id)}?reason=${encodeURIComponent(reason)}`); }
  alarm(id: string) { return this.call<AlarmDetail>('GET', `/api/alarms/${encodeURIComponent(id)}`); }
  resolvedSince(since: Date) { return this.call<Alarm[]>('GET', `/api/alarms?state=resolved&since=${encodeURIComponent(since.toISOString())}&limit=500`); }
  acknowledge(id: string) { return this.call<Alarm>('POST', `/api/alarms/${encodeURIComponent(id)}/acknowledge`); }
  resolve(id: string, reason: string, note: string) { return this.call<Alarm>('POST', `/api/alarms/${encodeURIComponent(id)}/resolve`, { reason, note }); }

  // The leaders' statistics
  private statsQuery(q: StatsPeriodQuery, extra: Record<string, string> = {}): string {
    const params = new URLSearchParams({ tenantId: q.tenantId, ...extra });
    if (q.period) params.set('period', q.period);
    else { params.set('from', q.from ?? ''); params.set('to', q.to ?? ''); }
    return params.toString();
  }
  statsSummary(q: StatsPeriodQuery) { return this.call<StatsSummary>('GET', `/api/stats/summary?${this.statsQuery(q)}`); }
  statsSeries(q: StatsPeriodQuery, metric: string, interval: string) { return this.call<SeriesResult>('GET', `/api/stats/series?${this.statsQuery(q, { metric, interval })}`); }
  /** A CSV export as a file to save (the bearer token cannot ride on a plain link). */
  async statsCsv(kind: 'summary' | 'series', q: StatsPeriodQuery, extra: Record<string, string> = {}): Promise<Blob> {
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    const res = await fetch(`/api/stats/${kind}.csv?${this.statsQuery(q, extra)}`, { headers });
    if (!res.ok) throw new ApiError(res.status, res.statusText, null);
    return res.blob();
  }

  // The technician's workspace
  async fleet(q: FleetQuery): Promise<{ devices: Device[]; total: number }> {
    const params = new URLSearchParams({ limit: String(q.limit), offset: String(q.offset) });
    for (const k of ['tenantId', 'kind', 'state', 'q'] as const) if (q[k]) params.set(k, String(q[k]));
    if (q.state === 'decommissioned') params.set('includeDecommissioned', 'true');
    const r = await this.send<Device[]>('GET', `/api/devices?${params}`);
    return { devices: r.data, total: Number(r.headers.get('x-total-count') ?? r.data.length) };
  }
  fleetSummary() { return this.call<FleetSummary[]>('GET', '/api/devices/summary'); }
  residentsOf(tenantId: string) { return this.call<Resident[]>('GET', `/api/residents?tenantId=${encodeURIComponent(tenantId)}`); }
  registerDevice(body: NewDevice) { return this.call<{ id: string; kind: Device['kind']; tenantId: string; mqtt: Credentials }>('POST', '/api/devices', body); }
  importDevices(csv: string, dryRun: boolean) { return this.call<ImportResult>('POST', `/api/devices/import?dryRun=${dryRun}`, undefined, csv); }
  rotateCredentials(id: string) { return this.call<{ id: string; mqtt: Credentials }>('POST', `/api/devices/${encodeURIComponent(id)}/credentials`); }
  deviceChanges(id: string) { return this.call<DeviceChanges>('GET', `/api/devices/${encodeURIComponent(id)}/changes`); }
  deviceEvents(id: string, reason: string) { return this.call<{ receivedAt: string | null; event: DeviceEvent }[]>('GET', `/api/devices/${encodeURIComponent(id)}/events?limit=50&reason=${encodeURIComponent(reason)}`); }
  deviceAlarms(id: string) { return this.call<Alarm[]>('GET', `/api/alarms?deviceId=${encodeURIComponent(id)}&limit=50`); }
  deviceTests(id: string) { return this.call<DeviceTest[]>('GET', `/api/devices/${encodeURIComponent(id)}/tests`); }
  startTest(id: string) { return this.call<DeviceTest>('POST', `/api/devices/${encodeURIComponent(id)}/tests`); }
  assign(id: string, residentId: string | null) { return this.call<Device>('PUT', `/api/devices/${encodeURIComponent(id)}/resident`, { residentId }); }
  setMaintenance(id: string, until: string, note: string) { return this.call<Device>('PUT', `/api/devices/${encodeURIComponent(id)}/maintenance`, { until, ...(note ? { note } : {}) }); }
  endMaintenance(id: string) { return this.call<Device>('DELETE', `/api/devices/${encodeURIComponent(id)}/maintenance`); }
  decommission(id: string) { return this.call<Device>('DELETE', `/api/devices/${encodeURIComponent(id)}`); }
}

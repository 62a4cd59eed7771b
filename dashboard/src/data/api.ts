/**
 * The hub's HTTP API, typed by the hub's own schemas. The only way the dashboard reads or
 * changes anything besides the live channel.
 */
import type { Alarm, Transition } from '../../../hub/core/alarms.ts';
import type { DeviceEvent } from '../../../hub/core/events.ts';
import type { Device, Resident, ResidentUpdate, Tenant } from '../../../hub/core/model.ts';

export type { Alarm, Device, Resident, Tenant, Transition };
export type AlarmDetail = Alarm & { events: { receivedAt: string; event: DeviceEvent }[]; transitions: Transition[] };
export type Session = { token: string; expiresAt: string; user: { username: string; role: string; tenantIds: string[] } };
export type DashboardConfig = { mapTileUrl: string; mapAttribution: string };

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

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new ApiError(res.status, (data as { message?: string } | null)?.message ?? res.statusText, data);
    return data as T;
  }

  login(username: string, password: string) { return this.call<Session>('POST', '/api/auth/login', { username, password }); }
  logout() { return this.call<null>('POST', '/api/auth/logout'); }
  liveTicket() { return this.call<{ ticket: string; expiresAt: string }>('POST', '/api/live/ticket'); }
  config() { return this.call<DashboardConfig>('GET', '/api/dashboard-config'); }
  tenants() { return this.call<Tenant[]>('GET', '/api/tenants'); }
  residents() { return this.call<Resident[]>('GET', '/api/residents'); }
  resident(id: string, reason: string) { return this.call<Resident>('GET', `/api/residents/${encodeURIComponent(id)}?reason=${encodeURIComponent(reason)}`); }
  updateResident(id: string, body: ResidentUpdate) { return this.call<Resident>('PUT', `/api/residents/${encodeURIComponent(id)}`, body); }
  device(id: string) { return this.call<Device>('GET', `/api/devices/${encodeURIComponent(id)}`); }
  alarm(id: string) { return this.call<AlarmDetail>('GET', `/api/alarms/${encodeURIComponent(id)}`); }
  resolvedSince(since: Date) { return this.call<Alarm[]>('GET', `/api/alarms?state=resolved&since=${encodeURIComponent(since.toISOString())}&limit=500`); }
  acknowledge(id: string) { return this.call<Alarm>('POST', `/api/alarms/${encodeURIComponent(id)}/acknowledge`); }
  resolve(id: string, reason: string, note: string) { return this.call<Alarm>('POST', `/api/alarms/${encodeURIComponent(id)}/resolve`, { reason, note }); }
}

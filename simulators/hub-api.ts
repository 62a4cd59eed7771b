/**
 * The few calls of the hub's HTTP API a simulator needs, as a technician or administrator would
 * make them. Errors carry the hub's message.
 */
import type { DeviceKind } from '../hub/core/events.ts';
import { IMPORT_COLUMNS, MAX_IMPORT_ROWS } from '../hub/core/import.ts';
import type { Device, NewDevice, NewResident, Resident } from '../hub/core/model.ts';

export class HubApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class HubApi {
  private token: string | null = null;

  constructor(readonly url: string) {}

  /** A body is sent as JSON, or as it is with another content type (text/csv for the device import). */
  async call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = contentType;
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(`${this.url}${path}`, { method, headers, body: body === undefined ? undefined : contentType === 'application/json' ? JSON.stringify(body) : String(body) });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new HubApiError(res.status, `${method} ${path}: ${res.status} ${(data as { message?: string } | null)?.message ?? ''}`);
    return data as T;
  }

  async login(username: string, password: string): Promise<void> {
    this.token = null;
    this.token = (await this.call<{ token: string }>('POST', '/api/auth/login', { username, password })).token;
  }

  /** Creates the municipality unless it exists. */
  async ensureTenant(id: string, name: string): Promise<void> {
    try {
      await this.call('POST', '/api/tenants', { id, name });
    } catch (err) {
      if (!(err instanceof HubApiError && err.status === 409)) throw err;
    }
  }

  /** Creates a user unless the name is taken. */
  async ensureUser(username: string, password: string, role: string, tenantIds: string[]): Promise<void> {
    try {
      await this.call('POST', '/api/users', { username, password, role, tenantIds });
    } catch (err) {
      if (!(err instanceof HubApiError && err.status === 409)) throw err;
    }
  }

  residents(tenantId: string) { return this.call<Resident[]>('GET', `/api/residents?tenantId=${tenantId}`); }
  createResident(r: NewResident) { return this.call<{ id: string }>('POST', '/api/residents', r); }
  devices(tenantId: string) { return this.call<Device[]>('GET', `/api/devices?tenantId=${tenantId}`); }
  /** Registers `count` devices of one kind by CSV import, as many per request as it takes; their MQTT credentials in order. */
  async importDevices(tenantId: string, kind: DeviceKind, count: number, serialPrefix: string, heartbeatIntervalSeconds = 3600): Promise<{ id: string; password: string }[]> {
    const creds: { id: string; password: string }[] = [];
    for (let from = 0; from < count; from += MAX_IMPORT_ROWS) {
      const rows = Array.from({ length: Math.min(MAX_IMPORT_ROWS, count - from) }, (_, k) => `${tenantId},${kind},${serialPrefix}-${from + k},,${heartbeatIntervalSeconds}`);
      const res = await this.call<{ created: { mqtt: { username: string; password: string } }[] }>('POST', '/api/devices/import', `${IMPORT_COLUMNS.join(',')}\n${rows.join('\n')}\n`, 'text/csv');
      for (const c of res.created) creds.push({ id: c.mqtt.username, password: c.mqtt.password });
    }
    return creds;
  }

  createDevice(d: NewDevice) { return this.call<{ id: string; heartbeatIntervalSeconds: number; mqtt: { username: string; password: string } }>('POST', '/api/devices', d); }
}

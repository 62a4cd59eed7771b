/**
 * The few calls of the hub's HTTP API a simulator needs, as a technician or administrator would
 * make them. Errors carry the hub's message.
 */
import type { Device, NewDevice, NewResident, Resident } from '../hub/core/model.ts';

export class HubApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class HubApi {
  private token: string | null = null;

  constructor(readonly url: string) {}

  /** A JSON body, or `{ csv }` sent as text/csv (the device import). */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    const csv = (body as { csv?: unknown } | undefined)?.csv;
    if (body !== undefined) headers['content-type'] = typeof csv === 'string' ? 'text/csv' : 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(`${this.url}${path}`, { method, headers, body: body === undefined ? undefined : typeof csv === 'string' ? csv : JSON.stringify(body) });
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
  createDevice(d: NewDevice) { return this.call<{ id: string; heartbeatIntervalSeconds: number; mqtt: { username: string; password: string } }>('POST', '/api/devices', d); }
}

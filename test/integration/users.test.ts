/**
 * People and their sessions: password rules, hashes made again at sign-in, the generated first
 * password changed at once, users disabled, moved and reset by an administrator of their
 * municipalities (sessions and live sockets ending at once), and sessions that end when idle.
 */
import { scryptSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { GuessLimit } from '../../hub/api/routes/system.ts';
import { CLOSE_PERMISSIONS_CHANGED, CLOSE_SESSION_ENDED } from '../../hub/live/live.ts';
import { apiClient, registerDevice, startTestHub, tempDir, TestClock, type TestHub } from '../helpers/hub.ts';
import { connectLive } from '../helpers/live.ts';

const PASSWORD = 'Nattevakt-Kaffe-7';
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function login(t: TestHub, username: string, password = PASSWORD) {
  return t.api('POST', '/api/auth/login', { username, password }, null);
}

describe('passwords', () => {
  it('must be long enough, not among the most common, and not hold the user name', async () => {
    const t = await startTestHub();
    await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
    const make = (username: string, password: string) => t.api('POST', '/api/users', { username, password, role: 'operator', tenantIds: ['0301'] });
    for (const [password, why] of [['kort-1', 'at least 10'], ['password123', 'most common'], ['1qaz2wsx3edc', 'most common'], ['Sommer2024!!', 'most common'], ['kari-hansen-natt', 'user name']]) {
      const r = await make('kari-hansen', password as string);
      expect(r.status, password).toBe(400);
      expect(r.body.message, password).toContain(why);
    }
    expect((await make('kari-hansen', PASSWORD)).status).toBe(201);
    await t.close();
  });

  it('are hashed again at sign-in when the cost changed, from the older format too', async () => {
    const dataDir = tempDir('hub-rehash-');
    dirs.push(dataDir);
    let t = await startTestHub({ dataDir });
    await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
    const u = (await t.api('POST', '/api/users', { username: 'ola', password: PASSWORD, role: 'operator', tenantIds: ['0301'] })).body;
    const hashOf = (id: string) => t.hub.ctx.users.passwordHash(id) as string;
    expect(hashOf(u.id)).toMatch(/^scrypt\$12\$8\$1\$/);
    // A hash in the format before the parameters were kept with it (Node's defaults: N = 2^14).
    const salt = Buffer.from('0123456789abcdef');
    const legacy = `scrypt$${salt.toString('base64')}$${scryptSync('Gammelt-Passord-9', salt, 32).toString('base64')}`;
    const old = (await t.api('POST', '/api/users', { username: 'per', password: PASSWORD, role: 'operator', tenantIds: ['0301'] })).body;
    t.hub.ctx.users.setPassword(old.id, legacy, false);
    await t.close({ keepData: true });

    t = await startTestHub({ dataDir, config: { people: { scrypt: { logN: 13, r: 8, p: 1 }, minPasswordLength: 10, session: { maxMs: 3_600_000, idleMs: 3_600_000 } } } });
    expect((await login(t, 'ola')).status).toBe(200);
    expect(hashOf(u.id)).toMatch(/^scrypt\$13\$8\$1\$/);
    expect((await login(t, 'per', 'Gammelt-Passord-9')).status).toBe(200);
    expect(hashOf(old.id)).toMatch(/^scrypt\$13\$8\$1\$/);
    expect((await login(t, 'per', 'Gammelt-Passord-9')).status).toBe(200);
    expect((await login(t, 'per', 'feil-passord-12')).status).toBe(401);
    await t.close({ keepData: true });
  });

  it('limits failed sign-ins per user name from every address together', () => {
    const g = new GuessLimit(3, 60_000);
    for (let i = 0; i < 3; i++) g.failed('Kari', 1000 + i);
    expect(g.blocked('kari', 2000)).toBe(true);
    expect(g.blocked('ola', 2000)).toBe(false);
    expect(g.blocked('kari', 62_000)).toBe(false);
  });
});

describe('the first administrator', () => {
  it('must change a generated password before doing anything else', async () => {
    const t = await startTestHub({ config: { adminPassword: null } });
    const generated = t.hub.generatedAdminPassword as string;
    const first = await login(t, 'admin', generated);
    expect(first.body.user).toMatchObject({ role: 'admin', allTenants: true, mustChangePassword: true });
    const as = apiClient(t.httpUrl, () => first.body.token);
    const refused = await as('GET', '/api/tenants');
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain('change your password');
    expect((await as('POST', '/api/auth/password', { currentPassword: generated, newPassword: 'admin12345678' })).status).toBe(400);
    expect((await as('POST', '/api/auth/password', { currentPassword: 'wrong', newPassword: 'Fjellvann-Og-Lyng-4' })).status).toBe(400);
    expect((await as('POST', '/api/auth/password', { currentPassword: generated, newPassword: 'Fjellvann-Og-Lyng-4' })).status).toBe(204);
    expect((await as('GET', '/api/tenants')).status).toBe(200);
    expect((await login(t, 'admin', generated)).status).toBe(401);
    expect((await login(t, 'admin', 'Fjellvann-Og-Lyng-4')).body.user.mustChangePassword).toBe(false);
    await t.close();
  });
});

describe('an administrator of some municipalities', () => {
  it('manages only their users: lists, disables (sessions and live sockets end at once), moves, resets', async () => {
    const t = await startTestHub({ config: { live: { pingIntervalMs: 15_000, maxBufferedBytes: 1024 * 1024, sessionCheckMs: 200 } } });
    for (const [id, name] of [['0301', 'Oslo'], ['4601', 'Bergen']]) await t.api('POST', '/api/tenants', { id, name });
    await t.api('POST', '/api/users', { username: 'oslo-admin', password: PASSWORD, role: 'admin', tenantIds: ['0301'] });
    const ola = (await t.api('POST', '/api/users', { username: 'ola', password: PASSWORD, role: 'operator', tenantIds: ['0301'] })).body;
    const eva = (await t.api('POST', '/api/users', { username: 'eva', password: PASSWORD, role: 'operator', tenantIds: ['4601'] })).body;
    const admin = apiClient(t.httpUrl, () => token);
    const token = (await login(t, 'oslo-admin')).body.token;

    // Scoped: Oslo's users only; Bergen's do not exist for this administrator.
    expect((await admin('GET', '/api/users')).body.map((u: { username: string }) => u.username).sort()).toEqual(['ola', 'oslo-admin']);
    expect((await admin('PATCH', `/api/users/${eva.id}`, { disabled: true })).status).toBe(404);
    expect((await admin('POST', '/api/users', { username: 'bergen-op', password: PASSWORD, role: 'operator', tenantIds: ['4601'] })).status).toBe(403);
    expect((await admin('POST', '/api/users', { username: 'super', password: PASSWORD, role: 'admin', tenantIds: [], allTenants: true })).status).toBe(403);
    expect((await admin('PATCH', `/api/users/${ola.id}`, { tenantIds: ['0301', '4601'] })).status).toBe(403);
    const bergenDevice = await registerDevice(t.api, 'safety_alarm', '4601');
    expect((await admin('GET', `/api/devices/${bergenDevice.id}`)).status).toBe(404);

    // Disabled: the sessions and the live socket end at once; sign-in refused; enabled again, it works.
    const olaToken = (await login(t, 'ola')).body.token;
    const live = await connectLive(t.httpUrl, olaToken);
    const disabled = await admin('PATCH', `/api/users/${ola.id}`, { disabled: true });
    expect(disabled.body).toMatchObject({ disabled: true });
    expect(await live.closed).toBe(CLOSE_SESSION_ENDED);
    expect((await apiClient(t.httpUrl, () => olaToken)('GET', '/api/tenants')).status).toBe(401);
    expect((await login(t, 'ola')).status).toBe(401);
    await admin('PATCH', `/api/users/${ola.id}`, { disabled: false });
    const again = (await login(t, 'ola')).body.token;

    // A new role: the live socket closes so the client reconnects with what it may now see.
    const live2 = await connectLive(t.httpUrl, again);
    expect((await admin('PATCH', `/api/users/${ola.id}`, { role: 'technician' })).body.role).toBe('technician');
    expect(await live2.closed).toBe(CLOSE_PERMISSIONS_CHANGED);

    // A reset: a password shown once, the old one gone, sessions ended, to be changed at sign-in.
    const reset = await admin('POST', `/api/users/${ola.id}/password`);
    expect(reset.status).toBe(200);
    expect((await apiClient(t.httpUrl, () => again)('GET', '/api/tenants')).status).toBe(401);
    expect((await login(t, 'ola')).status).toBe(401);
    expect((await login(t, 'ola', reset.body.password)).body.user.mustChangePassword).toBe(true);
    // Not oneself.
    const me = (await admin('GET', '/api/users')).body.find((u: { username: string }) => u.username === 'oslo-admin');
    expect((await admin('PATCH', `/api/users/${me.id}`, { disabled: true })).status).toBe(400);
    await t.close();
  });
});

describe('sessions', () => {
  it('end after inactivity, and not while the user is active', async () => {
    const clock = new TestClock();
    const t = await startTestHub({ clock, config: { people: { scrypt: { logN: 12, r: 8, p: 1 }, minPasswordLength: 10, session: { maxMs: 12 * 3_600_000, idleMs: 10 * 60_000 } } } });
    await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
    await t.api('POST', '/api/users', { username: 'ola', password: PASSWORD, role: 'operator', tenantIds: ['0301'] });
    const busy = apiClient(t.httpUrl, () => busyToken);
    const busyToken = (await login(t, 'ola')).body.token;
    const idleToken = (await login(t, 'ola')).body.token;
    for (let i = 0; i < 4; i++) {
      clock.advance(4 * 60);
      expect((await busy('GET', '/api/tenants')).status).toBe(200);
    }
    expect((await apiClient(t.httpUrl, () => idleToken)('GET', '/api/tenants')).status).toBe(401);
    expect((await busy('GET', '/api/tenants')).status).toBe(200);
    await t.close();
  });
});

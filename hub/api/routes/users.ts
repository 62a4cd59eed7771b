/**
 * People: administrators add, list, change, disable and reset users within the municipalities
 * they serve; everyone changes their own password. Disabling a user ends their sessions and live
 * sockets at once; a new or reset password that someone else set must be changed at sign-in.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { type Principal, servesAllTenants } from '../../core/access.ts';
import { NewUserSchema, RoleSchema, TenantId, type User, UserSchema } from '../../core/model.ts';
import type { HubContext } from '../../context.ts';
import { passwordProblem } from '../../security/password-policy.ts';
import { hashPassword, randomToken, verifyPassword } from '../../security/secrets.ts';
import { principalOf, requires, signedIn } from '../auth.ts';
import { badRequest, conflict, forbidden, notFound } from '../errors.ts';

const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Password = Type.String({ minLength: 1, maxLength: 200 });

/** What these routes use of the hub. */
export type UserRouteDeps = Pick<HubContext, 'audit' | 'bus' | 'log' | 'now' | 'people' | 'tenants' | 'users'>;

export const userRoutes = (ctx: UserRouteDeps): FastifyPluginAsyncTypebox => async (app) => {
  const hash = (password: string) => hashPassword(password, ctx.people.scrypt);
  const checkPassword = (password: string, username: string) => {
    const problem = passwordProblem(password, username, ctx.people.minPasswordLength);
    if (problem) throw badRequest(`body/password: ${problem}`);
  };
  /** An administrator may act only on users and municipalities within their own reach. */
  const assertReach = (p: Principal, tenantIds: readonly string[], allTenants: boolean) => {
    if (servesAllTenants(p)) return;
    if (allTenants) throw forbidden('only an administrator of all municipalities may give all municipalities');
    const outside = tenantIds.filter((t) => !p.tenantIds.includes(t));
    if (outside.length > 0 || tenantIds.length === 0) throw forbidden(`you do not serve municipality ${outside.join(', ') || '(none given)'}`);
  };
  const visibleUser = (p: Principal, id: string): User => {
    const u = ctx.users.get(id);
    if (!u || (!servesAllTenants(p) && (u.allTenants || u.tenantIds.length === 0 || !u.tenantIds.every((t) => p.tenantIds.includes(t))))) throw notFound('user');
    return u;
  };
  const endSessions = (userId: string, reason: string) => {
    for (const sessionId of ctx.users.closeSessionsOf(userId)) ctx.bus.emit('session.ended', { sessionId, reason }, (err) => ctx.log.error({ err }, 'a session listener failed'));
  };

  app.post('/api/users', {
    onRequest: requires('users:write'),
    schema: { tags: ['users'], summary: 'Add a user with a role and the municipalities they serve', security: [{ bearer: [] }], body: NewUserSchema, response: { 201: UserSchema } },
  }, async (req, reply) => {
    const p = principalOf(req);
    const b = req.body;
    const unknown = b.tenantIds.filter((t) => !ctx.tenants.get(t));
    if (unknown.length > 0) throw badRequest(`body/tenantIds: unknown municipality ${unknown.join(', ')}`);
    if (b.allTenants && b.role !== 'admin') throw badRequest('body/allTenants: only an administrator serves all municipalities');
    if (!b.allTenants && b.tenantIds.length === 0) throw badRequest('body/tenantIds: a user must serve at least one municipality');
    assertReach(p, b.tenantIds, b.allTenants ?? false);
    checkPassword(b.password, b.username);
    const user = ctx.users.create({ ...b, passwordHash: await hash(b.password), allTenants: b.allTenants ?? false }, ctx.now());
    if (!user) throw conflict(`username ${b.username} is taken`);
    ctx.audit.record(p, { action: 'create', targetType: 'user', targetId: user.id, tenantId: null }, ctx.now());
    return reply.status(201).send(user);
  });

  app.get('/api/users', {
    onRequest: requires('users:write'),
    schema: { tags: ['users'], summary: 'The users of the municipalities you serve', security: [{ bearer: [] }], response: { 200: Type.Array(UserSchema) } },
  }, async (req) => {
    const p = principalOf(req);
    return ctx.users.list(servesAllTenants(p) ? 'all' : p.tenantIds);
  });

  app.patch('/api/users/:id', {
    onRequest: requires('users:write'),
    schema: {
      tags: ['users'], summary: 'Disable or enable a user, or change their role and municipalities; disabling ends their sessions and live sockets at once', security: [{ bearer: [] }],
      params: Params,
      body: Type.Object({
        disabled: Type.Optional(Type.Boolean()), role: Type.Optional(RoleSchema),
        tenantIds: Type.Optional(Type.Array(TenantId, { maxItems: 500, uniqueItems: true })),
      }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: UserSchema },
    },
  }, async (req) => {
    const p = principalOf(req);
    const u = visibleUser(p, req.params.id);
    const b = req.body;
    if (u.id === p.userId && (b.disabled === true || (b.role !== undefined && b.role !== 'admin'))) throw badRequest('you may not disable yourself or take away your own administration');
    const role = b.role ?? u.role;
    const tenantIds = b.tenantIds ?? u.tenantIds;
    if (b.tenantIds) {
      const unknown = b.tenantIds.filter((t) => !ctx.tenants.get(t));
      if (unknown.length > 0) throw badRequest(`body/tenantIds: unknown municipality ${unknown.join(', ')}`);
      if (!u.allTenants && b.tenantIds.length === 0) throw badRequest('body/tenantIds: a user must serve at least one municipality');
      assertReach(p, b.tenantIds, false);
    }
    const now = ctx.now();
    if (b.role !== undefined || b.tenantIds !== undefined) ctx.users.setAccess(u.id, role, tenantIds);
    if (b.disabled !== undefined) {
      ctx.users.setDisabled(u.id, b.disabled, now);
      if (b.disabled) endSessions(u.id, 'the user was disabled');
    }
    ctx.audit.record(p, { action: 'update', targetType: 'user', targetId: u.id, tenantId: null, reason: JSON.stringify(b) }, now);
    return ctx.users.get(u.id) as User;
  });

  app.post('/api/users/:id/password', {
    onRequest: requires('users:write'),
    schema: {
      tags: ['users'], summary: 'Reset a user\'s password: a new one is made and shown only here; the user must change it at sign-in, and their sessions end', security: [{ bearer: [] }],
      params: Params, response: { 200: Type.Object({ password: Type.String() }) },
    },
  }, async (req) => {
    const p = principalOf(req);
    const u = visibleUser(p, req.params.id);
    const password = randomToken(12);
    ctx.users.setPassword(u.id, await hash(password), true);
    endSessions(u.id, 'the password was reset');
    ctx.audit.record(p, { action: 'reset_password', targetType: 'user', targetId: u.id, tenantId: null }, ctx.now());
    return { password };
  });

  app.post('/api/auth/password', {
    onRequest: signedIn(),
    schema: {
      tags: ['auth'], summary: 'Change your own password (also the one you must change at first sign-in); your other sessions end', security: [{ bearer: [] }],
      body: Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false }),
      response: { 204: Type.Null() },
    },
  }, async (req, reply) => {
    const p = principalOf(req);
    const stored = ctx.users.passwordHash(p.userId);
    if (!stored || !(await verifyPassword(req.body.currentPassword, stored))) throw badRequest('body/currentPassword: not your current password');
    if (req.body.newPassword === req.body.currentPassword) throw badRequest('body/newPassword: choose a password you have not used now');
    const problem = passwordProblem(req.body.newPassword, p.username, ctx.people.minPasswordLength);
    if (problem) throw badRequest(`body/newPassword: ${problem}`);
    ctx.users.setPassword(p.userId, await hash(req.body.newPassword), false);
    // Other sessions end; this one goes on.
    for (const sessionId of ctx.users.closeSessionsOf(p.userId, p.sessionId)) {
      ctx.bus.emit('session.ended', { sessionId, reason: 'the password was changed' }, (err) => req.log.error({ err }, 'a session listener failed'));
    }
    ctx.audit.record(p, { action: 'change_password', targetType: 'user', targetId: p.userId, tenantId: null }, ctx.now());
    return reply.status(204).send(null);
  });
};

import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { hashPassword, needsRehash, randomToken, verifyPassword } from '../../security/secrets.ts';
import type { HubContext } from '../../context.ts';
import { ApiError, unauthorized } from '../errors.ts';
import { RoleSchema } from '../../core/model.ts';

/**
 * Failed sign-ins per user name from every address together: past the limit in the window, that
 * name is refused for the rest of the window, whoever tries (per address there is a limit too).
 */
export class GuessLimit {
  private readonly fails = new Map<string, number[]>();
  constructor(private readonly max = 30, private readonly windowMs = 15 * 60_000) {}
  private recent(name: string, now: number): number[] {
    const list = (this.fails.get(name) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length) this.fails.set(name, list);
    else this.fails.delete(name);
    return list;
  }
  blocked(name: string, now: number): boolean {
    return this.recent(name.toLowerCase(), now).length >= this.max;
  }
  failed(name: string, now: number): void {
    const key = name.toLowerCase();
    this.fails.set(key, [...this.recent(key, now), now]);
    if (this.fails.size > 100_000) this.fails.clear();
  }
}

/** What these routes use of the hub. */
export type SystemRouteDeps = Pick<HubContext, 'audit' | 'bus' | 'connectedDevices' | 'health' | 'ingest' | 'liveClients' | 'now' | 'people' | 'timeseries' | 'users'>;

export const systemRoutes = (ctx: SystemRouteDeps): FastifyPluginAsyncTypebox => async (app) => {
  const guesses = new GuessLimit();
  let dummyHash: Promise<string> | null = null;
  const Health = Type.Object({
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('failing')]),
    reasons: Type.Array(Type.String(), { description: 'Why the hub is not ok; empty when it is' }),
    timeseries: Type.Object({ store: Type.String(), pending: Type.Integer() }),
    connectedDevices: Type.Integer(),
    ingest: Type.Record(Type.String(), Type.Integer()),
    liveClients: Type.Integer(),
    process: Type.Object({ rssBytes: Type.Integer(), uptimeSeconds: Type.Number() }),
  });
  app.get('/api/health', {
    schema: {
      tags: ['system'],
      summary: 'The state of the hub and its pipeline: ok, degraded or failing (503), with reasons',
      response: { 200: Health, 503: Health },
    },
  }, async (_req, reply) => {
    const h = ctx.health.report();
    return reply.status(h.status === 'failing' ? 503 : 200).send({
      ...h,
      timeseries: { store: ctx.timeseries.name, pending: ctx.timeseries.pending() },
      connectedDevices: ctx.connectedDevices(),
      ingest: { ...ctx.ingest.counters },
      liveClients: ctx.liveClients(),
      process: { rssBytes: process.memoryUsage().rss, uptimeSeconds: process.uptime() },
    });
  });

  const Ready = Type.Object({ ready: Type.Boolean(), reasons: Type.Array(Type.String()) });
  app.get('/api/ready', {
    schema: {
      tags: ['system'],
      summary: 'Readiness for an orchestrator: 200 while the hub can take traffic, 503 while it is failing or shutting down',
      response: { 200: Ready, 503: Ready },
    },
  }, async (_req, reply) => {
    const h = ctx.health.report();
    const ready = h.status !== 'failing';
    return reply.status(ready ? 200 : 503).send({ ready, reasons: h.reasons });
  });

  app.post('/api/auth/login', {
    // Password guessing is slowed per user name and address: a few tries a minute, then 429.
    config: {
      rateLimit: {
        max: 10, timeWindow: '1 minute', hook: 'preHandler',
        keyGenerator: (req: FastifyRequest) => `${req.ip}|${(req.body as { username?: string } | undefined)?.username ?? ''}`,
      },
    },
    schema: {
      tags: ['auth'],
      summary: 'Sign in; returns a bearer token',
      body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          token: Type.String(),
          expiresAt: Type.String({ format: 'date-time' }),
          user: Type.Object({
            username: Type.String(), role: RoleSchema, tenantIds: Type.Array(Type.String()), allTenants: Type.Boolean(),
            mustChangePassword: Type.Boolean({ description: 'Nothing but POST /api/auth/password until the password is changed' }),
          }),
        }),
      },
    },
  }, async (req) => {
    const name = req.body.username;
    if (guesses.blocked(name, Date.now())) throw new ApiError(429, 'TOO_MANY_ATTEMPTS', `too many failed sign-ins for ${name}; try again in a while`);
    const u = ctx.users.byUsername(name);
    // Same answer, and a password check of the same cost either way, whether or not the user exists.
    dummyHash ??= hashPassword(randomToken(16), ctx.people.scrypt);
    const ok = await verifyPassword(req.body.password, u?.password_hash ?? await dummyHash);
    if (!u || !ok) {
      guesses.failed(name, Date.now());
      ctx.audit.record({ userId: u?.id ?? null, username: name, role: u?.role ?? '-' }, { action: 'login_failed', targetType: 'session', targetId: null, tenantId: null, source: req.ip }, ctx.now());
      throw unauthorized('wrong username or password');
    }
    // A hash made with older parameters is made again now that the password is at hand.
    if (needsRehash(u.password_hash, ctx.people.scrypt)) ctx.users.setPassword(u.id, await hashPassword(req.body.password, ctx.people.scrypt), u.must_change_password === 1);
    const s = ctx.users.openSession(u.id, ctx.now());
    ctx.audit.record({ userId: u.id, username: u.username, role: u.role }, { action: 'login', targetType: 'session', targetId: null, tenantId: null, source: req.ip }, ctx.now());
    return {
      token: s.token, expiresAt: s.expiresAt.toISOString(),
      user: { username: u.username, role: u.role, tenantIds: u.tenantIds, allTenants: u.all_tenants === 1, mustChangePassword: u.must_change_password === 1 },
    };
  });

  app.post('/api/auth/logout', {
    schema: { tags: ['auth'], summary: 'End this session; the token stops working at once', security: [{ bearer: [] }], response: { 204: Type.Null() } },
  }, async (req, reply) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m?.[1] || !req.principal) throw unauthorized();
    const sessionId = ctx.users.closeSession(m[1]);
    // Its live sockets close too, at once.
    ctx.bus.emit('session.ended', { sessionId, reason: 'signed out' }, (err) => req.log.error({ err }, 'a session listener failed'));
    return reply.status(204).send(null);
  });
};

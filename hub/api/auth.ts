/**
 * Bearer-token authentication and the role/municipality guard used by every route.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { can, type Permission, type Principal, servesAllTenants, servesTenant } from '../core/access.ts';
import type { HubContext } from '../context.ts';
import { forbidden, unauthorized } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function installAuth(app: FastifyInstance, ctx: HubContext): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    const header = req.headers.authorization;
    if (!header) return;
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (m?.[1]) req.principal = ctx.users.principalForToken(m[1], ctx.now());
  });
}

/**
 * A route hook that requires a signed-in user with `permission`. It runs on request, before
 * the body is even parsed: who you are is settled before what you sent is looked at.
 */
export function requires(permission: Permission): onRequestAsyncHookHandler {
  return async (req) => {
    const p = req.principal;
    if (!p) throw unauthorized();
    if (p.mustChangePassword) throw forbidden('change your password first: POST /api/auth/password');
    if (!can(p, permission)) throw forbidden(`role ${p.role} may not do this (${permission})`);
  };
}

/** Any signed-in user, also one who must change the password first. */
export function signedIn(): onRequestAsyncHookHandler {
  return async (req) => {
    if (!req.principal) throw unauthorized();
  };
}

/** The signed-in user; only call behind `requires`. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw unauthorized();
  return req.principal;
}

/** Throws 403 unless the user serves the municipality. */
export function assertServes(p: Principal, tenantId: string): void {
  if (!servesTenant(p, tenantId)) throw forbidden(`you do not serve municipality ${tenantId}`);
}

/**
 * The municipalities a listing covers: the one asked for (403 unless the user serves it), or
 * every one the user serves ('all' for an administrator).
 */
export function tenantScope(p: Principal, requested: string | undefined): readonly string[] | 'all' {
  if (requested) {
    assertServes(p, requested);
    return [requested];
  }
  return servesAllTenants(p) ? 'all' : p.tenantIds;
}

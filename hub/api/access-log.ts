/**
 * Writing reads and changes of personal data to the access log from a route: who (the signed-in
 * user), from where (the client's address), what, whose, and why. A list is logged as the
 * records it returned.
 */
import type { FastifyRequest } from 'fastify';
import type { HubContext } from '../context.ts';
import type { AuditEntry } from '../store/audit.ts';
import { principalOf } from './auth.ts';

export function logAccess(ctx: Pick<HubContext, 'audit' | 'now'>, req: FastifyRequest, entries: readonly AuditEntry[]): void {
  ctx.audit.recordMany(principalOf(req), entries.map((e) => ({ source: req.ip, ...e })), ctx.now());
}

/** The reason a reader gave (`?reason=`), if any. */
export const reasonOf = (req: FastifyRequest): string | null => (req.query as { reason?: string } | undefined)?.reason ?? null;

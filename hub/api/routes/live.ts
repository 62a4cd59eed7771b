import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { Principal } from '../../core/access.ts';
import { principalOf, requires } from '../auth.ts';

/** What the ticket route needs of the live channel. */
export type LiveTickets = { issueTicket(p: Principal): { ticket: string; expiresAt: Date } };

export const liveRoutes = (live: LiveTickets): FastifyPluginAsyncTypebox => async (app) => {
  app.post('/api/live/ticket', {
    // The live channel shows alarms: the same permission as GET /api/alarms.
    onRequest: requires('alarms:read'),
    schema: {
      tags: ['live'],
      summary: 'A single-use ticket, valid for seconds, to open the live channel: /api/live?ticket=<ticket>',
      security: [{ bearer: [] }],
      response: { 201: Type.Object({ ticket: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }) },
    },
  }, async (req, reply) => {
    const t = live.issueTicket(principalOf(req));
    return reply.status(201).send({ ticket: t.ticket, expiresAt: t.expiresAt.toISOString() });
  });
};

/**
 * GET /metrics for Prometheus: with the METRICS_TOKEN as a bearer token, or an administrator's
 * session. Nothing personal is in it: counts, times and sizes.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';
import { can } from '../../core/access.ts';
import { forbidden, unauthorized } from '../errors.ts';

export type MetricsOptions = { registry: Registry; token: string | null };

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export const metricsRoutes = (o: MetricsOptions): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/metrics', {
    onRequest: async (req) => {
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (o.token && bearer && sameToken(bearer, o.token)) return;
      if (!req.principal) throw unauthorized('send Authorization: Bearer <METRICS_TOKEN>, or an administrator\'s token');
      if (!can(req.principal, 'users:write')) throw forbidden('only administrators and Prometheus (with METRICS_TOKEN) read the metrics');
    },
    schema: { tags: ['system'], summary: 'Metrics in Prometheus\' text format: messages, rejections, PUBACK and commit times, devices, refusals, alarms, live clients, scheduler lag, time-series buffer, event loop, memory', security: [{ bearer: [] }] },
  }, async (_req, reply) => reply.type(o.registry.contentType).send(await o.registry.metrics()));
};

/**
 * The HTTP API as one fastify instance with every area registered; listening is the caller's
 * business, so tests build the same app and listen on port 0.
 */
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { HubContext } from '../context.ts';
import { isDateTime } from '../core/formats.ts';
import { installAuth } from './auth.ts';
import { formatValidationErrors, installErrorHandler } from './errors.ts';
import { adminRoutes } from './routes/admin.ts';
import { alarmRoutes } from './routes/alarms.ts';
import { userRoutes } from './routes/users.ts';
import { deviceRoutes } from './routes/devices.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { residentRoutes } from './routes/residents.ts';
import { liveRoutes, type LiveTickets } from './routes/live.ts';
import { ruleRoutes } from './routes/rules.ts';
import { statsRoutes } from './routes/stats.ts';
import { auditRoutes } from './routes/audit.ts';
import { privacyRoutes } from './routes/privacy.ts';
import { type MetricsOptions, metricsRoutes } from './routes/metrics.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { systemRoutes } from './routes/system.ts';

export async function buildApi(ctx: HubContext, opts: { map: { tileUrl: string; attribution: string }; live: LiveTickets; mqttPort: number; https?: { cert: Buffer | string; key: Buffer | string } | null; metrics?: MetricsOptions }): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.https ? { https: { ...opts.https, minVersion: 'TLSv1.2' as const } } : {}),
    loggerInstance: ctx.log.child({ part: 'api' }) as FastifyBaseLogger,
    // Requests are not logged one by one; refusals and failures are (errors.ts).
    logController: new LogController({ disableRequestLogging: true }),
    schemaErrorFormatter: formatValidationErrors,
    bodyLimit: 256 * 1024,
    ajv: {
      customOptions: { allErrors: false, coerceTypes: 'array', removeAdditional: false },
      // Requests are checked with the very date-time check that device events are decoded with.
      onCreate: (ajv) => { ajv.addFormat('date-time', isDateTime); },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(swagger, {
    openapi: {
      info: { title: 'Velferdsteknologi event hub', description: 'Devices, residents, events and alarms of welfare technology', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  // Security headers on every response: a strict content security policy the dashboard lives
  // within (map tiles only from the configured server), no framing, no sniffing, no referrer
  // beyond the origin. The API docs carry a policy of their own for their inline scripts.
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', ...tileSources(opts.map.tileUrl)],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  await app.register(rateLimit, { global: false });
  installErrorHandler(app, (err) => ctx.health.storeFailed(err), (req, status, message) => {
    const who = req.principal ?? { userId: null, username: '-', role: '-' };
    try {
      ctx.audit.record(who, { action: 'refused', targetType: 'request', targetId: `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`, tenantId: null, reason: `${status} ${message}`.slice(0, 300), source: req.ip }, ctx.now());
    } catch (err) {
      req.log.error({ err }, 'could not log a refused request');
    }
  });
  installAuth(app, ctx);
  await app.register(systemRoutes(ctx));
  await app.register(adminRoutes(ctx));
  await app.register(userRoutes(ctx));
  await app.register(residentRoutes(ctx));
  await app.register(deviceRoutes(ctx));
  await app.register(fleetRoutes(ctx));
  await app.register(alarmRoutes(ctx));
  await app.register(ruleRoutes(ctx));
  await app.register(statsRoutes(ctx));
  await app.register(auditRoutes(ctx));
  await app.register(privacyRoutes(ctx));
  if (opts.metrics) await app.register(metricsRoutes(opts.metrics));
  await app.register(liveRoutes(opts.live));
  await app.register(dashboardRoutes({ map: opts.map, mqttPort: opts.mqttPort, mqttTls: !!opts.https }));
  return app;
}

/** Where map tiles may come from: the tile URL's origin, with a {s} subdomain as a wildcard. */
export function tileSources(tileUrl: string): string[] {
  try {
    const u = new URL(tileUrl.replace(/\{[a-z]\}/g, 'x'));
    const host = /\{s\}/.test(tileUrl) ? `*.${u.host.split('.').slice(1).join('.')}` : u.host;
    return [`${u.protocol}//${host}`];
  } catch {
    return [];
  }
}

/**
 * Serves the built dashboard (dashboard/dist) at / and its settings at /api/dashboard-config.
 */
import fastifyStatic from '@fastify/static';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));

export const dashboardRoutes = (o: { map: { tileUrl: string; attribution: string }; mqttPort: number; mqttTls: boolean }): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/api/dashboard-config', {
    schema: {
      tags: ['system'], summary: 'Settings the dashboard needs before sign-in',
      response: { 200: Type.Object({ mapTileUrl: Type.String(), mapAttribution: Type.String(), mqttPort: Type.Integer({ description: 'Where devices connect, for the credential sheets' }), mqttTls: Type.Boolean({ description: 'Whether that port speaks TLS' }) }) },
    },
  }, async () => ({ mapTileUrl: o.map.tileUrl, mapAttribution: o.map.attribution, mqttPort: o.mqttPort, mqttTls: o.mqttTls }));

  if (existsSync(DIST)) {
    await app.register(fastifyStatic, { root: DIST, prefix: '/', index: ['index.html'], wildcard: false });
  } else {
    app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/plain; charset=utf-8')
      .send('The dashboard is not built. Run `npm run build` (npm start does it for you).\n'));
  }
};

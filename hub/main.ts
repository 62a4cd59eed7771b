/**
 * Entry point for `npm start`: the only place that reads the environment and builds the logger.
 */
import { pino } from 'pino';
import { startHub } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { StoreDamagedError } from './store/db.ts';

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\nSee .env.example for every setting.\n`);
    process.exit(2);
  }
  throw err;
}

const log = pino({ level: config.logLevel, base: undefined });
let hub;
try {
  hub = await startHub(config, log);
} catch (err) {
  if (err instanceof StoreDamagedError) {
    process.stderr.write(`\nThe hub did not start: ${err.message}\n\n`);
    process.exit(3);
  }
  throw err;
}

if (hub.generatedAdminPassword) {
  process.stdout.write(
    `\n  First start: created the user "admin" with the password\n\n      ${hub.generatedAdminPassword}\n\n` +
    '  It is shown only this once. Set HUB_ADMIN_PASSWORD before the first start to choose it.\n\n',
  );
}
log.info({ mqttPort: hub.mqttPort, mqttsPort: hub.mqttsPort, httpPort: hub.httpPort, https: !!config.tls, dataDir: config.dataDir }, 'hub ready');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Within a bound, however it goes.
    setTimeout(() => {
      log.error('shutdown: did not finish in 20 s; exiting');
      process.exit(1);
    }, 20_000).unref();
    hub.close().then(() => {
      log.info('shut down');
      process.exit(0);
    }, (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  });
}

/**
 * Load: N simulated devices, each its own MQTT connection, against the hub running as its own
 * process (as `npm start`). Prints connect time, message rate, errors, latency and memory.
 *
 *   npm run bench:load -- --devices 2000 --rate 1000 --duration 30
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HubApi } from '../simulators/hub-api.ts';
import { formatSummary, runLoad } from '../simulators/load.ts';
import { spawnHub } from '../simulators/spawn-hub.ts';
import { tempDir } from '../test/helpers/hub.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '30' },
  },
});
const dir = tempDir('bench-load-');
const password = 'bench-admin-password';
const hub = await spawnHub({ DATA_DIR: dir, MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', HUB_ADMIN_PASSWORD: password });
try {
  const api = new HubApi(`http://127.0.0.1:${hub.httpPort}`);
  await api.login('admin', password);
  const idle = (await api.call<{ process: { rssBytes: number } }>('GET', '/api/health')).process.rssBytes;
  const summary = await runLoad({
    api, mqttUrl: `mqtt://127.0.0.1:${hub.mqttPort}`, tenantId: '9901', devices: Number(values.devices), rate: Number(values.rate),
    durationSeconds: Number(values.duration), stateFile: join(dir, 'load.json'),
    progress: (l) => { if (!l.startsWith('connected ') || l.includes('/')) process.stdout.write(`${l}\n`); },
    hubMemory: async () => (await api.call<{ process: { rssBytes: number } }>('GET', '/api/health')).process.rssBytes,
  });
  process.stdout.write(`\n${formatSummary(summary)}\nhub memory before the devices: ${(idle / 1e6).toFixed(0)} MB\n`);
} finally {
  await hub.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

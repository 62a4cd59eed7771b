/**
 * npm run demo: the hub with embedded storage, a synthetic municipality of 200 residents, and a
 * night at the response centre played on them, with every other device living its life.
 * Prints where to open the dashboard and how to sign in.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildDashboard } from '../dashboard/build.ts';
import { SimClock } from './clock.ts';
import { playHistory } from './history.ts';
import { HubApi } from './hub-api.ts';
import { ensureMunicipality } from './municipality.ts';
import { loadScenario, scenarioStart, timeline } from './scenario.ts';
import { Simulation } from './simulation.ts';
import { spawnHub } from './spawn-hub.ts';

const { values: v } = parseArgs({
  options: {
    speed: { type: 'string', default: '10' },
    residents: { type: 'string', default: '200' },
    'data-dir': { type: 'string', default: './data/demo' },
    'history-days': { type: 'string', default: '21' },
  },
});
const say = (line: string) => process.stdout.write(`${line}\n`);
const ADMIN_PASSWORD = process.env.HUB_ADMIN_PASSWORD ?? 'demo-admin-2026';
const OPERATOR = { username: 'operator', password: 'nattevakt-demo' };
const TECHNICIAN = { username: 'tekniker', password: 'skrutrekker-demo' };
const LEADER = { username: 'leder', password: 'statistikk-demo' };

say('demo: building the dashboard …');
await buildDashboard();
say('demo: starting the hub (embedded storage in ' + v['data-dir'] + ') …');
const startDemoHub = () => spawnHub({
  DATA_DIR: v['data-dir'], HUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
  MQTT_PORT: process.env.MQTT_PORT ?? '1883', HTTP_PORT: process.env.HTTP_PORT ?? '8080', HOST: process.env.HOST ?? '127.0.0.1',
}, (line) => {
  // Show the hub's warnings and errors; its info lines would drown the story.
  try {
    const j = JSON.parse(line) as { level?: number; msg?: string };
    if ((j.level ?? 0) >= 40) say(`hub: ${j.msg}`);
  } catch {
    if (line.trim()) say(`hub: ${line}`);
  }
});
let hub = await startDemoHub();
const api = new HubApi(`http://127.0.0.1:${hub.httpPort}`);
try {
  await api.login('admin', ADMIN_PASSWORD);
} catch {
  say(`demo: cannot sign in as admin to the hub in ${v['data-dir']}; it was first started with another password. Set HUB_ADMIN_PASSWORD, or remove ${v['data-dir']}.`);
  await hub.kill('SIGTERM');
  process.exit(1);
}

const scenario = loadScenario('night');
const residents = Math.max(Number(v.residents), scenario.residents);
say(`demo: creating the municipality Oslo (0301) with ${residents} synthetic residents …`);
const muni = await ensureMunicipality(api, { tenantId: '0301', residents, seed: scenario.seed, stateFile: `${v['data-dir']}/simulator-0301.json` });
await api.ensureUser(OPERATOR.username, OPERATOR.password, 'operator', ['0301']);
await api.ensureUser(TECHNICIAN.username, TECHNICIAN.password, 'technician', ['0301']);
await api.ensureUser(LEADER.username, LEADER.password, 'leader', ['0301']);

// Weeks of history for the statistics, once: the hub plays them on its own clock, then starts again.
const historyMarker = `${v['data-dir']}/history-0301.json`;
const historyDays = Number(v['history-days']);
if (historyDays > 0 && !existsSync(historyMarker)) {
  say(`demo: playing ${historyDays} days of history for the statistics (once; a minute or two) …`);
  await hub.kill('SIGTERM');
  const played = await playHistory({ dataDir: v['data-dir'], adminPassword: ADMIN_PASSWORD, municipality: muni, days: historyDays, seed: scenario.seed, log: say });
  writeFileSync(historyMarker, JSON.stringify({ days: historyDays, ...played, at: new Date().toISOString() }));
  say(`demo: history done: ${played.alarms} alarms and ${played.events} events`);
  hub = await startDemoHub();
}
const url = `http://localhost:${hub.httpPort}`;

const speed = Number(v.speed);
const start = scenarioStart(scenario, new Date());
const clock = new SimClock(start, speed);
const sim = new Simulation({
  mqttUrl: `mqtt://127.0.0.1:${hub.mqttPort}`, municipality: muni, seed: scenario.seed, mode: 'lively', clock, steps: timeline(scenario, start),
  log: (line) => say(`scenario: ${line}`),
});
await sim.start();

say(`
  ┌──────────────────────────────────────────────────────────────────────────────
  │ The response centre's dashboard: ${url}/
  │ Sign in as   ${OPERATOR.username} / ${OPERATOR.password}   (operator for Oslo: the alarm queue)
  │ or           ${TECHNICIAN.username} / ${TECHNICIAN.password}   (technician: the devices)
  │ or           ${LEADER.username} / ${LEADER.password}   (leader: the statistics)
  │ or           admin / ${ADMIN_PASSWORD}
  │ API docs:    ${url}/docs
  │
  │ ${sim.devices.size} devices of ${muni.residents.length} residents are connected over MQTT.
  │ Playing "${scenario.name}" at ${speed}× (the devices' time; the hub keeps its
  │ own clock, so escalations and the night-time door rule follow real time).
  │ Ctrl-C stops the demo.
  └──────────────────────────────────────────────────────────────────────────────
`);

const stop = async () => {
  await sim.stop();
  await hub.kill('SIGTERM');
  process.exit(0);
};
process.on('SIGINT', () => { void stop(); });
process.on('SIGTERM', () => { void stop(); });
await sim.runUntil(new Date(start.getTime() + scenario.durationMinutes * 60_000));
say('demo: the night is over; the devices go on living their lives. Ctrl-C stops.');

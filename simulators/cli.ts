/**
 * npm run simulate -- --municipality 0301 --residents 200 [--scenario night] [--speed 10]
 * npm run simulate -- --load --devices 2000 --rate 500 --duration 60
 *
 * Signs in to the hub, creates (or reuses) a synthetic municipality through its API, and runs
 * its devices; or, with --load, runs many devices for a benchmark.
 */
import { parseArgs } from 'node:util';
import { SimClock } from './clock.ts';
import { HubApi } from './hub-api.ts';
import { formatSummary, runLoad } from './load.ts';
import { ensureMunicipality } from './municipality.ts';
import { loadScenario, scenarioStart, timeline } from './scenario.ts';
import { Simulation } from './simulation.ts';

const HELP = `Usage:
  npm run simulate -- [options]                 run a synthetic municipality
  npm run simulate -- --load [options]          run many devices for a benchmark

Options:
  --hub URL            the hub's HTTP address (default http://localhost:8080)
  --mqtt URL           the broker (default: the hub's host, port 1883)
  --user NAME          who signs in (default admin)
  --password PW        their password (default: $HUB_ADMIN_PASSWORD)
  --municipality NNNN  kommunenummer (default 0301)
  --residents N        synthetic residents (default 200)
  --seed N             the same seed gives the same residents and the same life (default 1)
  --scenario NAME      night, morning-doses, outage, or a path to a scenario file
  --speed X            simulated time runs X times faster (a day in ten minutes: 144)
  --mode lively|quiet  devices live a life, or only send heartbeats (default lively)
  --state FILE         where device credentials are kept between runs
  --load               load mode: --devices N --rate MSG_PER_S --duration SECONDS
`;

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      hub: { type: 'string', default: 'http://localhost:8080' },
      mqtt: { type: 'string' },
      user: { type: 'string', default: 'admin' },
      password: { type: 'string' },
      municipality: { type: 'string', default: '0301' },
      residents: { type: 'string', default: '200' },
      seed: { type: 'string', default: '1' },
      scenario: { type: 'string' },
      speed: { type: 'string', default: '1' },
      mode: { type: 'string' },
      state: { type: 'string' },
      load: { type: 'boolean', default: false },
      devices: { type: 'string', default: '2000' },
      rate: { type: 'string', default: '500' },
      duration: { type: 'string', default: '60' },
      help: { type: 'boolean', default: false },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return;
  }
  const password = v.password ?? process.env.HUB_ADMIN_PASSWORD;
  if (!password) throw new Error('give the password with --password or HUB_ADMIN_PASSWORD');
  if (!/^\d{4}$/.test(v.municipality)) throw new Error('--municipality takes a four-digit kommunenummer, e.g. 0301');
  const num = (name: string, s: string, min: number) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number of at least ${min}`);
    return n;
  };
  const mqttUrl = v.mqtt ?? `mqtt://${new URL(v.hub).hostname}:1883`;
  const api = new HubApi(v.hub.replace(/\/$/, ''));
  await api.login(v.user, password);
  const say = (line: string) => process.stdout.write(`${line}\n`);

  if (v.load) {
    const summary = await runLoad({
      api, mqttUrl, tenantId: v.municipality, devices: num('devices', v.devices, 1), rate: num('rate', v.rate, 1),
      durationSeconds: num('duration', v.duration, 1), stateFile: v.state ?? `./data/simulator-load-${v.municipality}.json`, progress: say,
      hubMemory: async () => (await api.call<{ process: { rssBytes: number } }>('GET', '/api/health')).process.rssBytes,
    });
    say(`\n${formatSummary(summary)}`);
    return;
  }

  const scenario = v.scenario ? loadScenario(v.scenario, num('residents', v.residents, 1)) : null;
  const residents = Math.max(num('residents', v.residents, 1), scenario?.residents ?? 0);
  const seed = scenario?.seed ?? num('seed', v.seed, 0);
  const muni = await ensureMunicipality(api, { tenantId: v.municipality, residents, seed, stateFile: v.state ?? `./data/simulator-${v.municipality}-${seed}.json` });
  say(`municipality ${v.municipality}: ${muni.residents.length} residents, ${muni.devices.length} devices (${muni.created.residents} residents and ${muni.created.devices} devices new)`);
  const speed = num('speed', v.speed, 0.001);
  const start = scenario ? scenarioStart(scenario, new Date()) : new Date();
  const clock = new SimClock(start, speed);
  const mode = v.mode === 'quiet' || v.mode === 'lively' ? v.mode : scenario?.background ?? 'lively';
  const sim = new Simulation({ mqttUrl, municipality: muni, seed, mode, clock, steps: scenario ? timeline(scenario, start) : [], log: say });
  await sim.start();
  say(`running ${sim.devices.size} devices (${mode}) at ${speed}× from ${start.toISOString()}; Ctrl-C stops`);
  const report = setInterval(() => say(`${clock.now().toISOString()}  sent ${sim.stats.sent}  acked ${sim.stats.acked}  errors ${sim.stats.errors}  commands ${sim.stats.commands}`), 10_000);
  const stop = async () => {
    clearInterval(report);
    await sim.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => { void stop(); });
  process.on('SIGTERM', () => { void stop(); });
  if (scenario) {
    await sim.runUntil(new Date(start.getTime() + scenario.durationMinutes * 60_000));
    say(`scenario "${scenario.name}" done. It predicts these alarms:`);
    for (const e of scenario.expect) say(`  ${e.resident === undefined ? 'municipality' : `resident ${e.resident}`}: ${e.alarmType}${e.state ? ` (${e.state})` : ''}`);
    await stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`simulate: ${(err as Error).message}\n`);
  process.exit(1);
});

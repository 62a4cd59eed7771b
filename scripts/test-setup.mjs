#!/usr/bin/env node
/**
 * Before the tests: the system packages they need, from Debian. Installs what is missing when it
 * can (as root, with apt-get); otherwise stops at once with the exact command to run.
 * The tests start InfluxDB (influxdb), drive the dashboard in Chromium (chromium), test MQTT over
 * TLS with mosquitto_pub (mosquitto-clients) and make a test CA with openssl (openssl).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const NEEDED = [
  { pkg: 'influxdb', ok: () => onPath('influxd') },
  { pkg: 'chromium', ok: () => existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium') },
  { pkg: 'mosquitto-clients', ok: () => onPath('mosquitto_pub') },
  { pkg: 'openssl', ok: () => onPath('openssl') },
];
const missing = NEEDED.filter((n) => !n.ok()).map((n) => n.pkg);
if (missing.length === 0) process.exit(0);

const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
const root = typeof process.getuid === 'function' && process.getuid() === 0;
if (!root || !onPath('apt-get')) {
  process.stderr.write(`\nThe tests need Debian packages that are not installed: ${missing.join(', ')}.\nRun, as root:\n\n    ${command}\n\nthen run the tests again.\n\n`);
  process.exit(1);
}
process.stdout.write(`test setup: installing ${missing.join(', ')} …\n`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
// With their recommends: Chromium's fonts come that way.
execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
const still = NEEDED.filter((n) => !n.ok()).map((n) => n.pkg);
if (still.length > 0) {
  process.stderr.write(`test setup: still missing after apt-get: ${still.join(', ')}\n`);
  process.exit(1);
}

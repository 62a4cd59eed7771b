/**
 * Builds the dashboard when its output is missing or older than its sources, so `npm start`
 * always serves the current app. `--force` builds regardless.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const output = join(root, 'dist', 'index.html');

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export async function buildDashboard(force = false): Promise<boolean> {
  const sources = Math.max(newest(join(root, 'src')), statSync(join(root, 'index.html')).mtimeMs, newest(join(root, '..', 'hub', 'core')));
  if (!force && existsSync(output) && statSync(output).mtimeMs >= sources) return false;
  await build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn' });
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await buildDashboard(process.argv.includes('--force'));
  process.stdout.write(built ? 'dashboard: built\n' : 'dashboard: up to date\n');
}

// The production build: the dashboard bundled by Vite, the hub and broker compiled ahead of time
// into build/ (run with `npm run start:prod` or `node build/hub/main.js`, no TypeScript loader at
// run time), and the dashboard copied beside them, where the compiled hub looks for it.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

rmSync(join(root, 'build'), { recursive: true, force: true });
run(bin('tsx'), ['dashboard/build.ts']); // only when its sources are newer than its output
run(bin('tsc'), ['-p', 'tsconfig.build.json']);
cpSync(join(root, 'dashboard', 'dist'), join(root, 'build', 'dashboard', 'dist'), { recursive: true });
process.stdout.write('build: hub in build/hub, dashboard in build/dashboard/dist\n');

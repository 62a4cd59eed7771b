/**
 * Onboarding benchmark: a CSV of 1,000 devices through POST /api/devices/import on a real hub
 * (HTTP, parsing, every check, credentials, audit rows, one fsynced commit), against a reference
 * measured in the same run: the bare inserts of 1,000 device rows with their credential hashes
 * in one transaction on a SQLite file with the same settings. Prints both and their ratio.
 *
 *   npm run bench:import -- --rows 1000 --runs 5
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hashDeviceSecret, randomToken, shortId } from '../hub/security/secrets.ts';
import { percentile } from '../simulators/stats.ts';
import { startTestHub, tempDir } from '../test/helpers/hub.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000' }, runs: { type: 'string', default: '5' } } });
const rows = Number(values.rows);
const runs = Number(values.runs);
const KINDS = ['safety_alarm', 'door_lock', 'gps_tracker', 'medicine_dispenser'];

const t = await startTestHub();
await t.api('POST', '/api/tenants', { id: '0301', name: 'Oslo' });
const residents: string[] = [];
for (let i = 0; i < 50; i++) residents.push((await t.api('POST', '/api/residents', { tenantId: '0301', name: `Beboer ${i}`, address: `Gate ${i}` })).body.id);

function file(run: number): string {
  const lines = ['tenantId;kind;serial;residentId;heartbeatIntervalSeconds'];
  for (let i = 0; i < rows; i++) lines.push(`0301;${KINDS[i % 4]};B${run}-${String(i).padStart(5, '0')};${i % 3 === 0 ? residents[i % 50] : ''};${i % 2 ? 600 : ''}`);
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

async function post(csv: string, dryRun: boolean): Promise<{ ms: number; status: number; created: number }> {
  const s = performance.now();
  const res = await fetch(`${t.httpUrl}/api/devices/import?dryRun=${dryRun}`, { method: 'POST', headers: { 'content-type': 'text/csv', authorization: `Bearer ${t.adminToken}` }, body: csv });
  const body = await res.json() as { created: unknown[] };
  return { ms: performance.now() - s, status: res.status, created: body.created.length };
}

/** The same rows inserted bare: what storing them costs at the least. */
function reference(run: number): number {
  const db = new Database(join(tempDir('bench-ref-'), 'ref.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE devices (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, kind TEXT NOT NULL, serial TEXT NOT NULL, resident_id TEXT,
    heartbeat_interval_s INTEGER NOT NULL, secret_salt TEXT NOT NULL, secret_hash TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE UNIQUE INDEX active_serial ON devices(tenant_id, serial);`);
  const insert = db.prepare('INSERT INTO devices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const s = performance.now();
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const password = randomToken(24);
      const salt = randomToken(12);
      insert.run(shortId('sa'), '0301', KINDS[i % 4], `R${run}-${i}`, null, 300, salt, hashDeviceSecret(password, salt), new Date().toISOString());
    }
  })();
  const ms = performance.now() - s;
  db.close();
  return ms;
}

const dry: number[] = [];
const imp: number[] = [];
const ref: number[] = [];
for (let run = 0; run < runs; run++) {
  const csv = file(run);
  const d = await post(csv, true);
  const r = await post(csv, false);
  if (d.status !== 200 || r.status !== 201 || r.created !== rows) throw new Error(`run ${run}: dry ${d.status}, import ${r.status} with ${r.created} created`);
  dry.push(d.ms);
  imp.push(r.ms);
  ref.push(reference(run));
}
await t.close();
const med = (xs: number[]) => percentile(xs, 50);
console.log(`${rows} rows, ${runs} runs (medians):`);
console.log(`  dry run (parse and check every row):      ${med(dry).toFixed(0)} ms`);
console.log(`  import (check, create, audit, one commit): ${med(imp).toFixed(0)} ms = ${Math.round(rows / (med(imp) / 1000))} devices/s`);
console.log(`  reference, bare inserts with hashing:      ${med(ref).toFixed(0)} ms`);
console.log(`  ratio import / reference:                  ${(med(imp) / med(ref)).toFixed(1)}×`);

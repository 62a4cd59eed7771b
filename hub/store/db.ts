/**
 * The operational store: SQLite, embedded, in WAL mode.
 *
 * `synchronous = FULL` makes every commit reach the disk before it returns, so an event the
 * broker acknowledges survives a crash of the process and of the machine. Commits are grouped
 * (see writer.ts) so the fsync is paid once per batch, not once per event.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { contentHash } from '../security/secrets.ts';
import { chainExisting } from './audit.ts';
import { join } from 'node:path';

export type Db = Database.Database;

/**
 * How long a write waits for a lock held by another process before it fails. better-sqlite3 is
 * synchronous: a long wait would freeze MQTT and HTTP with it. Failing fast withholds the
 * device's PUBACK (it resends) and shows in health; writes succeed again when the lock goes.
 */
export const BUSY_TIMEOUT_MS = 25;

/**
 * Runs `fn` (which commits) with `synchronous = NORMAL`: in WAL mode its commit is with the
 * operating system when it returns, without waiting for the disk. For what may be lost in a
 * power cut but not in a crash of the hub (telemetry, presence). The connection is back to FULL
 * at once, so every other write stays synced. The pragma is run, not prepared: SQLite applies it
 * when it is compiled.
 */
export function withoutWaitingForDisk<T>(db: Db, fn: () => T): T {
  db.pragma('synchronous = NORMAL');
  try {
    return fn();
  } finally {
    db.pragma('synchronous = FULL');
  }
}

/** SQLite errors that mean the store itself is failing (full, locked, I/O), not a write's content. */
const STORE_FAILURES = ['SQLITE_FULL', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_CORRUPT', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_NOTADB'];
export function isStoreFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && STORE_FAILURES.some((c) => code === c || code.startsWith(`${c}_`));
}

/** The operational store is damaged: the hub does not start on it. */
export class StoreDamagedError extends Error {
  constructor(file: string, detail: string) {
    super(`the operational store ${file} is damaged (${detail}). The hub does not start on a damaged store: ` +
      'restore the file from a backup, or move it away to start empty.');
    this.name = 'StoreDamagedError';
  }
}

/** A migration: SQL, or a step that needs code (e.g. to compute a hash for existing rows). */
type Migration = string | ((db: Database.Database) => void);

const MIGRATIONS: Migration[] = [
  `
  CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE user_tenants (
    user_id TEXT NOT NULL REFERENCES users(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    PRIMARY KEY (user_id, tenant_id)
  );
  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE residents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    details TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX residents_by_tenant ON residents(tenant_id);
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    serial TEXT NOT NULL,
    resident_id TEXT REFERENCES residents(id),
    heartbeat_interval_s INTEGER NOT NULL,
    secret_salt TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    decommissioned_at TEXT,
    online INTEGER NOT NULL DEFAULT 0,
    last_seen_at TEXT,
    battery INTEGER,
    signal INTEGER,
    firmware TEXT,
    lat REAL,
    lon REAL,
    accuracy REAL,
    position_at TEXT,
    accepted_count INTEGER NOT NULL DEFAULT 0,
    rejected_count INTEGER NOT NULL DEFAULT 0,
    last_rejection TEXT,
    last_rejection_at TEXT
  );
  CREATE UNIQUE INDEX devices_active_serial ON devices(tenant_id, serial) WHERE decommissioned_at IS NULL;
  CREATE INDEX devices_by_tenant ON devices(tenant_id);
  CREATE TABLE events (
    device_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    ts TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (device_id, event_id)
  ) WITHOUT ROWID;
  CREATE INDEX events_by_device_ts ON events(device_id, ts);
  CREATE INDEX events_by_tenant_received ON events(tenant_id, received_at);
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id TEXT,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    tenant_id TEXT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    reason TEXT
  );
  CREATE INDEX audit_by_target ON audit_log(target_type, target_id);
  -- The audit log is append-only (Normen): no row may change or go.
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
  `,
  `
  ALTER TABLE devices ADD COLUMN maintenance_until TEXT;
  ALTER TABLE devices ADD COLUMN rule_memory TEXT;
  CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX rules_by_tenant ON rules(tenant_id);
  -- An alarm is kept whole as JSON; the columns beside it are what is searched.
  CREATE TABLE alarms (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    state TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    device_id TEXT,
    next_escalation_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    data TEXT NOT NULL
  );
  -- One open or acknowledged alarm per (device, alarm type).
  CREATE UNIQUE INDEX alarms_active ON alarms(dedupe_key) WHERE state != 'resolved';
  CREATE INDEX alarms_escalation ON alarms(next_escalation_at) WHERE state = 'open';
  CREATE INDEX alarms_by_tenant ON alarms(tenant_id, created_at);
  CREATE INDEX alarms_by_state ON alarms(state, created_at);
  CREATE TABLE alarm_events (
    seq INTEGER PRIMARY KEY,
    alarm_id TEXT NOT NULL REFERENCES alarms(id),
    received_at TEXT NOT NULL,
    event TEXT NOT NULL
  );
  CREATE INDEX alarm_events_by_alarm ON alarm_events(alarm_id);
  CREATE TABLE alarm_transitions (
    seq INTEGER PRIMARY KEY,
    alarm_id TEXT NOT NULL REFERENCES alarms(id),
    at TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    detail TEXT
  );
  CREATE INDEX alarm_transitions_by_alarm ON alarm_transitions(alarm_id);
  CREATE TRIGGER alarm_transitions_no_update BEFORE UPDATE ON alarm_transitions BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END;
  -- Deadlines a rule set for a device: raise unless something ends them first.
  CREATE TABLE watches (
    device_id TEXT NOT NULL,
    key TEXT NOT NULL,
    due_at TEXT NOT NULL,
    spec TEXT NOT NULL,
    PRIMARY KEY (device_id, key)
  );
  CREATE INDEX watches_due ON watches(due_at);
  `,
  // A device whose event counter restarts (after a reboot) reuses ids: the same id with other
  // content is another event. The key is (device, id, content): a true retry is stored once.
  (db) => {
    db.exec(`
      CREATE TABLE events_v3 (
        device_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        tenant_id TEXT NOT NULL,
        type TEXT NOT NULL,
        ts TEXT NOT NULL,
        received_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (device_id, event_id, content_hash)
      ) WITHOUT ROWID;
    `);
    const insert = db.prepare('INSERT INTO events_v3 VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const r of db.prepare('SELECT * FROM events').iterate() as Iterable<Record<string, string>>) {
      insert.run(r.device_id, r.event_id, contentHash(r.payload as string), r.tenant_id, r.type, r.ts, r.received_at, r.payload);
    }
    db.exec(`
      DROP TABLE events;
      ALTER TABLE events_v3 RENAME TO events;
      CREATE INDEX events_by_device_received ON events(device_id, received_at);
      CREATE INDEX events_by_tenant_received ON events(tenant_id, received_at);
      -- What a technician needs to see of a device's own mistakes.
      ALTER TABLE devices ADD COLUMN clock_skew_s REAL;
      ALTER TABLE devices ADD COLUMN position_device_ts TEXT;
      ALTER TABLE devices ADD COLUMN qos0_care_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE devices ADD COLUMN last_qos0_care_at TEXT;
      ALTER TABLE devices ADD COLUMN id_conflict_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE devices ADD COLUMN last_id_conflict_at TEXT;
      ALTER TABLE devices ADD COLUMN refused_connect_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE devices ADD COLUMN last_refused_connect TEXT;
      ALTER TABLE devices ADD COLUMN last_refused_connect_at TEXT;
      ALTER TABLE users ADD COLUMN disabled_at TEXT;
      -- Commands wait here until the device has acknowledged them (QoS 1) or they expire.
      CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        tenant_id TEXT NOT NULL,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_sent_at TEXT,
        acked_at TEXT,
        expired_at TEXT
      );
      CREATE INDEX outbox_pending ON outbox(device_id, created_at) WHERE acked_at IS NULL AND expired_at IS NULL;
    `);
  },
  `
  -- Chain tests: device → hub → response centre, proven before a device is trusted.
  CREATE TABLE device_tests (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    tenant_id TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at TEXT NOT NULL,
    started_by TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    alarm_id TEXT,
    ended_at TEXT,
    ended_by TEXT,
    detail TEXT
  );
  CREATE INDEX device_tests_by_device ON device_tests(device_id, started_at);
  CREATE INDEX device_tests_open ON device_tests(expires_at) WHERE state IN ('waiting', 'alarm_raised');
  CREATE INDEX device_tests_by_alarm ON device_tests(alarm_id) WHERE alarm_id IS NOT NULL;
  ALTER TABLE devices ADD COLUMN last_test_at TEXT;
  ALTER TABLE devices ADD COLUMN last_test_result TEXT;
  ALTER TABLE devices ADD COLUMN last_test_by TEXT;
  ALTER TABLE devices ADD COLUMN last_passed_test_at TEXT;
  -- Who rotated a device's credentials, and when; never the password.
  CREATE TABLE credential_rotations (
    seq INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    at TEXT NOT NULL,
    user_id TEXT,
    username TEXT NOT NULL
  );
  CREATE INDEX credential_rotations_by_device ON credential_rotations(device_id);
  -- Which resident a device served, and when it changed.
  CREATE TABLE device_assignments (
    seq INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    at TEXT NOT NULL,
    from_resident TEXT,
    to_resident TEXT,
    username TEXT NOT NULL
  );
  CREATE INDEX device_assignments_by_device ON device_assignments(device_id);
  `,
  `
  -- The service targets a municipality holds its response centre to (null: the defaults).
  ALTER TABLE tenants ADD COLUMN target_within_60s REAL;
  ALTER TABLE tenants ADD COLUMN target_within_180s REAL;
  CREATE INDEX events_by_tenant_type_received ON events(tenant_id, type, received_at);
  `,
  `
  -- What statistics read of an alarm, as columns beside its JSON: a year of a large
  -- municipality is read without parsing fifty thousand documents.
  ALTER TABLE alarms ADD COLUMN type TEXT;
  ALTER TABLE alarms ADD COLUMN category TEXT;
  ALTER TABLE alarms ADD COLUMN priority INTEGER;
  ALTER TABLE alarms ADD COLUMN is_test INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE alarms ADD COLUMN acknowledged_at TEXT;
  ALTER TABLE alarms ADD COLUMN resolved_at TEXT;
  ALTER TABLE alarms ADD COLUMN reason TEXT;
  ALTER TABLE alarms ADD COLUMN repeat_count INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE alarms ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;
  UPDATE alarms SET type = json_extract(data, '$.type'), category = json_extract(data, '$.category'), priority = json_extract(data, '$.priority'),
    is_test = CASE WHEN json_extract(data, '$.test') = 1 OR json_extract(data, '$.type') = 'test_alarm' THEN 1 ELSE 0 END,
    acknowledged_at = json_extract(data, '$.acknowledgedAt'), resolved_at = json_extract(data, '$.resolvedAt'),
    reason = json_extract(data, '$.resolution.reason'), repeat_count = json_extract(data, '$.count'), escalation_level = json_extract(data, '$.escalationLevel');
  -- Covering: a year of statistics is read from the index alone, never the alarm documents.
  CREATE INDEX alarms_stats ON alarms(tenant_id, created_at, type, category, priority, acknowledged_at, resolved_at, repeat_count, escalation_level, device_id, is_test, reason);
  `,
  `
  -- What a transition says as a code with values (JSON), beside its English detail.
  ALTER TABLE alarm_transitions ADD COLUMN said TEXT;
  `,
  `
  -- An administrator serves the municipalities given, or all of them (all_tenants); a password
  -- may have to be changed at the next sign-in; a session ends after inactivity too.
  ALTER TABLE users ADD COLUMN all_tenants INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
  UPDATE users SET all_tenants = 1 WHERE role = 'admin' AND NOT EXISTS (SELECT 1 FROM user_tenants t WHERE t.user_id = users.id);
  ALTER TABLE sessions ADD COLUMN last_active_at INTEGER NOT NULL DEFAULT 0;
  UPDATE sessions SET last_active_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000;
  `,
  // The access log: whose data, from where, and a hash chain over every row.
  (db) => {
    db.exec(`
      DROP TRIGGER audit_log_no_update;
      ALTER TABLE audit_log ADD COLUMN resident_id TEXT;
      ALTER TABLE audit_log ADD COLUMN source TEXT;
      ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
      ALTER TABLE audit_log ADD COLUMN hash TEXT;
      UPDATE audit_log SET resident_id = target_id WHERE target_type = 'resident';
    `);
    chainExisting(db);
    db.exec(`
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
      CREATE INDEX audit_by_resident ON audit_log(resident_id, id);
      CREATE INDEX audit_by_user ON audit_log(user_id, id);
      CREATE INDEX audit_by_tenant ON audit_log(tenant_id, id);
    `);
  },
  `
  -- An erased resident keeps an anonymous row for the statistics.
  ALTER TABLE residents ADD COLUMN erased_at TEXT;
  -- How long each municipality keeps what (days; null: the defaults).
  ALTER TABLE tenants ADD COLUMN retention_events_days INTEGER;
  ALTER TABLE tenants ADD COLUMN retention_telemetry_days INTEGER;
  ALTER TABLE tenants ADD COLUMN retention_audit_days INTEGER;
  -- Where the access log's hash chain starts after its oldest rows were pruned.
  CREATE TABLE audit_anchor (id INTEGER PRIMARY KEY CHECK (id = 1), after_id INTEGER NOT NULL, hash TEXT NOT NULL, pruned INTEGER NOT NULL, at TEXT NOT NULL);
  `,
];

export function openDatabase(dataDir: string, file = 'hub.db'): Db {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, file);
  let db: Db | null = null;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    // A quick integrity check: b-tree pages readable and consistent, no full index comparison.
    const problems = (db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check);
    if (problems.length !== 1 || problems[0] !== 'ok') throw new StoreDamagedError(path, problems.join('; '));
  } catch (err) {
    db?.close();
    if (err instanceof StoreDamagedError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') throw new StoreDamagedError(path, `${code}: ${(err as Error).message}`);
    throw err;
  }
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  migrate(db);
  cacheStatements(db);
  return db;
}

const STATEMENT_CACHE = 500;

/**
 * Prepared statements kept by their SQL (the most recently used 500): the stores prepare where
 * they use them, and preparing again on every call cost a good share of the CPU per message. A
 * statement from the cache starts in the default row mode, as a fresh one would.
 */
function cacheStatements(db: Db): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, ReturnType<Db['prepare']>>();
  db.prepare = ((sql: string) => {
    let stmt = cache.get(sql);
    if (stmt) {
      cache.delete(sql);
      if (stmt.reader) {
        stmt.raw(false);
        stmt.pluck(false);
      }
    } else {
      stmt = prepare(sql);
      if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value as string);
    }
    cache.set(sql, stmt);
    return stmt;
  }) as Db['prepare'];
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      const m = MIGRATIONS[v] as Migration;
      if (typeof m === 'string') db.exec(m);
      else m(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

import { DEFAULT_HEARTBEAT_SECONDS, type DeviceKind, type TelemetryEvent } from '../core/events.ts';
import { type DeviceMemory, EMPTY_MEMORY } from '../core/rules.ts';
import type { LastTest, TestResult } from '../core/chain-test.ts';
import { type DeviceState, deviceStates, type FleetPolicy } from '../core/fleet.ts';
import type { Device, DeviceFlag, NewDevice } from '../core/model.ts';
import { hashDeviceSecret, randomToken, shortId, verifyDeviceSecret } from '../security/secrets.ts';
import { type Db, withoutWaitingForDisk } from './db.ts';

type Row = {
  id: string; tenant_id: string; kind: DeviceKind; serial: string; resident_id: string | null;
  heartbeat_interval_s: number; secret_salt: string; secret_hash: string; created_at: string;
  decommissioned_at: string | null; online: number; last_seen_at: string | null; battery: number | null;
  signal: number | null; firmware: string | null; lat: number | null; lon: number | null; accuracy: number | null;
  position_at: string | null; accepted_count: number; rejected_count: number; last_rejection: string | null;
  last_rejection_at: string | null; maintenance_until: string | null; rule_memory: string | null;
  clock_skew_s: number | null; position_device_ts: string | null; qos0_care_count: number; last_qos0_care_at: string | null;
  id_conflict_count: number; last_id_conflict_at: string | null; refused_connect_count: number;
  last_refused_connect: string | null; last_refused_connect_at: string | null;
  last_test_at: string | null; last_test_result: TestResult | null; last_test_by: string | null; last_passed_test_at: string | null;
};

/** How the device store judges health: the clock skew it flags, the fleet's limits, and the hub's clock. */
export type DeviceHealthPolicy = { clockSkewSeconds: number; fleet: FleetPolicy; now: () => Date };

/** What a listing of the fleet may ask for. */
export type DeviceQuery = {
  kind?: DeviceKind;
  residentId?: string;
  state?: DeviceState;
  /** Part of a serial (or of a device id), case-insensitive. */
  q?: string;
  includeDecommissioned?: boolean;
};

/** A device's own mistake counts as current for this long after it last happened. */
const RECENT_MS = 24 * 3600 * 1000;

/** What the broker and ingest need to know about a connected device. */
export type DeviceIdentity = { deviceId: string; tenantId: string; kind: DeviceKind };

/** What a device's telemetry said since its state was last written (times in epoch ms). */
type PendingState = {
  seenMs: number;
  accepted: number;
  /** The last one noted: its skew is the device's. */
  last: { atMs: number; deviceTs: string };
  heartbeat: { battery: number; signal: number; firmware: string } | null;
  position: { lat: number; lon: number; accuracy: number; atMs: number; deviceTs: string } | null;
};

/** What the rules need of a device: its resident, its maintenance, and its rule memory (geofence, signal streak). */
export type RuleState = Readonly<{ residentId: string | null; maintenanceUntil: string | null; memory: Readonly<DeviceMemory> }>;

/** The device's clock minus the hub's, in seconds (one decimal); null for a time that is no time. */
function skewOf(atMs: number, deviceTs: string): number | null {
  const skew = (Date.parse(deviceTs) - atMs) / 1000;
  return Number.isFinite(skew) ? Math.round(skew * 10) / 10 : null;
}

const KIND_PREFIX: Record<DeviceKind, string> = {
  safety_alarm: 'sa', door_lock: 'dl', gps_tracker: 'gps', medicine_dispenser: 'md',
};

function flagsOf(r: Row, policy: DeviceHealthPolicy): DeviceFlag[] {
  const since = policy.now().getTime() - RECENT_MS;
  const recent = (at: string | null) => at !== null && Date.parse(at) >= since;
  const flags: DeviceFlag[] = [];
  if (r.clock_skew_s !== null && Math.abs(r.clock_skew_s) > policy.clockSkewSeconds) flags.push('clock_skew');
  if (recent(r.last_qos0_care_at)) flags.push('qos0_care_events');
  if (recent(r.last_id_conflict_at)) flags.push('id_conflicts');
  if (recent(r.last_refused_connect_at)) flags.push('refused_connections');
  if (recent(r.last_rejection_at)) flags.push('rejected_payloads');
  return flags;
}

function fromRow(r: Row, policy: DeviceHealthPolicy): Device {
  const d: Omit<Device, 'states'> = {
    id: r.id, tenantId: r.tenant_id, kind: r.kind, serial: r.serial, residentId: r.resident_id,
    heartbeatIntervalSeconds: r.heartbeat_interval_s, createdAt: r.created_at, decommissionedAt: r.decommissioned_at,
    online: r.online === 1, lastSeenAt: r.last_seen_at, battery: r.battery, signal: r.signal, firmware: r.firmware,
    position: r.lat !== null && r.lon !== null && r.position_at !== null
      ? { lat: r.lat, lon: r.lon, accuracy: r.accuracy ?? 0, at: r.position_at, deviceTs: r.position_device_ts } : null,
    clockSkewSeconds: r.clock_skew_s,
    qos0CareEvents: r.qos0_care_count,
    idConflicts: r.id_conflict_count,
    refusedConnections: r.refused_connect_count,
    lastRefusedConnection: r.last_refused_connect !== null && r.last_refused_connect_at !== null ? { reason: r.last_refused_connect, at: r.last_refused_connect_at } : null,
    flags: flagsOf(r, policy),
    maintenanceUntil: r.maintenance_until,
    acceptedCount: r.accepted_count, rejectedCount: r.rejected_count,
    lastRejection: r.last_rejection !== null && r.last_rejection_at !== null ? { reason: r.last_rejection, at: r.last_rejection_at } : null,
    lastTest: r.last_test_at && r.last_test_result ? { at: r.last_test_at, result: r.last_test_result, by: r.last_test_by ?? 'system' } : null,
    lastPassedTestAt: r.last_passed_test_at,
  };
  return { ...d, states: deviceStates(d, policy.now(), policy.fleet) };
}

export class DeviceStore {
  private readonly stmt;
  /**
   * Device state from heartbeats and positions, held here and written in batches
   * (`writeTelemetry`): a fleet sending thousands a second costs one row update per device per
   * batch, not one per message. Every read of device state here writes it first (the silence
   * check reads it instead, `silentCandidates`), and so does every other write of the same
   * columns, so nobody reads an older state than before and a later care event is never
   * overwritten by an earlier heartbeat.
   */
  private pending = new Map<string, PendingState>();
  /**
   * What the rules read of each device (resident, maintenance, rule memory), as last read. Every
   * write of those columns goes through this store and drops the device's entry; a rollback of
   * anything that may have written them drops all (`dropRuleStates`), since a read inside the
   * rolled-back transaction may have seen what it took back.
   */
  private ruleStates = new Map<string, RuleState>();

  constructor(private readonly db: Db, private readonly policy: DeviceHealthPolicy) {
    this.stmt = {
      get: db.prepare('SELECT * FROM devices WHERE id = ?'),
      insert: db.prepare(`INSERT INTO devices (id, tenant_id, kind, serial, resident_id, heartbeat_interval_s, secret_salt, secret_hash, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      serialTaken: db.prepare('SELECT 1 FROM devices WHERE tenant_id = ? AND serial = ? AND decommissioned_at IS NULL'),
      auth: db.prepare('SELECT id, tenant_id, kind, secret_salt, secret_hash FROM devices WHERE id = ? AND decommissioned_at IS NULL'),
      seen: db.prepare('UPDATE devices SET last_seen_at = max(coalesce(last_seen_at, \'\'), ?), accepted_count = accepted_count + ? WHERE id = ?'),
      seenEvent: db.prepare('UPDATE devices SET last_seen_at = max(coalesce(last_seen_at, \'\'), ?), accepted_count = accepted_count + 1, clock_skew_s = ? WHERE id = ?'),
      qos0: db.prepare('UPDATE devices SET qos0_care_count = qos0_care_count + 1, last_qos0_care_at = ? WHERE id = ?'),
      idConflict: db.prepare('UPDATE devices SET id_conflict_count = id_conflict_count + 1, last_id_conflict_at = ? WHERE id = ?'),
      refusedConnect: db.prepare('UPDATE devices SET refused_connect_count = refused_connect_count + 1, last_refused_connect = ?, last_refused_connect_at = ? WHERE id = ?'),
      telemetry: db.prepare(`UPDATE devices SET last_seen_at = max(coalesce(last_seen_at, ''), ?), accepted_count = accepted_count + ?, clock_skew_s = ?,
        battery = coalesce(?, battery), signal = coalesce(?, signal), firmware = coalesce(?, firmware) WHERE id = ?`),
      battery: db.prepare('UPDATE devices SET battery = ? WHERE id = ?'),
      position: db.prepare('UPDATE devices SET lat = ?, lon = ?, accuracy = ?, position_at = ?, position_device_ts = ? WHERE id = ? AND (position_at IS NULL OR position_at <= ?)'),
      online: db.prepare('UPDATE devices SET online = ? WHERE id = ?'),
      ruleState: db.prepare('SELECT resident_id, maintenance_until, rule_memory FROM devices WHERE id = ?'),
      setMemory: db.prepare('UPDATE devices SET rule_memory = ? WHERE id = ?'),
      rejected: db.prepare('UPDATE devices SET rejected_count = rejected_count + 1, last_rejection = ?, last_rejection_at = ? WHERE id = ?'),
    };
  }

  /** Registers a device; the MQTT password is returned only here. Null when the serial is in use. */
  create(input: NewDevice, now: Date): { device: Device; password: string } | null {
    const id = shortId(KIND_PREFIX[input.kind]);
    const password = randomToken(24);
    const salt = randomToken(12);
    try {
      this.stmt.insert.run(id, input.tenantId, input.kind, input.serial, input.residentId ?? null,
        input.heartbeatIntervalSeconds ?? DEFAULT_HEARTBEAT_SECONDS[input.kind], salt, hashDeviceSecret(password, salt), now.toISOString());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return null;
      throw err;
    }
    return { device: this.get(id) as Device, password };
  }

  get(id: string): Device | undefined {
    this.settle(id);
    const r = this.stmt.get.get(id) as Row | undefined;
    return r && fromRow(r, this.policy);
  }

  /**
   * Devices of the municipalities given, filtered. The database narrows by municipality, kind,
   * resident and serial; the states are computed and filtered here. A decommissioned device is
   * listed only when asked for, or when the state asked for is `decommissioned`.
   */
  list(tenantIds: readonly string[] | 'all', q: DeviceQuery = {}): Device[] {
    this.writeTelemetry();
    const where: string[] = [];
    const args: unknown[] = [];
    if (tenantIds !== 'all') {
      if (tenantIds.length === 0) return [];
      where.push(`tenant_id IN (${tenantIds.map(() => '?').join(', ')})`);
      args.push(...tenantIds);
    }
    if (!q.includeDecommissioned && q.state !== 'decommissioned') where.push('decommissioned_at IS NULL');
    if (q.kind) { where.push('kind = ?'); args.push(q.kind); }
    if (q.residentId) { where.push('resident_id = ?'); args.push(q.residentId); }
    if (q.q) { where.push("(instr(lower(serial), lower(?)) > 0 OR instr(id, lower(?)) > 0)"); args.push(q.q, q.q); }
    const rows = this.db.prepare(`SELECT * FROM devices ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY tenant_id, id`).all(...args) as Row[];
    const devices = rows.map((r) => fromRow(r, this.policy));
    return q.state ? devices.filter((d) => d.states.includes(q.state as DeviceState)) : devices;
  }

  /** Whether an active device of the municipality has this serial. */
  serialTaken(tenantId: string, serial: string): boolean {
    return this.stmt.serialTaken.get(tenantId, serial) !== undefined;
  }

  /** Issues a new password; the old one stops working at once. Returns the new one (shown once). */
  rotateSecret(id: string, by: { userId: string | null; username: string }, now: Date): string | null {
    const password = randomToken(24);
    const salt = randomToken(12);
    const changed = this.db.prepare('UPDATE devices SET secret_salt = ?, secret_hash = ? WHERE id = ? AND decommissioned_at IS NULL')
      .run(salt, hashDeviceSecret(password, salt), id).changes === 1;
    if (!changed) return null;
    this.db.prepare('INSERT INTO credential_rotations (device_id, at, user_id, username) VALUES (?, ?, ?, ?)').run(id, now.toISOString(), by.userId, by.username);
    return password;
  }

  rotations(id: string): { at: string; by: string }[] {
    return (this.db.prepare('SELECT at, username FROM credential_rotations WHERE device_id = ? ORDER BY seq DESC').all(id) as { at: string; username: string }[])
      .map((r) => ({ at: r.at, by: r.username }));
  }

  /** Moves an active device to another resident (or to none); the change is kept. */
  assign(id: string, residentId: string | null, by: string, now: Date): boolean {
    const before = this.db.prepare('SELECT resident_id FROM devices WHERE id = ? AND decommissioned_at IS NULL').get(id) as { resident_id: string | null } | undefined;
    if (!before) return false;
    this.ruleStates.delete(id);
    this.db.prepare('UPDATE devices SET resident_id = ? WHERE id = ?').run(residentId, id);
    this.db.prepare('INSERT INTO device_assignments (device_id, at, from_resident, to_resident, username) VALUES (?, ?, ?, ?, ?)')
      .run(id, now.toISOString(), before.resident_id, residentId, by);
    return true;
  }

  assignments(id: string): { at: string; from: string | null; to: string | null; by: string }[] {
    return (this.db.prepare('SELECT at, from_resident, to_resident, username FROM device_assignments WHERE device_id = ? ORDER BY seq DESC').all(id) as { at: string; from_resident: string | null; to_resident: string | null; username: string }[])
      .map((r) => ({ at: r.at, from: r.from_resident, to: r.to_resident, by: r.username }));
  }

  /** Records how a chain test ended on the device. */
  recordTest(id: string, t: LastTest): void {
    this.db.prepare(`UPDATE devices SET last_test_at = ?, last_test_result = ?, last_test_by = ?,
      last_passed_test_at = CASE WHEN ? = 'passed' THEN ? ELSE last_passed_test_at END WHERE id = ?`)
      .run(t.at, t.result, t.by, t.result, t.at, id);
  }

  /** The identity of an active device, by its id (a client certificate names it). */
  identity(deviceId: string): DeviceIdentity | null {
    const r = this.stmt.auth.get(deviceId) as Pick<Row, 'id' | 'tenant_id' | 'kind'> | undefined;
    return r ? { deviceId: r.id, tenantId: r.tenant_id, kind: r.kind } : null;
  }

  /** Checks an MQTT username and password; null for an unknown, decommissioned or wrong one. */
  authenticate(deviceId: string, password: string): DeviceIdentity | null {
    const r = this.stmt.auth.get(deviceId) as Pick<Row, 'id' | 'tenant_id' | 'kind' | 'secret_salt' | 'secret_hash'> | undefined;
    if (!r || !verifyDeviceSecret(password, r.secret_salt, r.secret_hash)) return null;
    return { deviceId: r.id, tenantId: r.tenant_id, kind: r.kind };
  }

  /** Returns false when there is no such active device. */
  decommission(id: string, now: Date): boolean {
    this.ruleStates.delete(id);
    return this.db.prepare('UPDATE devices SET decommissioned_at = ?, online = 0 WHERE id = ? AND decommissioned_at IS NULL')
      .run(now.toISOString(), id).changes === 1;
  }

  /** Records a sign of life; `accepted` counts it as an accepted event. */
  markSeen(id: string, at: Date, accepted = true): void {
    this.stmt.seen.run(at.toISOString(), accepted ? 1 : 0, id);
  }

  /**
   * Records an accepted event: seen at the hub's time `at`, and how far the device's clock is
   * off it (the device's time minus the hub's, in seconds). Nothing here trusts the device's time.
   */
  markEvent(id: string, at: Date, deviceTs: string): void {
    this.settle(id);
    this.stmt.seenEvent.run(at.toISOString(), skewOf(at.getTime(), deviceTs), id);
  }

  /**
   * A heartbeat or a position, accepted at the hub's time `at`: what `markEvent` and the setters
   * would write, held until `writeTelemetry` (or a read, or another write of the device) writes it.
   */
  noteTelemetry(id: string, at: Date, t: TelemetryEvent): void {
    const atMs = at.getTime();
    let p = this.pending.get(id);
    if (!p) {
      p = { seenMs: atMs, accepted: 0, last: { atMs, deviceTs: t.ts }, heartbeat: null, position: null };
      this.pending.set(id, p);
    }
    if (atMs > p.seenMs) p.seenMs = atMs;
    p.accepted++;
    p.last = { atMs, deviceTs: t.ts };
    if (t.type === 'heartbeat') p.heartbeat = { battery: t.battery, signal: t.signal, firmware: t.firmware };
    // The newest position by the hub's received time, never by the device's clock: one fix
    // dated years ahead must not freeze it. The device's time is kept beside it.
    else if (!p.position || atMs >= p.position.atMs) p.position = { lat: t.lat, lon: t.lon, accuracy: t.accuracy, atMs, deviceTs: t.ts };
  }

  /** Devices with telemetry not yet written. */
  pendingTelemetry(): number {
    return this.pending.size;
  }

  /**
   * Writes the telemetry held so far, or the `limit` devices held longest (in the caller's
   * transaction, or one of its own). Returns how many devices it wrote.
   */
  writeTelemetry(limit = Infinity): number {
    if (this.pending.size === 0) return 0;
    let batch = this.pending;
    if (this.pending.size <= limit) {
      this.pending = new Map();
    } else {
      batch = new Map();
      for (const [id, p] of this.pending) {
        if (batch.size >= limit) break;
        batch.set(id, p);
      }
      for (const id of batch.keys()) this.pending.delete(id);
    }
    try {
      this.lightly(() => this.db.transaction(() => { for (const [id, p] of batch) this.writePending(id, p); })());
    } catch (err) {
      // Not written: kept for the next try, behind anything newer noted meanwhile.
      for (const [id, p] of batch) if (!this.pending.has(id)) this.pending.set(id, p);
      throw err;
    }
    return batch.size;
  }

  /** Writes one device's held telemetry before anything reads or writes the same state. */
  private settle(id: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.lightly(() => this.writePending(id, p));
    this.pending.delete(id);
  }

  /**
   * Held telemetry written by a read (an API call, outside any transaction) is a commit of its
   * own: it need not wait for the disk, any more than in the group commit. Inside a transaction
   * it is part of the caller's commit.
   */
  private lightly(fn: () => void): void {
    if (this.db.inTransaction) fn();
    else withoutWaitingForDisk(this.db, fn);
  }

  private writePending(id: string, p: PendingState): void {
    const h = p.heartbeat;
    this.stmt.telemetry.run(new Date(p.seenMs).toISOString(), p.accepted, skewOf(p.last.atMs, p.last.deviceTs), h?.battery ?? null, h?.signal ?? null, h?.firmware ?? null, id);
    const pos = p.position;
    if (pos) {
      const at = new Date(pos.atMs).toISOString();
      this.stmt.position.run(pos.lat, pos.lon, pos.accuracy, at, pos.deviceTs, id, at);
    }
  }

  /** A care event came with QoS 0: stored, but its sender could not know it arrived. */
  recordQos0Care(id: string, at: Date): void {
    this.stmt.qos0.run(at.toISOString(), id);
  }

  /** The device reused an event id for other content (its counter restarted). */
  recordIdConflict(id: string, at: Date): void {
    this.stmt.idConflict.run(at.toISOString(), id);
  }

  /** A connection with this device's credentials was refused (e.g. another device's client id). */
  recordRefusedConnection(id: string, reason: string, at: Date): void {
    this.stmt.refusedConnect.run(reason, at.toISOString(), id);
  }

  setBattery(id: string, battery: number): void {
    this.settle(id);
    this.stmt.battery.run(battery, id);
  }

  setOnline(id: string, online: boolean): void {
    this.stmt.online.run(online ? 1 : 0, id);
  }

  recordRejection(id: string, reason: string, at: Date): void {
    this.stmt.rejected.run(reason, at.toISOString(), id);
  }

  /** What the rules need of the device: its resident, its maintenance, and its rule memory (geofence, signal streak). */
  ruleState(id: string): RuleState {
    const known = this.ruleStates.get(id);
    if (known) return known;
    const r = this.stmt.ruleState.get(id) as { resident_id: string | null; maintenance_until: string | null; rule_memory: string | null } | undefined;
    const state: RuleState = Object.freeze({
      residentId: r?.resident_id ?? null,
      maintenanceUntil: r?.maintenance_until ?? null,
      memory: Object.freeze(r?.rule_memory ? { ...EMPTY_MEMORY, ...(JSON.parse(r.rule_memory) as Partial<DeviceMemory>) } : EMPTY_MEMORY),
    });
    if (r) this.ruleStates.set(id, state);
    return state;
  }

  /** Forgets every rule state read so far: something that may have written one was rolled back. */
  dropRuleStates(): void {
    this.ruleStates.clear();
  }

  /** A resident's erasure: the device's positions and its rule memory (where it was) go. */
  erasePositions(id: string): void {
    this.settle(id);
    this.ruleStates.delete(id);
    this.db.prepare('UPDATE devices SET lat = NULL, lon = NULL, accuracy = NULL, position_at = NULL, position_device_ts = NULL, rule_memory = NULL WHERE id = ?').run(id);
  }

  setMemory(id: string, memory: DeviceMemory): void {
    this.ruleStates.delete(id);
    this.stmt.setMemory.run(JSON.stringify(memory), id);
  }

  setMaintenance(id: string, until: Date | null): void {
    this.ruleStates.delete(id);
    this.db.prepare('UPDATE devices SET maintenance_until = ? WHERE id = ?').run(until ? until.toISOString() : null, id);
  }

  /**
   * Active devices silent for at least `minIntervals` of their own heartbeat interval at `now`,
   * with what the silence check needs. The database does the filtering: most devices are not
   * silent, and there may be a hundred thousand of them. Held telemetry is not written for it (a
   * fleet's held half second would hold the pass): a device the database finds silent whose held
   * state says it spoke since is left out, and one silent even so has its held state written
   * first.
   */
  silentCandidates(now: Date, minIntervals: number): { id: string; tenantId: string; residentId: string | null; lastSeenAt: string; intervalSeconds: number; maintenanceUntil: string | null }[] {
    const rows = this.db.prepare(
      `SELECT id, tenant_id, resident_id, coalesce(last_seen_at, created_at) AS seen, heartbeat_interval_s, maintenance_until
       FROM devices
       WHERE decommissioned_at IS NULL
         AND (julianday(?) - julianday(coalesce(last_seen_at, created_at))) * 86400.0 >= heartbeat_interval_s * ?`,
    ).all(now.toISOString(), minIntervals) as { id: string; tenant_id: string; resident_id: string | null; seen: string; heartbeat_interval_s: number; maintenance_until: string | null }[];
    const silent = [];
    for (const r of rows) {
      const held = this.pending.get(r.id);
      if (held) {
        if (now.getTime() - held.seenMs < r.heartbeat_interval_s * minIntervals * 1000) continue;
        this.settle(r.id);
        if (held.seenMs > Date.parse(r.seen)) r.seen = new Date(held.seenMs).toISOString();
      }
      silent.push({ id: r.id, tenantId: r.tenant_id, residentId: r.resident_id, lastSeenAt: r.seen, intervalSeconds: r.heartbeat_interval_s, maintenanceUntil: r.maintenance_until });
    }
    return silent;
  }
}

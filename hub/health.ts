/**
 * What `/api/health` and `/api/ready` say, and why. The hub must never report `ok` while it
 * cannot store what devices send: every write outcome of the operational store is reported here
 * (the group-commit writer and the HTTP error handler), and so are the free space under the data
 * directory, the time-series backlog and the alarm scheduler's pace.
 *
 * - failing: the last write to the operational store failed and none has succeeded since
 *   (database locked by another process, I/O error), or writes keep failing even though small
 *   ones still succeed (a full disk fails only the writes that need room: three or more
 *   failures in 30 s, the last within 5 s), or the disk is full. Devices are not acknowledged for what could not be
 *   stored; they resend.
 * - degraded: writes failed recently but succeed again, little disk is left, the time-series
 *   buffer is past its threshold, or the scheduler runs late or fails.
 */
import { statfsSync } from 'node:fs';

export type HealthStatus = 'ok' | 'degraded' | 'failing';
export type HealthReport = { status: HealthStatus; reasons: string[] };

export type HealthInputs = {
  /** Time-series points waiting to be written, and the threshold that makes this degraded. */
  timeseriesPending: number;
  timeseriesThreshold: number;
  /** The scheduler: when its last pass ended (monotonic ms), whether it failed, its period. */
  scheduler: { lastPassAt: number | null; lastError: string | null; tickMs: number };
};

const RECENT_MS = 5 * 60_000;
const REPEATED_MS = 30_000;
const REPEATED_FAILURES = 3;
const STILL_FAILING_MS = 5000;
const DISK_FAILING_BYTES = 16 * 1024 * 1024;
const DISK_DEGRADED_BYTES = 256 * 1024 * 1024;

export class HealthMonitor {
  private lastOk: number | null = null;
  private lastFailure: { at: number; message: string } | null = null;
  private failures: number[] = [];
  private shuttingDown = false;

  constructor(private readonly dataDir: string, private readonly clock: () => number = () => performance.now()) {}

  /** A write to the operational store committed. */
  storeOk(): void {
    this.lastOk = this.clock();
  }

  /** A write to the operational store failed. */
  storeFailed(err: unknown): void {
    const at = this.clock();
    this.lastFailure = { at, message: describe(err) };
    this.failures.push(at);
    if (this.failures.length > 1000) this.failures.splice(0, this.failures.length - 1000);
  }

  /** From now on the hub is not ready (it is shutting down). */
  stopping(): void {
    this.shuttingDown = true;
  }

  report(inputs: HealthInputs): HealthReport {
    const now = this.clock();
    const failing: string[] = [];
    const degraded: string[] = [];

    this.failures = this.failures.filter((t) => now - t < RECENT_MS);
    const repeated = this.failures.filter((t) => now - t < REPEATED_MS).length;
    if (this.lastFailure && (this.lastOk === null || this.lastOk < this.lastFailure.at)) {
      failing.push(`operational store: writes are failing (${this.lastFailure.message})`);
    } else if (repeated >= REPEATED_FAILURES && this.lastFailure && now - this.lastFailure.at < STILL_FAILING_MS) {
      failing.push(`operational store: ${repeated} writes failed in the last 30 seconds (last: ${this.lastFailure?.message})`);
    } else if (this.failures.length > 0) {
      degraded.push(`operational store: ${this.failures.length} write(s) failed in the last 5 minutes (last: ${this.lastFailure?.message}); writing again now`);
    }

    const free = freeBytes(this.dataDir);
    if (free !== null) {
      const mb = Math.round(free / 1024 / 1024);
      if (free < DISK_FAILING_BYTES) failing.push(`disk: only ${mb} MB free under the data directory`);
      else if (free < DISK_DEGRADED_BYTES) degraded.push(`disk: only ${mb} MB free under the data directory`);
    }

    if (inputs.timeseriesPending > inputs.timeseriesThreshold) {
      degraded.push(`time series: ${inputs.timeseriesPending} points waiting to be written (threshold ${inputs.timeseriesThreshold})`);
    }

    const s = inputs.scheduler;
    if (s.lastError) degraded.push(`alarm scheduler: its last pass failed (${s.lastError})`);
    const lateMs = s.lastPassAt === null ? null : now - s.lastPassAt;
    const allowed = Math.max(5 * s.tickMs, 2000);
    if (lateMs !== null && lateMs > allowed) degraded.push(`alarm scheduler: no pass for ${Math.round(lateMs)} ms (expected every ${s.tickMs} ms)`);

    if (this.shuttingDown) failing.push('shutting down');
    const status: HealthStatus = failing.length > 0 ? 'failing' : degraded.length > 0 ? 'degraded' : 'ok';
    return { status, reasons: [...failing, ...degraded] };
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

function freeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

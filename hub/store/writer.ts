/**
 * Group commit. Writes queued within one turn of the event loop run in one SQLite transaction,
 * so a burst of events (a power cut: hundreds of `mains_lost` at once) costs one fsync, and each
 * caller's promise resolves only when its write is on disk. A failing write is rolled back alone
 * (a savepoint each) and rejects only its own promise.
 */
import { type Db, isStoreFailure, withoutWaitingForDisk } from './db.ts';

type Job = { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void; durable: boolean; savepoint: boolean };
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Hears how each commit went: for health. A write's own error (a constraint) is not a store failure. */
export type CommitObserver = {
  storeOk(): void;
  storeFailed(err: unknown): void;
  committed?(writes: number, seconds: number): void;
  /** A write, or a whole batch, was rolled back: what was read inside it may not be so. */
  rolledBack?(): void;
};

export class GroupCommitWriter {
  private queue: Job[] = [];
  private scheduled = false;
  private readonly commit: (jobs: Job[]) => Outcome[];

  /**
   * `windowMs`: how long to gather writes before committing. 0 commits on the next turn of the
   * event loop; a few milliseconds trade latency for fewer fsyncs on slow disks.
   */
  constructor(private readonly db: Db, private readonly windowMs = 0, private readonly observer?: CommitObserver) {
    const one = db.transaction((job: Job) => job.fn());
    this.commit = db.transaction((jobs: Job[]) => jobs.map((job): Outcome => {
      try {
        return { ok: true, value: job.savepoint ? one(job) : job.fn() };
      } catch (error) {
        // The store itself failed (full, locked, I/O): SQLite may have rolled back the whole
        // transaction already, so the batch fails as one, with the real cause.
        if (isStoreFailure(error)) throw error;
        return { ok: false, error };
      }
    }));
  }

  /**
   * Runs `fn` inside the next group transaction; resolves with its result once committed.
   *
   * `durable: false` is for what may be lost in a power cut but not in a crash of the hub
   * (heartbeats, positions: "last seen"). A batch of only such writes commits with
   * `synchronous = NORMAL`: in WAL mode the commit is in the operating system's hands when it
   * returns, without waiting for the disk. The next durable commit syncs the log, and with it
   * everything before. A batch with one durable write in it is synced as a whole.
   *
   * `savepoint: false` is for a `fn` that never throws after it has written (it keeps its own
   * savepoint where it writes, and catches): it runs without one of its own, which is most of
   * the cost of a write that, as most heartbeats, turns out to write nothing.
   */
  run<T>(fn: () => T, opts: { durable?: boolean; savepoint?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject, durable: opts.durable ?? true, savepoint: opts.savepoint ?? true });
      if (!this.scheduled) {
        this.scheduled = true;
        if (this.windowMs > 0) setTimeout(() => this.flush(), this.windowMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  /** Commits whatever is queued now. */
  flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    this.queue = [];
    if (jobs.length === 0) return;
    let outcomes: Outcome[];
    const started = performance.now();
    try {
      outcomes = jobs.some((j) => j.durable) ? this.commit(jobs) : withoutWaitingForDisk(this.db, () => this.commit(jobs));
      this.observer?.committed?.(jobs.length, (performance.now() - started) / 1000);
    } catch (err) {
      this.observer?.storeFailed(err);
      this.observer?.rolledBack?.();
      for (const job of jobs) job.reject(err);
      return;
    }
    this.observer?.storeOk();
    if (outcomes.some((o) => !o.ok)) this.observer?.rolledBack?.();
    // Only now, committed, does anyone hear of the result.
    outcomes.forEach((o, i) => {
      const job = jobs[i] as Job;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.error);
    });
  }
}

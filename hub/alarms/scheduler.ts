/**
 * Drives the alarm service's clock: escalations and watches every `tickMs`, the silence check
 * every `silenceEveryMs`. Deadlines live in the store; this only looks at them, so a restart
 * loses none and the first tick after it fires whatever fell due meanwhile.
 */
import type { Logger } from 'pino';
import type { GroupCommitWriter } from '../store/writer.ts';
import type { AlarmService } from './service.ts';

export type SchedulerOptions = { tickMs: number; silenceEveryMs: number };

export class AlarmScheduler {
  private timer: NodeJS.Timeout | null = null;
  private lastSilence = 0;
  private running: Promise<void> | null = null;
  /** For health: when the last pass ended (monotonic ms) and whether it failed. */
  lastPassAt: number | null = null;
  lastError: string | null = null;

  constructor(
    private readonly service: AlarmService,
    private readonly writer: GroupCommitWriter,
    private readonly now: () => Date,
    private readonly log: Logger,
    private readonly opts: SchedulerOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => { void this.tick(); }, this.opts.tickMs);
    void this.tick();
  }

  /** One pass; passes never overlap. */
  tick(): Promise<void> {
    this.running ??= (async () => {
      const now = this.now();
      const silence = now.getTime() - this.lastSilence >= this.opts.silenceEveryMs;
      if (silence) this.lastSilence = now.getTime();
      try {
        const changes = await this.writer.run(() => this.service.tick(now, { silence }));
        this.service.publish(changes);
        // Committed, outside any transaction: the lookups heartbeats skip are brought up to date.
        if (silence) this.service.forgetEnded();
        this.lastError = null;
      } catch (err) {
        this.lastError = err instanceof Error ? err.message : String(err);
        this.log.error({ err }, 'alarms: scheduler pass failed; trying again next tick');
      }
      this.lastPassAt = performance.now();
    })().finally(() => { this.running = null; });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}

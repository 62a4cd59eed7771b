/**
 * Runs a synthetic municipality's devices: every device its own MQTT client, driven by its
 * behaviour on simulation time, with a scenario's steps applied when their time comes.
 */
import { makeBehaviour, type Mode } from './behaviours.ts';
import type { SimClock } from './clock.ts';
import { type DeviceStats, SimDevice } from './device.ts';
import type { Municipality } from './municipality.ts';
import { Rng } from './rng.ts';
import type { TimedStep } from './scenario.ts';

export type SimulationOptions = {
  mqttUrl: string;
  municipality: Municipality;
  seed: number;
  mode: Mode;
  clock: SimClock;
  tickMs?: number;
  steps?: TimedStep[];
  /** Unique per run, so a re-run's event ids are new to the hub. */
  runId?: string;
  log?: (line: string) => void;
};

export class Simulation {
  readonly devices = new Map<string, SimDevice>();
  readonly stats: DeviceStats = { sent: 0, acked: 0, errors: 0, commands: 0, ackMs: [] };
  private last: Date;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly steps: TimedStep[];

  constructor(private readonly o: SimulationOptions) {
    this.last = o.clock.now();
    this.steps = [...(o.steps ?? [])];
    const rng = new Rng(o.seed);
    const runId = o.runId ?? Date.now().toString(36);
    for (const d of o.municipality.devices) {
      const r = o.municipality.residents.find((x) => x.index === d.residentIndex);
      const behaviour = makeBehaviour({
        kind: d.kind, rng: rng.fork(d.residentIndex * 8 + d.kind.length), mode: o.mode, heartbeatSeconds: d.heartbeatIntervalSeconds,
        idPrefix: `${runId}-${d.residentIndex}-${d.kind}`, start: this.last,
        ...(r ? { home: r.home, safeZone: r.safeZone ?? null, wanderingRisk: r.riskFlags?.includes('wandering_risk') ?? false } : {}),
      });
      this.devices.set(`${d.residentIndex}|${d.kind}`, new SimDevice(d.id, d.password, behaviour, o.mqttUrl, this.stats));
    }
  }

  device(resident: number, kind: string): SimDevice | undefined {
    return this.devices.get(`${resident}|${kind}`);
  }

  async start(): Promise<void> {
    const all = [...this.devices.values()];
    for (let i = 0; i < all.length; i += 100) await Promise.all(all.slice(i, i + 100).map((d) => d.connect()));
    this.last = this.o.clock.now();
    this.timer = setInterval(() => { this.running ??= this.tick().finally(() => { this.running = null; }); }, this.o.tickMs ?? 250);
  }

  private async tick(): Promise<void> {
    const now = this.o.clock.now();
    while (this.steps.length > 0 && (this.steps[0] as TimedStep).at <= now) {
      const s = this.steps.shift() as TimedStep;
      const d = this.device(s.resident, s.device);
      if (!d) {
        this.o.log?.(`step ${s.do}: resident ${s.resident} has no ${s.device}`);
        continue;
      }
      this.o.log?.(`${s.at.toISOString()} resident ${s.resident} ${s.device}: ${s.do}${s.note ? ` (${s.note})` : ''}`);
      if (s.do === 'flap') await d.flap();
      else d.behaviour.act(s.do, s.at);
    }
    const from = this.last;
    this.last = now;
    await Promise.all([...this.devices.values()].map((d) => d.step(from, now)));
  }

  /** Resolves when simulated time reaches `end` and the last tick is done. */
  async runUntil(end: Date): Promise<void> {
    while (this.o.clock.now() < end) await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(20, this.o.clock.realDelayUntil(end)))));
    await this.running;
    await this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await Promise.all([...this.devices.values()].map((d) => d.close()));
  }
}

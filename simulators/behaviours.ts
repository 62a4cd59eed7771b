/**
 * How each kind of device behaves, as described in DOMAIN.md. Pure and deterministic: a
 * behaviour is asked for the events whose time falls in [from, to) and answers from its own
 * seeded generator, so a simulated week runs in milliseconds in a test and the same seed gives
 * the same week. Every event is typed by the hub's schemas.
 *
 * 'lively' devices live a life (buttons, falls, visits, walks, doses); 'quiet' ones only send
 * heartbeats (and a GPS its position at home), so a scenario's own steps are all that happens.
 */
import type { DeviceEvent, DeviceKind, DoorLockEvent, GpsTrackerEvent, MedicineDispenserEvent, SafetyAlarmEvent } from '../hub/core/events.ts';
import { insideZone, type SafeZone } from '../hub/core/geo.ts';
import { localMinutes } from '../hub/core/localtime.ts';
import { offsetMetres } from './population.ts';
import type { Rng } from './rng.ts';

export type Mode = 'lively' | 'quiet';

/** What a scenario can make a device do. */
export const ACTIONS = [
  'press_button', 'fall', 'cancel', 'mains_lost', 'mains_restored', 'pendant_out_of_range',
  'open_door', 'force_door', 'leave_door_open',
  'leave_safe_zone', 'return_home', 'sos',
  'skip_dose', 'dose_due', 'take_dose', 'jam',
  'battery_low', 'go_silent', 'come_back',
] as const;
export type Action = (typeof ACTIONS)[number];

export type BehaviourOptions = {
  kind: DeviceKind;
  rng: Rng;
  mode: Mode;
  heartbeatSeconds: number;
  /** Prefix of event ids; unique per run so a re-run's events are new to the hub. */
  idPrefix: string;
  start: Date;
  home?: { lat: number; lon: number };
  safeZone?: SafeZone | null;
  wanderingRisk?: boolean;
  firmware?: string;
};

type Pending = { at: number; event: DeviceEvent };
type Base = { id: string; ts: string };

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

export abstract class Behaviour {
  readonly kind: DeviceKind;
  /** A silent device sends nothing at all (and its connection dies without a last will). */
  silent = false;
  protected readonly rng: Rng;
  protected readonly mode: Mode;
  protected battery: number;
  protected pending: Pending[] = [];
  private seq = 0;
  private nextHeartbeat: number;
  private lowBatterySent = false;

  constructor(protected readonly o: BehaviourOptions) {
    this.kind = o.kind;
    this.rng = o.rng;
    this.mode = o.mode;
    this.battery = o.mode === 'quiet' ? 95 : this.rng.int(55, 100);
    // Spread heartbeats so a thousand devices do not all report in the same second.
    this.nextHeartbeat = o.start.getTime() + this.rng.next() * o.heartbeatSeconds * 1000;
  }

  protected base(at: number): Base {
    return { id: `${this.o.idPrefix}-${++this.seq}`, ts: new Date(at).toISOString() };
  }

  protected schedule(at: number, make: (b: Base) => DeviceEvent): void {
    const event = make(this.base(at));
    const i = this.pending.findIndex((p) => p.at > at);
    if (i === -1) this.pending.push({ at, event });
    else this.pending.splice(i, 0, { at, event });
  }

  /** Rate per hour → the chance in a window of `ms`. */
  protected happens(perHour: number, ms: number): boolean {
    return this.mode === 'lively' && this.rng.chance(1 - Math.exp((-perHour * ms) / HOUR));
  }

  /** The events with time in [from, to). */
  tick(from: Date, to: Date): DeviceEvent[] {
    const f = from.getTime();
    const t = to.getTime();
    this.live(f, t);
    while (this.nextHeartbeat < t) {
      if (this.nextHeartbeat >= f) {
        const at = this.nextHeartbeat;
        this.schedule(at, (b) => ({ ...b, type: 'heartbeat', battery: Math.round(this.battery), signal: this.signal(), firmware: this.o.firmware ?? '2.4.1' }));
      }
      this.nextHeartbeat += this.o.heartbeatSeconds * 1000 * this.rng.between(0.97, 1.0);
    }
    if (!this.lowBatterySent && this.battery < 15) {
      this.lowBatterySent = true;
      this.schedule(f, (b) => ({ ...b, type: 'battery_low', battery: Math.round(this.battery) }));
    }
    if (this.battery >= 30) this.lowBatterySent = false;
    const due: DeviceEvent[] = [];
    while (this.pending.length > 0 && (this.pending[0] as Pending).at < t) {
      const p = this.pending.shift() as Pending;
      if (!this.silent) due.push(p.event);
    }
    return due;
  }

  protected signal(): number {
    return Math.round(clamp(this.mode === 'quiet' ? -70 : this.rng.normal(-76, 7), -120, -40));
  }

  /** What the device does between `from` and `to` on its own. */
  protected abstract live(from: number, to: number): void;

  /** A scenario step; returns false for an action this kind cannot do. */
  act(action: Action, at: Date): boolean {
    const t = at.getTime();
    switch (action) {
      case 'go_silent':
        this.silent = true;
        return true;
      case 'come_back':
        this.silent = false;
        this.nextHeartbeat = t;
        return true;
      case 'battery_low':
        this.battery = 9;
        this.schedule(t, (b) => ({ ...b, type: 'battery_low', battery: 9 }));
        this.lowBatterySent = true;
        return true;
      default:
        return this.actKind(action, t);
    }
  }

  protected abstract actKind(action: Action, at: number): boolean;
}

export class SafetyAlarmBehaviour extends Behaviour {
  private onMains = true;
  private mainsBackAt: number | null = null;

  protected live(from: number, to: number): void {
    const ms = to - from;
    if (this.mainsBackAt !== null && this.mainsBackAt <= from) {
      this.onMains = true;
      this.mainsBackAt = null;
    }
    // The battery drains slowly (about 1 % a day: months between replacements); without mains
    // the base unit runs on it and it lasts two to three days.
    this.battery = Math.max(0, this.battery - (this.onMains ? ms / DAY : (ms / HOUR) * 1.6));
    if (this.happens(1 / 72, ms)) this.alarm(from + this.rng.next() * ms, 'button_pressed');
    if (this.happens(1 / 240, ms)) this.alarm(from + this.rng.next() * ms, 'fall_detected');
    if (this.onMains && this.happens(1 / 720, ms)) {
      const at = from + this.rng.next() * ms;
      this.actKind('mains_lost', at);
      this.mainsBackAt = at + this.rng.between(10, 120) * 60_000;
      this.schedule(this.mainsBackAt, (b) => ({ ...b, type: 'mains_restored' }));
    }
    if (this.happens(1 / 1440, ms)) this.actKind('pendant_out_of_range', from + this.rng.next() * ms);
  }

  /** A button or a fall; users press by accident and cancel, so now and then a cancel follows. */
  private alarm(at: number, type: 'button_pressed' | 'fall_detected'): void {
    this.schedule(at, (b) => (type === 'fall_detected' ? { ...b, type, confidence: Number(this.rng.between(0.6, 0.99).toFixed(2)) } : { ...b, type }));
    if (this.rng.chance(0.3)) this.schedule(at + this.rng.between(5, 40) * 1000, (b) => ({ ...b, type: 'alarm_cancelled' }));
  }

  protected actKind(action: Action, at: number): boolean {
    const ev = (e: (b: Base) => SafetyAlarmEvent) => { this.schedule(at, e); return true; };
    switch (action) {
      case 'press_button': return ev((b) => ({ ...b, type: 'button_pressed' }));
      case 'fall': return ev((b) => ({ ...b, type: 'fall_detected', confidence: 0.9 }));
      case 'cancel': return ev((b) => ({ ...b, type: 'alarm_cancelled' }));
      case 'mains_lost': this.onMains = false; return ev((b) => ({ ...b, type: 'mains_lost' }));
      case 'mains_restored': this.onMains = true; return ev((b) => ({ ...b, type: 'mains_restored' }));
      case 'pendant_out_of_range': return ev((b) => ({ ...b, type: 'radio_link_lost', accessory: 'pendant' }));
      default: return false;
    }
  }
}

export class DoorLockBehaviour extends Behaviour {
  private readonly visits = ['08:00', '13:00', '20:00'];

  protected live(from: number, to: number): void {
    const ms = to - from;
    this.battery = Math.max(0, this.battery - (ms / DAY) * 0.4);
    if (this.mode !== 'lively') return;
    // Home-care visits at fixed local times, with some slack; staff unlock, and lock on leaving.
    for (let t = Math.ceil(from / 60_000) * 60_000; t < to; t += 60_000) {
      const minutes = localMinutes(new Date(t));
      for (const v of this.visits) {
        const vm = Number(v.slice(0, 2)) * 60 + Number(v.slice(3));
        if (minutes === vm) this.visit(t + this.rng.between(-10, 15) * 60_000);
      }
    }
    if (this.happens(1 / 5, ms)) {
      const at = from + this.rng.next() * ms;
      const m = localMinutes(new Date(at));
      if (m >= 8 * 60 && m < 21 * 60) this.residentOut(at);
    }
    if (this.happens(1 / 480, ms)) this.actKind('leave_door_open', from + this.rng.next() * ms);
    if (this.o.wanderingRisk && this.happens(1 / (24 * 14), ms)) {
      const at = from + this.rng.next() * ms;
      const m = localMinutes(new Date(at));
      if (m >= 23 * 60 || m < 6 * 60) this.actKind('open_door', at);
    }
  }

  private visit(at: number): void {
    const staffId = `hjemmetjeneste-${this.rng.int(1, 40)}`;
    const stay = this.rng.between(10, 30) * 60_000;
    this.schedule(at, (b) => ({ ...b, type: 'unlocked', by: 'staff', staffId }));
    this.schedule(at + 8000, (b) => ({ ...b, type: 'opened' }));
    this.schedule(at + 20_000, (b) => ({ ...b, type: 'closed' }));
    this.schedule(at + stay, (b) => ({ ...b, type: 'opened' }));
    this.schedule(at + stay + 12_000, (b) => ({ ...b, type: 'closed' }));
    this.schedule(at + stay + 20_000, (b) => ({ ...b, type: 'locked', by: 'staff', staffId }));
  }

  private residentOut(at: number): void {
    this.schedule(at, (b) => ({ ...b, type: 'unlocked', by: 'resident' }));
    this.schedule(at + 5000, (b) => ({ ...b, type: 'opened' }));
    this.schedule(at + 15_000, (b) => ({ ...b, type: 'closed' }));
    this.schedule(at + 25_000, (b) => ({ ...b, type: 'locked', by: 'resident' }));
  }

  protected actKind(action: Action, at: number): boolean {
    const ev = (offset: number, e: (b: Base) => DoorLockEvent) => this.schedule(at + offset, e);
    switch (action) {
      case 'open_door':
        ev(0, (b) => ({ ...b, type: 'unlocked', by: 'resident' }));
        ev(4000, (b) => ({ ...b, type: 'opened' }));
        ev(20_000, (b) => ({ ...b, type: 'closed' }));
        return true;
      case 'force_door':
        ev(0, (b) => ({ ...b, type: 'forced' }));
        ev(1000, (b) => ({ ...b, type: 'opened' }));
        return true;
      case 'leave_door_open':
        ev(0, (b) => ({ ...b, type: 'opened' }));
        ev(10 * 60_000, (b) => ({ ...b, type: 'open_too_long', openSeconds: 600 }));
        ev(14 * 60_000, (b) => ({ ...b, type: 'closed' }));
        return true;
      default:
        return false;
    }
  }
}

export class GpsTrackerBehaviour extends Behaviour {
  private pos: { lat: number; lon: number };
  private readonly home: { lat: number; lon: number };
  /** Where the wearer is heading, if anywhere; and when they will head home again. */
  private target: { lat: number; lon: number } | null = null;
  private returnAt: number | null = null;
  private nextFix: number;
  private readonly fixMs = 60_000;

  constructor(o: BehaviourOptions) {
    super(o);
    this.home = o.home ?? { lat: 59.9139, lon: 10.7522 };
    this.pos = { ...this.home };
    this.nextFix = o.start.getTime() + this.rng.next() * this.fixMs;
  }

  protected live(from: number, to: number): void {
    const ms = to - from;
    // Charged at night by the bedside: full at 07:00, drains through the day.
    this.battery = Math.max(0, this.battery - (ms / HOUR) * 2.5);
    if (localMinutes(new Date(from)) === 7 * 60) this.battery = 100;
    if (this.target === null && this.happens(1 / 120, ms)) this.actKind('leave_safe_zone', from + this.rng.next() * ms);
    if (this.happens(1 / 720, ms)) this.actKind('sos', from + this.rng.next() * ms);
    if (this.happens(1 / 720, ms)) this.schedule(from + this.rng.next() * ms, (b) => ({ ...b, type: 'fall_detected' }));
    for (; this.nextFix < to; this.nextFix += this.fixMs) {
      if (this.nextFix < from) continue;
      if (this.returnAt !== null && this.nextFix >= this.returnAt) {
        this.target = this.home;
        this.returnAt = null;
      }
      this.walk();
      const at = this.nextFix;
      const p = { ...this.pos };
      this.schedule(at, (b) => ({ ...b, type: 'position', lat: Number(p.lat.toFixed(6)), lon: Number(p.lon.toFixed(6)), accuracy: Math.round(this.rng.between(4, 25)) }));
    }
  }

  /** One minute of walking: about 60 m toward the target, or a little drift at home. */
  private walk(): void {
    if (this.target) {
      const dLat = this.target.lat - this.pos.lat;
      const dLon = this.target.lon - this.pos.lon;
      const distDeg = Math.hypot(dLat, dLon);
      const step = 60 / 111_320;
      if (distDeg <= step) {
        this.pos = { ...this.target };
        if (this.target === this.home) this.target = null;
      } else {
        this.pos = { lat: this.pos.lat + (dLat / distDeg) * step, lon: this.pos.lon + (dLon / distDeg) * step };
      }
      return;
    }
    const near = offsetMetres(this.home.lat, this.home.lon, this.rng.normal(0, this.mode === 'quiet' ? 5 : 30), this.rng.normal(0, this.mode === 'quiet' ? 5 : 30));
    this.pos = near;
  }

  /** Whether the last position is inside the wearer's safe zone (for tests and logs). */
  inside(): boolean {
    return !this.o.safeZone || insideZone(this.pos, this.o.safeZone);
  }

  protected actKind(action: Action, at: number): boolean {
    switch (action) {
      case 'leave_safe_zone': {
        const angle = this.rng.next() * 2 * Math.PI;
        const dist = this.rng.between(700, 1200);
        this.target = offsetMetres(this.home.lat, this.home.lon, Math.cos(angle) * dist, Math.sin(angle) * dist);
        this.returnAt = at + this.rng.between(40, 70) * 60_000;
        return true;
      }
      case 'return_home':
        this.target = this.home;
        this.returnAt = null;
        return true;
      case 'sos': {
        const p = { ...this.pos };
        this.schedule(at, (b): GpsTrackerEvent => ({ ...b, type: 'sos_pressed', lat: Number(p.lat.toFixed(6)), lon: Number(p.lon.toFixed(6)) }));
        return true;
      }
      case 'fall':
        this.schedule(at, (b) => ({ ...b, type: 'fall_detected' }));
        return true;
      default:
        return false;
    }
  }
}

export class MedicineDispenserBehaviour extends Behaviour {
  private readonly doses = [['morgen', '08:00'], ['middag', '14:00'], ['kveld', '20:00']] as const;
  private dosesLeft: number;
  private skipNext = false;

  constructor(o: BehaviourOptions) {
    super(o);
    this.dosesLeft = this.rng.int(10, 28);
  }

  protected live(from: number, to: number): void {
    const ms = to - from;
    this.battery = Math.max(0, Math.min(100, this.battery - (ms / DAY) * 0.2));
    if (this.mode !== 'lively') return;
    for (let t = Math.ceil(from / 60_000) * 60_000; t < to; t += 60_000) {
      const minutes = localMinutes(new Date(t));
      for (const [doseId, hhmm] of this.doses) {
        if (minutes === Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))) this.offer(doseId, t);
      }
    }
    if (this.happens(1 / 1440, ms)) this.actKind('jam', from + this.rng.next() * ms);
  }

  /** A dose is offered; mostly taken within minutes, sometimes late, sometimes not at all. */
  private offer(doseId: string, at: number, outcome?: 'taken' | 'late' | 'missed'): void {
    const scheduledAt = new Date(at).toISOString();
    this.schedule(at, (b): MedicineDispenserEvent => ({ ...b, type: 'dose_due', doseId, scheduledAt }));
    const r = this.rng.next();
    const o = outcome ?? (this.skipNext ? 'missed' : r < 0.88 ? 'taken' : r < 0.94 ? 'late' : 'missed');
    this.skipNext = false;
    if (o === 'missed') {
      this.schedule(at + 90 * 60_000, (b) => ({ ...b, type: 'dose_missed', doseId, scheduledAt }));
      return;
    }
    const takenAt = at + (o === 'taken' ? this.rng.between(1, 20) : this.rng.between(65, 110)) * 60_000;
    this.schedule(takenAt, (b) => ({ ...b, type: 'dose_taken', doseId, scheduledAt, takenAt: new Date(takenAt).toISOString() }));
    this.dosesLeft--;
    if (this.dosesLeft === 5) this.schedule(takenAt + 1000, (b) => ({ ...b, type: 'refill_needed', dosesLeft: 5 }));
    if (this.dosesLeft <= 0) this.dosesLeft = 28; // refilled by home care
  }

  protected actKind(action: Action, at: number): boolean {
    switch (action) {
      case 'skip_dose':
        this.skipNext = true;
        return true;
      case 'dose_due':
        this.offer('ekstra', at, this.skipNext ? 'missed' : 'taken');
        return true;
      case 'take_dose':
        this.offer('ekstra', at, 'taken');
        return true;
      case 'jam':
        this.schedule(at, (b) => ({ ...b, type: 'malfunction', code: 'JAM', description: 'Karusellen sitter fast' }));
        return true;
      default:
        return false;
    }
  }
}

export function makeBehaviour(o: BehaviourOptions): Behaviour {
  switch (o.kind) {
    case 'safety_alarm': return new SafetyAlarmBehaviour(o);
    case 'door_lock': return new DoorLockBehaviour(o);
    case 'gps_tracker': return new GpsTrackerBehaviour(o);
    case 'medicine_dispenser': return new MedicineDispenserBehaviour(o);
  }
}

/**
 * Simulation time. Real time by default; with a speed factor, simulated time runs faster (a day
 * in ten minutes is speed 144). Only the devices' side runs on it: the hub keeps its own clock.
 */
export class SimClock {
  private readonly realStart: number;

  constructor(readonly start: Date, readonly speed = 1, private readonly realNow: () => number = Date.now) {
    if (!(speed > 0)) throw new Error('speed must be positive');
    this.realStart = realNow();
  }

  now(): Date {
    return new Date(this.start.getTime() + (this.realNow() - this.realStart) * this.speed);
  }

  /** Real milliseconds until simulated time `at`. */
  realDelayUntil(at: Date): number {
    return Math.max(0, (at.getTime() - this.now().getTime()) / this.speed);
  }
}

/** The next instant at local (Europe/Oslo) wall-clock time HH:MM at or after `from`. */
export function nextLocalTime(from: Date, hhmm: string, timeZone = 'Europe/Oslo'): Date {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  // Walk minute by minute from the start of the hour: simple, exact across daylight saving.
  const f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const t = new Date(Math.floor(from.getTime() / 60_000) * 60_000);
  for (let i = 0; i < 2 * 24 * 60; i++, t.setTime(t.getTime() + 60_000)) {
    if (t < from) continue;
    const [hh, mm] = f.format(t).split(':').map(Number);
    if (hh === h && mm === m) return new Date(t);
  }
  throw new Error(`no local time ${hhmm} within two days of ${from.toISOString()}`);
}

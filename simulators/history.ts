/**
 * Weeks of history for a synthetic municipality, so the leaders' statistics have something to
 * show: the hub runs on a clock the history moves, the municipality's devices send their alarms,
 * doses and door unlocks over MQTT as they would, and an operator answers each alarm through the
 * API after a realistic time and resolves it with a reason. Everything goes the real way in, in
 * time order; nothing is written to the store behind the hub's back.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { startHub } from '../hub/app.ts';
import { loadConfig } from '../hub/config.ts';
import type { Alarm } from '../hub/core/alarms.ts';
import { topics } from '../hub/core/topics.ts';
import { HubApi } from './hub-api.ts';
import type { Municipality, SimDeviceRecord } from './municipality.ts';
import { Rng } from './rng.ts';

type Step =
  | { at: number; do: 'event'; device: SimDeviceRecord; event: Record<string, unknown>; alarm?: AlarmPlan }
  | { at: number; do: 'ack' | 'resolve'; plan: AlarmPlan };
type AlarmPlan = { id: string | null; reason: string; answered: boolean };

const HOUR = 3_600_000;
const MINUTE = 60_000;
/** How alarms end at a response centre, roughly. */
const REASONS: [string, number][] = [['false_alarm', 0.35], ['resolved_by_phone', 0.3], ['staff_sent', 0.25], ['emergency_services', 0.03], ['other', 0.07]];
/** More alarms in the evening and at night. */
const HOUR_WEIGHT = [3, 3, 2, 2, 2, 2, 3, 4, 5, 4, 4, 4, 4, 4, 4, 4, 5, 5, 6, 6, 6, 5, 4, 4];

function pick<T>(rng: Rng, weighted: [T, number][]): T {
  let x = rng.next() * weighted.reduce((s, [, w]) => s + w, 0);
  for (const [v, w] of weighted) if ((x -= w) <= 0) return v;
  return (weighted[weighted.length - 1] as [T, number])[0];
}

/** Seconds until an operator answers: mostly within a minute, sometimes minutes. */
function answerSeconds(rng: Rng): number {
  const u = rng.next();
  return u < 0.8 ? 8 + rng.next() * 50 : u < 0.97 ? 60 + rng.next() * 120 : 180 + rng.next() * 600;
}

export function planHistory(m: Municipality, days: number, startMs: number, seed: number): Step[] {
  const rng = new Rng(seed);
  const steps: Step[] = [];
  const of = (kind: string) => m.devices.filter((d) => d.kind === kind);
  const alarms = of('safety_alarm');
  const trackers = of('gps_tracker');
  const doors = of('door_lock');
  const dispensers = of('medicine_dispenser');
  const perDay = Math.max(4, Math.round(m.residents.length * 0.12));
  let n = 0;
  const id = () => `hist-${seed}-${++n}`;
  for (let day = 0; day < days; day++) {
    const midnight = startMs + day * 24 * HOUR;
    for (let i = 0; i < perDay; i++) {
      const at = midnight + pick(rng, HOUR_WEIGHT.map((w, h) => [h, w] as [number, number])) * HOUR + rng.next() * HOUR;
      const roll = rng.next();
      const [device, type] = roll < 0.7 && alarms.length ? [rng.pick(alarms), rng.next() < 0.8 ? 'button_pressed' : 'fall_detected']
        : roll < 0.85 && trackers.length ? [rng.pick(trackers), 'sos_pressed']
          : doors.length ? [rng.pick(doors), 'open_too_long'] : [rng.pick(alarms), 'button_pressed'];
      const plan: AlarmPlan = { id: null, reason: pick(rng, REASONS), answered: rng.next() > 0.01 };
      const event: Record<string, unknown> = { id: id(), type, ...(type === 'open_too_long' ? { openSeconds: 900 } : {}) };
      steps.push({ at, do: 'event', device: device as SimDeviceRecord, event, alarm: plan });
      const ack = at + answerSeconds(rng) * 1000;
      steps.push({ at: ack, do: 'ack', plan }, { at: ack + (2 + rng.next() * 40) * MINUTE, do: 'resolve', plan });
    }
    for (const d of dispensers) {
      for (const hour of [8, 14, 20]) {
        const due = midnight + hour * HOUR;
        const doseId = `d${day}-${hour}`;
        const scheduledAt = new Date(due).toISOString();
        steps.push({ at: due, do: 'event', device: d, event: { id: id(), type: 'dose_due', doseId, scheduledAt } });
        if (rng.next() < 0.92) steps.push({ at: due + (3 + rng.next() * 50) * MINUTE, do: 'event', device: d, event: { id: id(), type: 'dose_taken', doseId, scheduledAt } });
        else {
          // The dispenser reports the dose missed; the response centre calls the resident.
          const at = due + 60 * MINUTE;
          const plan: AlarmPlan = { id: null, reason: 'resolved_by_phone', answered: true };
          steps.push({ at, do: 'event', device: d, event: { id: id(), type: 'dose_missed', doseId, scheduledAt }, alarm: plan });
          const ack = at + answerSeconds(rng) * 1000;
          steps.push({ at: ack, do: 'ack', plan }, { at: ack + (3 + rng.next() * 10) * MINUTE, do: 'resolve', plan });
        }
      }
    }
    for (const d of doors) {
      for (const hour of [9, 19]) {
        const at = midnight + hour * HOUR + rng.next() * HOUR;
        steps.push({ at, do: 'event', device: d, event: { id: id(), type: 'unlocked', by: 'staff', staffId: `ansatt-${1 + Math.floor(rng.next() * 12)}` } });
        steps.push({ at: at + 20 * MINUTE, do: 'event', device: d, event: { id: id(), type: 'locked', by: 'staff' } });
      }
    }
  }
  return steps.sort((a, b) => a.at - b.at);
}

/**
 * Plays `days` of history ending at local midnight today on the hub's data in `dataDir`. The hub
 * runs in this process on the history's clock; stop any other hub on that data first.
 */
export async function playHistory(o: {
  dataDir: string; adminPassword: string; municipality: Municipality; days: number; seed: number; log(line: string): void;
}): Promise<{ alarms: number; events: number }> {
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const startMs = today.getTime() - o.days * 24 * HOUR;
  let nowMs = startMs;
  const base = loadConfig({ DATA_DIR: o.dataDir, MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', HUB_ADMIN_PASSWORD: o.adminPassword });
  const config = {
    ...base,
    // Nothing in the history sends heartbeats: the silence check would call every device offline.
    scheduler: { tickMs: 250, silenceEveryMs: 1e12 },
    // No operator's screen is open to keep a session active between the history's alarms.
    people: { ...base.people, session: { maxMs: base.people.session.maxMs, idleMs: base.people.session.maxMs } },
  };
  const hub = await startHub(config, pino({ level: 'silent' }), () => new Date(nowMs));
  const url = `http://127.0.0.1:${hub.httpPort}`;
  const admin = new HubApi(url);
  await admin.login('admin', o.adminPassword);
  // Operators on eight-hour shifts in turn; each signs in when the shift starts (a session lasts
  // 12 h). Enough of them that none signs in more often than the sign-in limit allows, however
  // fast the history plays.
  const shifts = Array.from({ length: 14 }, (_, i) => ({ username: `vakt-${i + 1}`, password: `historikk-skift-${i + 1}`, api: new HubApi(url), until: 0 }));
  for (const s of shifts) await admin.ensureUser(s.username, s.password, 'operator', [o.municipality.tenantId]);
  const operator = async (): Promise<HubApi> => {
    const s = shifts[Math.floor((nowMs - startMs) / (8 * HOUR)) % shifts.length] as (typeof shifts)[number];
    if (nowMs >= s.until) {
      await s.api.login(s.username, s.password);
      s.until = nowMs + 10 * HOUR;
    }
    return s.api;
  };
  const clients = new Map<string, MqttClient>();
  const clientOf = async (d: SimDeviceRecord) => {
    let c = clients.get(d.id);
    if (!c) {
      c = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { clientId: `${d.id}-history`, username: d.id, password: d.password, reconnectPeriod: 0 });
      clients.set(d.id, c);
    }
    return c;
  };
  const steps = planHistory(o.municipality, o.days, startMs, o.seed);
  let alarms = 0;
  let events = 0;
  try {
    for (const [i, s] of steps.entries()) {
      nowMs = Math.max(nowMs, s.at);
      if (s.do === 'event') {
        await (await clientOf(s.device)).publishAsync(topics.events(s.device.id), JSON.stringify({ ts: new Date(nowMs).toISOString(), ...s.event }), { qos: 1 });
        events++;
        if (s.alarm) {
          const open = await (await operator()).call<Alarm[]>('GET', `/api/alarms?deviceId=${encodeURIComponent(s.device.id)}&state=open&limit=1`);
          s.alarm.id = open[0]?.id ?? null;
          if (s.alarm.id) alarms++;
        }
      } else if (s.plan.id && s.plan.answered) {
        const api = await operator();
        // An alarm a colleague already took (or the resident cancelled) answers 409: that is the history too.
        if (s.do === 'ack') await api.call('POST', `/api/alarms/${s.plan.id}/acknowledge`).catch(() => undefined);
        else await api.call('POST', `/api/alarms/${s.plan.id}/resolve`, { reason: s.plan.reason, note: 'Historikk' }).catch(() => undefined);
      }
      if (i % 500 === 0) o.log(`history: ${new Date(nowMs).toISOString().slice(0, 10)}, ${alarms} alarms so far`);
    }
    // Every device says it is alive as the history ends, so none looks silent when the hub starts again.
    nowMs = Math.max(nowMs, Date.now());
    for (const d of o.municipality.devices) {
      await (await clientOf(d)).publishAsync(topics.events(d.id), JSON.stringify({ id: `hist-${o.seed}-hb-${d.id}`, ts: new Date(nowMs).toISOString(), type: 'heartbeat', battery: 90, signal: -70, firmware: '1.0.0' }), { qos: 1 });
    }
    await hub.ctx.series.flush();
  } finally {
    await Promise.all([...clients.values()].map((c) => c.endAsync()));
    await hub.close();
  }
  return { alarms, events };
}

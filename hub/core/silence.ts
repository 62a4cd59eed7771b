/**
 * A silent device is an alarm (DOMAIN.md: a pendant that stopped working told nobody). But when
 * many devices of one municipality fall silent within the same few minutes, the cause is the
 * network or the power, and one outage alarm listing them serves the operator better than a
 * flood. Pure: the silent devices, the outages and `now` in; what to raise and end out.
 */
export type SilencePolicy = {
  /** Devices silent within `windowSeconds` of each other that make an outage. */
  outageMinDevices: number;
  windowSeconds: number;
  /** How long a single silent device waits for others before it gets its own alarm. */
  holdSeconds: number;
  /** Share of an outage's devices that must be back for the outage to end. */
  endWhenBackShare: number;
};

/**
 * Devices report on their own heartbeat phase, so those cut off together fall silent spread over
 * one interval; a lone silent device waits the whole window before it gets its own alarm, so an
 * outage can gather its devices first.
 */
export const DEFAULT_SILENCE_POLICY: SilencePolicy = { outageMinDevices: 5, windowSeconds: 300, holdSeconds: 300, endWhenBackShare: 0.5 };

/** When a device became silent: its last message plus `intervals` expected heartbeat intervals. */
export function silentSince(lastSeen: Date, intervalSeconds: number, intervals: number): Date {
  return new Date(lastSeen.getTime() + intervalSeconds * intervals * 1000);
}

export type SilentDevice = { deviceId: string; tenantId: string; since: Date };
export type Outage = { alarmId: string; tenantId: string; devices: readonly string[] };

export type SilencePlan = {
  /** New outages, one per municipality, with their devices. */
  createOutages: { tenantId: string; devices: string[] }[];
  /** Devices that joined an outage already running. */
  addToOutages: { alarmId: string; devices: string[] }[];
  /** Outages that ended, and which of their devices are still silent (they get their own alarms). */
  endOutages: { alarmId: string; back: string[]; stillSilent: string[] }[];
  /** Devices that get their own offline alarm now. */
  raiseOffline: string[];
};

/**
 * `silent`: every device silent now that has no offline alarm of its own.
 * `outages`: the running outage alarms.
 */
export function planSilence(silent: readonly SilentDevice[], outages: readonly Outage[], now: Date, p: SilencePolicy): SilencePlan {
  const plan: SilencePlan = { createOutages: [], addToOutages: [], endOutages: [], raiseOffline: [] };
  const silentIds = new Set(silent.map((d) => d.deviceId));
  const runningByTenant = new Map<string, Outage>();

  for (const o of outages) {
    const stillSilent = o.devices.filter((d) => silentIds.has(d));
    const back = o.devices.filter((d) => !silentIds.has(d));
    if (o.devices.length > 0 && back.length >= Math.ceil(o.devices.length * p.endWhenBackShare)) {
      plan.endOutages.push({ alarmId: o.alarmId, back, stillSilent });
      plan.raiseOffline.push(...stillSilent);
    } else {
      runningByTenant.set(o.tenantId, o);
    }
  }
  const covered = new Set([...outages.flatMap((o) => o.devices)]);

  const byTenant = new Map<string, SilentDevice[]>();
  for (const d of silent) {
    if (covered.has(d.deviceId)) continue;
    const list = byTenant.get(d.tenantId) ?? [];
    list.push(d);
    byTenant.set(d.tenantId, list);
  }

  for (const [tenantId, list] of byTenant) {
    const running = runningByTenant.get(tenantId);
    if (running) {
      plan.addToOutages.push({ alarmId: running.alarmId, devices: list.map((d) => d.deviceId) });
      continue;
    }
    const recent = list.filter((d) => now.getTime() - d.since.getTime() <= p.windowSeconds * 1000);
    if (recent.length >= p.outageMinDevices) {
      plan.createOutages.push({ tenantId, devices: recent.map((d) => d.deviceId) });
      const inOutage = new Set(recent.map((d) => d.deviceId));
      for (const d of list) if (!inOutage.has(d.deviceId) && now.getTime() - d.since.getTime() >= p.holdSeconds * 1000) plan.raiseOffline.push(d.deviceId);
      continue;
    }
    for (const d of list) if (now.getTime() - d.since.getTime() >= p.holdSeconds * 1000) plan.raiseOffline.push(d.deviceId);
  }
  return plan;
}

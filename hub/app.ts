/**
 * The composition root: builds every part of the hub from a validated Config and a logger,
 * wires them together and starts listening. `main.ts` calls it for `npm start`; tests call it
 * with their own temporary directory and port 0.
 */
import type { Logger } from 'pino';
import { type Broker, startBroker } from '../broker/broker.ts';
import { CommandDelivery } from './commands/delivery.ts';
import { HealthMonitor } from './health.ts';
import { HubMetrics } from './metrics.ts';
import { readTls, watchTls } from './tls.ts';
import { Retention } from './privacy/retention.ts';
import { DataSubjects } from './privacy/subject.ts';
import type { Alarm, TransitionAction } from './core/alarms.ts';
import { isTestAlarm } from './core/stats.ts';
import { CommandOutbox } from './store/outbox.ts';
import { ChainTests } from './chaintests/service.ts';
import { DeviceTestStore } from './store/tests.ts';
import { AlarmScheduler } from './alarms/scheduler.ts';
import { AlarmService } from './alarms/service.ts';
import { buildApi } from './api/server.ts';
import { EventBus } from './bus.ts';
import type { Config } from './config.ts';
import type { HubContext } from './context.ts';
import { Ingest } from './ingest/ingest.ts';
import { LiveChannel } from './live/live.ts';
import { hashPassword, randomToken, type ScryptParams } from './security/secrets.ts';
import { AlarmStore } from './store/alarms.ts';
import { AuditLog } from './store/audit.ts';
import { openDatabase } from './store/db.ts';
import { DeviceStore } from './store/devices.ts';
import { EventStore } from './store/events.ts';
import { ResidentStore } from './store/residents.ts';
import { RuleStore } from './store/rules.ts';
import { TenantStore } from './store/tenants.ts';
import { UserStore } from './store/users.ts';
import { GroupCommitWriter } from './store/writer.ts';
import { EmbeddedTimeSeries } from './timeseries/embedded.ts';
import { StatsStore } from './store/stats.ts';
import { InfluxTimeSeries } from './timeseries/influx.ts';
import type { TimeSeriesStore } from './timeseries/types.ts';
import { TimeSeriesWriter } from './timeseries/writer.ts';

export type RunningHub = {
  /** Plain MQTT; 0 when it is off. */
  mqttPort: number;
  /** MQTT over TLS, when TLS is on. */
  mqttsPort: number | null;
  httpPort: number;
  ctx: HubContext;
  broker: Broker;
  live: LiveChannel;
  scheduler: AlarmScheduler;
  /** Set only when the admin password was generated on this start. */
  generatedAdminPassword: string | null;
  close(): Promise<void>;
};

export async function startHub(config: Config, log: Logger, now: () => Date = () => new Date()): Promise<RunningHub> {
  const db = openDatabase(config.dataDir);
  const monitor = new HealthMonitor(config.dataDir);
  // What /metrics reads at each scrape; the parts are there by then.
  const parts: { mqtt?: Broker; live?: LiveChannel; scheduler?: AlarmScheduler } = {};
  const metrics = new HubMetrics({
    connectedDevices: () => parts.mqtt?.connectedDevices() ?? 0,
    refusals: () => ({ ...(parts.mqtt?.refusals ?? {}) }),
    liveClients: () => parts.live?.connected() ?? 0,
    openAlarmsByPriority: () => alarms.activeByPriority(),
    schedulerLagSeconds: () => (parts.scheduler?.lastPassAt != null ? (performance.now() - parts.scheduler.lastPassAt) / 1000 : null),
    timeseriesPending: () => timeseries.pending(),
  });
  const writer = new GroupCommitWriter(db, config.commitWindowMs, {
    storeOk: () => monitor.storeOk(),
    storeFailed: (err) => monitor.storeFailed(err),
    committed: (writes, seconds) => { metrics.commit.observe(seconds); metrics.batch.observe(writes); },
    rolledBack: () => devices.dropRuleStates(),
  });
  const timeseries: TimeSeriesStore = config.influx
    ? new InfluxTimeSeries({ ...config.influx, dataDir: config.dataDir, logger: log.child({ part: 'timeseries' }) })
    : new EmbeddedTimeSeries(config.dataDir);
  const series = new TimeSeriesWriter(timeseries, log.child({ part: 'timeseries' }));
  series.onWriteError = () => metrics.tsErrors.inc();
  const bus = new EventBus();
  const devices = new DeviceStore(db, { clockSkewSeconds: config.clockSkewSeconds, fleet: config.fleet, now });
  const events = new EventStore(db);
  const residents = new ResidentStore(db);
  const rules = new RuleStore(db);
  const alarms = new AlarmStore(db);
  const users = new UserStore(db, config.people.session);
  const audit = new AuditLog(db);
  const live = new LiveChannel({
    alarms, users, bus, log: log.child({ part: 'live' }), now, ...config.live,
    // The live channel shows alarms with residents' names: every connection is logged.
    onConnect: (p, source) => audit.record(p, { action: 'live_connect', targetType: 'live', targetId: null, tenantId: null, source }, now()),
  });
  // The alarm module records commands in the outbox; delivery sends them through the broker.
  const outbox = new CommandOutbox(db);
  const delivery = new CommandDelivery({ outbox, writer, bus, log: log.child({ part: 'commands' }), now });
  const deviceTests = new DeviceTestStore(db);
  const chainTests = new ChainTests(deviceTests, devices, config.testWindowSeconds);
  const alarmService = new AlarmService({
    writer, alarms, rules, devices, residents, bus, log: log.child({ part: 'alarms' }), policy: config.alarms, silence: config.silence,
    outbox, commandTtlSeconds: config.commandTtlSeconds, tests: chainTests,
  });
  const ingest = new Ingest({
    devices, events, writer, series, bus, log: log.child({ part: 'ingest' }), now,
    reactor: alarmService,
  });

  // Nobody is connected to a broker that has just started.
  db.prepare('UPDATE devices SET online = 0 WHERE online = 1').run();

  const tls = config.tls ? readTls(config.tls) : null;
  const mqtt = await startBroker({
    log: log.child({ part: 'broker' }),
    port: config.mqttPort,
    host: config.host,
    ...config.mqtt,
    plain: config.mqttPlain,
    tls: tls && config.tls ? { ...tls, port: config.tls.mqttsPort } : null,
    gateway: {
      authenticate: (username, password) => devices.authenticate(username, password),
      deviceById: (deviceId) => devices.identity(deviceId),
      receive: async (device, channel, payload, qos) => {
        const started = performance.now();
        const outcome = await ingest.receive(device, channel, payload, qos);
        metrics.countMessage(device.kind, outcome);
        metrics.puback.observe({ class: outcome === 'stored' || outcome === 'conflict' ? 'care' : 'other' }, (performance.now() - started) / 1000);
        return outcome;
      },
      connected: (device) => ingest.connected(device),
      disconnected: (device) => {
        ingest.disconnected(device);
        if (!mqtt.canReceive(device.deviceId)) delivery.disconnected(device.deviceId);
      },
      refused: (device, reason) => ingest.refused(device, reason),
      commandsWanted: (device) => delivery.deliver(device.deviceId),
      commandAcked: (device, commandId) => delivery.acked(device.deviceId, commandId),
    },
  });
  delivery.attach(mqtt);
  parts.mqtt = mqtt;
  parts.live = live;
  bus.on('metrics', 'device.rejected', ({ code }) => metrics.rejections.inc({ reason: code }));
  bus.on('metrics', 'alarm.changed', ({ change, alarm }) => {
    metrics.alarms.inc({ action: change, category: alarm.category });
    const claimedNow = change === 'acknowledged' || (change === 'resolved' && alarm.acknowledgedAt !== null && alarm.acknowledgedAt === alarm.resolvedAt);
    if (claimedNow && alarm.acknowledgedAt && !isTestAlarm(alarm)) metrics.ack.observe({ category: alarm.category }, (Date.parse(alarm.acknowledgedAt) - Date.parse(alarm.createdAt)) / 1000);
  });

  const ctx: HubContext = {
    log, now, db, writer, devices, events, ingest, bus, timeseries, series, residents, rules, alarms, alarmService, outbox, deviceTests, chainTests,
    tenants: new TenantStore(db),
    stats: new StatsStore(db),
    users,
    audit,
    connectedDevices: () => mqtt.connectedDevices(),
    liveClients: () => live.connected(),
    people: config.people,
    subjects: new DataSubjects({ db, residents, devices, events, alarms, audit, timeseries }),
    retention: new Retention({ db, audit, timeseries, log: log.child({ part: 'retention' }), now }),
    health: {
      report: () => monitor.report({
        timeseriesPending: timeseries.pending(),
        timeseriesThreshold: config.health.bufferPoints,
        scheduler: { lastPassAt: scheduler?.lastPassAt ?? performance.now(), lastError: scheduler?.lastError ?? null, tickMs: config.scheduler.tickMs },
      }),
      storeFailed: (err) => monitor.storeFailed(err),
    },
  };
  let scheduler: AlarmScheduler | null = null;

  const generatedAdminPassword = await ensureAdmin(ctx, config.adminPassword, config.people.scrypt);
  const retention = ctx.retention as Retention;
  retention.start();

  // Every committed step of an alarm goes to the time series too, for charts and InfluxQL tools.
  bus.on('timeseries', 'alarm.changed', ({ change, alarm }) => recordAlarmStep(series, change, alarm));
  bus.on('broker', 'device.decommissioned', ({ deviceId }) => {
    const n = mqtt.disconnectDevice(deviceId);
    log.info({ deviceId, connections: n }, 'device decommissioned; connections closed');
  });
  bus.on('broker', 'device.credentials_rotated', ({ deviceId }) => {
    const n = mqtt.disconnectDevice(deviceId);
    log.info({ deviceId, connections: n }, 'device credentials rotated; connections with the old password closed');
  });

  const api = await buildApi(ctx, { map: config.map, live, mqttPort: mqtt.tlsPort ?? mqtt.port, https: tls ? { cert: tls.cert, key: tls.key } : null, metrics: { registry: metrics.registry, token: config.metricsToken } });
  // A renewed certificate is taken by both listeners without a restart.
  const stopWatching = config.tls ? watchTls(config.tls, log.child({ part: 'tls' }), (m) => {
    mqtt.reloadTls(m);
    (api.server as unknown as { setSecureContext(o: object): void }).setSecureContext({ cert: m.cert, key: m.key });
  }) : () => {};
  live.attach(api.server);
  await api.listen({ port: config.httpPort, host: config.host });
  // Deadlines that fell due while the hub was down fire on the first tick.
  scheduler = new AlarmScheduler(alarmService, writer, now, log.child({ part: 'alarms' }), config.scheduler);
  scheduler.start();
  const running = scheduler;
  parts.scheduler = scheduler;
  const httpPort = (api.server.address() as { port: number }).port;
  log.info({ port: httpPort, host: config.host, timeseries: timeseries.name }, 'hub: HTTP API listening');

  let closing: Promise<void> | null = null;
  return {
    mqttPort: mqtt.port,
    mqttsPort: mqtt.tlsPort,
    httpPort,
    ctx,
    broker: mqtt,
    live,
    scheduler: running,
    generatedAdminPassword,
    close() {
      // Graceful: no new connections; messages being stored are committed and acknowledged; the
      // live sockets are told why they close; the time series is flushed; then the store closes.
      closing ??= (async () => {
        monitor.stopping();
        stopWatching();
        retention.stop();
        await running.stop();
        const left = await mqtt.stopAccepting(5000);
        if (left > 0) log.warn({ left }, 'shutdown: messages still being stored; their devices will resend them');
        bus.off('broker');
        bus.off('metrics');
        delivery.close();
        await live.close();
        await api.close();
        await mqtt.close();
        bus.off('timeseries');
        // The device state heartbeats left in memory, with whatever else is queued.
        const state = ingest.close();
        writer.flush();
        await state;
        await series.close();
        await timeseries.close();
        db.close();
      })();
      return closing;
    },
  };
}

/**
 * An alarm's step as the time series keeps it. Resolving an open alarm claims it in the same
 * step: that is an acknowledgement too.
 */
function recordAlarmStep(series: TimeSeriesWriter, change: TransitionAction, a: Alarm): void {
  const test = isTestAlarm(a);
  const base = { tenant: a.tenantId, type: a.type, category: a.category, test };
  const acknowledged = change === 'acknowledged' || (change === 'resolved' && a.acknowledgedAt !== null && a.acknowledgedAt === a.resolvedAt);
  const at = new Date(a.updatedAt);
  series.countAlarm({ ...base, action: change }, at);
  if (acknowledged && a.acknowledgedAt) {
    if (change !== 'acknowledged') series.countAlarm({ ...base, action: 'acknowledged' }, at);
    series.addResponse({ ...base, priority: a.priority }, a.id, (Date.parse(a.acknowledgedAt) - Date.parse(a.createdAt)) / 1000, new Date(a.acknowledgedAt));
  }
}

/** Creates the user `admin` when there is no user at all. Returns the password if it was generated. */
async function ensureAdmin(ctx: HubContext, configured: string | null, scrypt: ScryptParams): Promise<string | null> {
  if (ctx.users.count() > 0) return null;
  const password = configured ?? randomToken(12);
  // A generated password was printed to a console: it must be changed at the first sign-in.
  ctx.users.create({ username: 'admin', passwordHash: await hashPassword(password, scrypt), role: 'admin', tenantIds: [], allTenants: true, mustChangePassword: configured === null }, ctx.now());
  ctx.log.info('created the user admin');
  return configured ? null : password;
}

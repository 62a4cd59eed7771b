/**
 * The collaborators the hub's parts receive. Built once, in the composition root (app.ts);
 * nothing below it reads the environment or creates its own clients. Each part declares the
 * few it uses (`Pick<HubContext, …>`), so what a route can touch is in its signature.
 */
import type { Logger } from 'pino';
import type { AlarmService } from './alarms/service.ts';
import type { EventBus } from './bus.ts';
import type { Config } from './config.ts';
import type { HealthReport } from './health.ts';
import type { Retention } from './privacy/retention.ts';
import type { DataSubjects } from './privacy/subject.ts';
import type { Ingest } from './ingest/ingest.ts';
import type { AlarmStore } from './store/alarms.ts';
import type { AuditLog } from './store/audit.ts';
import type { Db } from './store/db.ts';
import type { DeviceStore } from './store/devices.ts';
import type { EventStore } from './store/events.ts';
import type { CommandOutbox } from './store/outbox.ts';
import type { DeviceTestStore } from './store/tests.ts';
import type { ChainTests } from './chaintests/service.ts';
import type { ResidentStore } from './store/residents.ts';
import type { RuleStore } from './store/rules.ts';
import type { StatsStore } from './store/stats.ts';
import type { TenantStore } from './store/tenants.ts';
import type { UserStore } from './store/users.ts';
import type { GroupCommitWriter } from './store/writer.ts';
import type { TimeSeriesStore } from './timeseries/types.ts';
import type { TimeSeriesWriter } from './timeseries/writer.ts';

export type HubContext = {
  log: Logger;
  now: () => Date;
  db: Db;
  writer: GroupCommitWriter;
  tenants: TenantStore;
  users: UserStore;
  residents: ResidentStore;
  devices: DeviceStore;
  events: EventStore;
  audit: AuditLog;
  rules: RuleStore;
  alarms: AlarmStore;
  alarmService: AlarmService;
  /** The leaders' figures, read from the operational store. */
  stats: StatsStore;
  outbox: CommandOutbox;
  deviceTests: DeviceTestStore;
  chainTests: ChainTests;
  timeseries: TimeSeriesStore;
  series: TimeSeriesWriter;
  ingest: Ingest;
  bus: EventBus;
  /** How many devices hold an MQTT connection right now. */
  connectedDevices: () => number;
  /** How many clients hold the live channel open. */
  liveClients: () => number;
  /** A resident's data exported or erased; retention per municipality. */
  subjects: DataSubjects;
  retention: Retention;
  /** People's passwords (scrypt's cost, the minimum length) and sessions. */
  people: Config['people'];
  /** The truth about the hub's state, and where failures of the store are reported. */
  health: { report(): HealthReport; storeFailed(err: unknown): void };
};

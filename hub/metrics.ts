/**
 * Metrics in Prometheus' text format, through prom-client (the Prometheus client for Node that
 * everyone uses; it knows the format, the histograms and Node's own process metrics). A registry
 * of the hub's own, so two hubs in one process (tests) do not share numbers.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type MetricsSources = {
  connectedDevices(): number;
  refusals(): Record<string, number>;
  liveClients(): number;
  openAlarmsByPriority(): { priority: number; n: number }[];
  schedulerLagSeconds(): number | null;
  timeseriesPending(): number;
};

export class HubMetrics {
  readonly registry = new Registry();
  readonly rejections = new Counter({ name: 'hub_rejections_total', help: 'Payloads rejected, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly puback = new Histogram({ name: 'hub_puback_seconds', help: 'From a message in to its acknowledgement (the store\'s commit included for care events)', labelNames: ['class'] as const, buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2], registers: [this.registry] });
  readonly commit = new Histogram({ name: 'hub_commit_seconds', help: 'Time of one group commit of the operational store', buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5], registers: [this.registry] });
  readonly batch = new Histogram({ name: 'hub_commit_batch_size', help: 'Writes in one group commit', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], registers: [this.registry] });
  readonly alarms = new Counter({ name: 'hub_alarms_total', help: 'Alarm steps: raised, acknowledged, resolved, escalated, cleared, …', labelNames: ['action', 'category'] as const, registers: [this.registry] });
  readonly ack = new Histogram({ name: 'hub_time_to_acknowledge_seconds', help: 'From raised to claimed, for real alarms', labelNames: ['category'] as const, buckets: [5, 10, 20, 30, 60, 120, 180, 300, 600, 1800], registers: [this.registry] });
  readonly tsErrors = new Counter({ name: 'hub_timeseries_write_errors_total', help: 'Failed writes to the time series (the batch is kept and tried again)', registers: [this.registry] });

  /**
   * Device messages by kind and outcome. Counted here, once per message, in a plain map and handed
   * to prom-client at a scrape: its own `inc` builds and checks a label key each time.
   */
  private readonly messageCounts = new Map<string, { labels: { kind: string; outcome: string }; n: number }>();

  countMessage(kind: string, outcome: string): void {
    const key = `${kind}|${outcome}`;
    const c = this.messageCounts.get(key);
    if (c) c.n++;
    else this.messageCounts.set(key, { labels: { kind, outcome }, n: 1 });
  }

  constructor(src: MetricsSources) {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    const r = [this.registry];
    const messageCounts = this.messageCounts;
    new Counter({
      name: 'hub_messages_total', help: 'Device messages by device kind and outcome (stored, duplicate, conflict, telemetry, rejected, status)', labelNames: ['kind', 'outcome'] as const, registers: r,
      collect() { this.reset(); for (const c of messageCounts.values()) this.inc(c.labels, c.n); },
    });
    new Gauge({ name: 'hub_connected_devices', help: 'Devices holding an MQTT connection', registers: r, collect() { this.set(src.connectedDevices()); } });
    new Gauge({
      name: 'hub_connection_refusals', help: 'MQTT connections refused since start, by cause (credentials, clientId, pendingPerAddress, oversized)', labelNames: ['cause'] as const, registers: r,
      collect() { for (const [cause, n] of Object.entries(src.refusals())) this.set({ cause }, n); },
    });
    new Gauge({ name: 'hub_live_clients', help: 'Clients holding the live channel open', registers: r, collect() { this.set(src.liveClients()); } });
    new Gauge({
      name: 'hub_alarms_open', help: 'Open and acknowledged alarms, by priority', labelNames: ['priority'] as const, registers: r,
      collect() { this.reset(); for (const { priority, n } of src.openAlarmsByPriority()) this.set({ priority: String(priority) }, n); },
    });
    new Gauge({ name: 'hub_scheduler_lag_seconds', help: 'Time since the alarm scheduler\'s last pass', registers: r, collect() { this.set(src.schedulerLagSeconds() ?? 0); } });
    new Gauge({ name: 'hub_timeseries_buffer_points', help: 'Time-series points waiting to be written (InfluxDB\'s disk buffer)', registers: r, collect() { this.set(src.timeseriesPending()); } });
  }
}

/**
 * Configuration from the environment, through a schema, checked once at start.
 * Only the composition root calls `loadConfig`; every other part receives what it needs.
 */
import { type Static, Type } from '@sinclair/typebox';
import { existsSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { type AlarmPolicy, DEFAULT_POLICY } from './core/alarms.ts';
import { DEFAULT_FLEET_POLICY, type FleetPolicy } from './core/fleet.ts';
import { DEFAULT_SCRYPT, type ScryptParams } from './security/secrets.ts';
import type { SessionPolicy } from './store/users.ts';
import { DEFAULT_SILENCE_POLICY, type SilencePolicy } from './core/silence.ts';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });

export const EnvSchema = Type.Object({
  MQTT_PORT: Type.Optional(Port),
  MQTTS_PORT: Type.Optional(Port),
  TLS_CERT: Type.Optional(Type.String({ minLength: 1 })),
  TLS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  TLS_CLIENT_CA: Type.Optional(Type.String({ minLength: 1 })),
  HTTP_PORT: Type.Optional(Port),
  HOST: Type.Optional(Type.String({ minLength: 1 })),
  DATA_DIR: Type.Optional(Type.String({ minLength: 1 })),
  INFLUX_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+(/[A-Za-z0-9_-]*)?$' })),
  INFLUX_BUFFER_MAX_POINTS: Type.Optional(Type.Integer({ minimum: 1000 })),
  COMMIT_WINDOW_MS: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  ESCALATION_SECONDS: Type.Optional(Type.String({ pattern: '^\\s*\\d+(\\s*,\\s*\\d+){4}\\s*$' })),
  ESCALATION_REPEAT_SECONDS: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
  CANCEL_GRACE_SECONDS: Type.Optional(Type.Integer({ minimum: 0, maximum: 600 })),
  MAP_TILE_URL: Type.Optional(Type.String({ pattern: '^https?://.*\\{z\\}.*\\{x\\}.*\\{y\\}' })),
  MAP_ATTRIBUTION: Type.Optional(Type.String({ maxLength: 300 })),
  HUB_ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8 })),
  CLOCK_SKEW_SECONDS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
  MQTT_MAX_PENDING_PER_ADDRESS: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  MQTT_CONNECT_TIMEOUT_SECONDS: Type.Optional(Type.Integer({ minimum: 1, maximum: 600 })),
  COMMAND_TTL_SECONDS: Type.Optional(Type.Integer({ minimum: 10, maximum: 7 * 86_400 })),
  HEALTH_BUFFER_POINTS: Type.Optional(Type.Integer({ minimum: 1 })),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, maxLength: 200 })),
  PASSWORD_SCRYPT_LOG_N: Type.Optional(Type.Integer({ minimum: 10, maximum: 20 })),
  PASSWORD_MIN_LENGTH: Type.Optional(Type.Integer({ minimum: 8, maximum: 64 })),
  SESSION_HOURS: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 })),
  SESSION_IDLE_MINUTES: Type.Optional(Type.Integer({ minimum: 5, maximum: 24 * 60 })),
  TEST_WINDOW_MINUTES: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 60 })),
  TEST_VALID_MONTHS: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
  LOG_LEVEL: Type.Optional(Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)))),
});
export type Env = Static<typeof EnvSchema>;

export type Config = {
  /** Plain MQTT; with TLS, MQTT_PORT=0 turns it off (`mqttPlain`). */
  mqttPort: number;
  mqttPlain: boolean;
  /**
   * TLS for MQTT (on `mqttsPort`) and HTTP (HTTPS on the HTTP port): PEM files of the
   * municipality's certificate and key, reloaded when they change; and a CA whose client
   * certificates name devices.
   */
  tls: { certFile: string; keyFile: string; clientCaFile: string | null; mqttsPort: number } | null;
  httpPort: number;
  host: string;
  dataDir: string;
  influx: { url: string; database: string; bufferMaxPoints: number } | null;
  adminPassword: string | null;
  logLevel: string;
  /** How long writes are gathered into one commit of the operational store. */
  commitWindowMs: number;
  alarms: AlarmPolicy;
  silence: SilencePolicy;
  /** How often the alarm clock looks at deadlines and at silent devices. */
  scheduler: { tickMs: number; silenceEveryMs: number };
  /** Live channel: ping interval, how many bytes a slow client may have waiting, how often sessions are checked again. */
  live: { pingIntervalMs: number; maxBufferedBytes: number; sessionCheckMs: number };
  /** The dashboard's map tiles: a URL template with {z}, {x} and {y}. */
  map: { tileUrl: string; attribution: string };
  /** A device clock further off the hub's than this is shown as clock skew. */
  clockSkewSeconds: number;
  /** MQTT: connections per source address that have not yet authenticated; time to send CONNECT. */
  mqtt: { maxPendingPerAddress: number; connectTimeoutMs: number };
  /** How long a command to a device waits for it before it expires. */
  commandTtlSeconds: number;
  /** Health: time-series points waiting beyond this make the hub `degraded`. */
  health: { bufferPoints: number };
  /** The fleet: how long a passed chain test counts, battery and signal limits. */
  fleet: FleetPolicy;
  /** How long a chain test waits for the device. */
  testWindowSeconds: number;
  /** A token that may read /metrics (an administrator's session may too). */
  metricsToken: string | null;
  /** People's passwords and sessions. */
  people: { scrypt: ScryptParams; minPasswordLength: number; session: SessionPolicy };
};

export const DEFAULT_SCHEDULER = { tickMs: 250, silenceEveryMs: 5000 };

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const HINTS: Record<string, string> = {
  INFLUX_URL: 'e.g. http://localhost:8086/velferd (the path names the database)',
  HUB_ADMIN_PASSWORD: 'at least 8 characters',
  MAP_TILE_URL: 'a tile URL template with {z}, {x} and {y}, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png',
  ESCALATION_SECONDS: 'five numbers, seconds to acknowledge for priority 1 to 5, e.g. 60,120,300,900,3600',
  LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
  CLOCK_SKEW_SECONDS: 'seconds, e.g. 300',
  MQTT_MAX_PENDING_PER_ADDRESS: 'a whole number, e.g. 50',
  METRICS_TOKEN: 'at least 16 characters, e.g. from: openssl rand -hex 24',
};

/** Reads the known variables from `env`; empty strings count as unset. Throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const converted = Value.Convert(EnvSchema, raw);
  const problems = [...Value.Errors(EnvSchema, converted)].map((e) => {
    const key = e.path.replace(/^\//, '');
    const hint = HINTS[key] ? ` (${HINTS[key]})` : '';
    return `${key}=${JSON.stringify(raw[key])}: ${e.message}${hint}`;
  });
  const e0 = converted as Env;
  if (!!e0.TLS_CERT !== !!e0.TLS_KEY) problems.push('TLS_CERT and TLS_KEY go together: give both PEM files, or neither');
  for (const key of ['TLS_CERT', 'TLS_KEY', 'TLS_CLIENT_CA'] as const) {
    const file = e0[key];
    if (file && !existsSync(file)) problems.push(`${key}=${JSON.stringify(file)}: no such file`);
  }
  if (e0.TLS_CLIENT_CA && !e0.TLS_CERT) problems.push('TLS_CLIENT_CA needs TLS_CERT and TLS_KEY');
  if (problems.length > 0) throw new ConfigError(problems);
  const e = converted as Env;

  let influx: Config['influx'] = null;
  if (e.INFLUX_URL) {
    const url = new URL(e.INFLUX_URL);
    const database = url.pathname.replace(/^\//, '') || 'velferd';
    influx = { url: url.origin, database, bufferMaxPoints: e.INFLUX_BUFFER_MAX_POINTS ?? 1_000_000 };
  }
  const tls = e.TLS_CERT && e.TLS_KEY ? { certFile: e.TLS_CERT, keyFile: e.TLS_KEY, clientCaFile: e.TLS_CLIENT_CA ?? null, mqttsPort: e.MQTTS_PORT ?? 8883 } : null;
  return {
    mqttPort: e.MQTT_PORT ?? 1883,
    mqttPlain: !(tls && e.MQTT_PORT === 0),
    tls,
    httpPort: e.HTTP_PORT ?? 8080,
    host: e.HOST ?? '0.0.0.0',
    dataDir: e.DATA_DIR ?? './data',
    influx,
    adminPassword: e.HUB_ADMIN_PASSWORD ?? null,
    logLevel: e.LOG_LEVEL ?? 'info',
    commitWindowMs: e.COMMIT_WINDOW_MS ?? 0,
    alarms: {
      ackDeadlineSeconds: e.ESCALATION_SECONDS
        ? (e.ESCALATION_SECONDS.split(',').map((x) => Number(x.trim())) as AlarmPolicy['ackDeadlineSeconds'])
        : DEFAULT_POLICY.ackDeadlineSeconds,
      escalationRepeatSeconds: e.ESCALATION_REPEAT_SECONDS ?? DEFAULT_POLICY.escalationRepeatSeconds,
      cancelGraceSeconds: e.CANCEL_GRACE_SECONDS ?? DEFAULT_POLICY.cancelGraceSeconds,
    },
    silence: DEFAULT_SILENCE_POLICY,
    scheduler: DEFAULT_SCHEDULER,
    live: { pingIntervalMs: 15_000, maxBufferedBytes: 1024 * 1024, sessionCheckMs: 2000 },
    map: {
      tileUrl: e.MAP_TILE_URL ?? 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
      attribution: e.MAP_ATTRIBUTION ?? '© OpenStreetMap',
    },
    clockSkewSeconds: e.CLOCK_SKEW_SECONDS ?? 300,
    mqtt: { maxPendingPerAddress: e.MQTT_MAX_PENDING_PER_ADDRESS ?? 50, connectTimeoutMs: (e.MQTT_CONNECT_TIMEOUT_SECONDS ?? 30) * 1000 },
    commandTtlSeconds: e.COMMAND_TTL_SECONDS ?? 3600,
    health: { bufferPoints: e.HEALTH_BUFFER_POINTS ?? 100_000 },
    fleet: { ...DEFAULT_FLEET_POLICY, ...(e.TEST_VALID_MONTHS ? { testValidDays: Math.round(e.TEST_VALID_MONTHS * 365 / 12) } : {}) },
    testWindowSeconds: (e.TEST_WINDOW_MINUTES ?? 15) * 60,
    metricsToken: e.METRICS_TOKEN ?? null,
    people: {
      scrypt: { ...DEFAULT_SCRYPT, ...(e.PASSWORD_SCRYPT_LOG_N ? { logN: e.PASSWORD_SCRYPT_LOG_N } : {}) },
      minPasswordLength: e.PASSWORD_MIN_LENGTH ?? 10,
      session: { maxMs: (e.SESSION_HOURS ?? 12) * 3_600_000, idleMs: (e.SESSION_IDLE_MINUTES ?? 60) * 60_000 },
    },
  };
}

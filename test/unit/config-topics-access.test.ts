import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../hub/config.ts';
import { can, servesTenant, type Principal } from '../../hub/core/access.ts';
import { clientIdProblem, isUplink, publishChannel, maySubscribe, parseTopic, topics } from '../../hub/core/topics.ts';

describe('loadConfig', () => {
  it('has defaults that start a hub with nothing set', () => {
    expect(loadConfig({})).toMatchObject({
      mqttPort: 1883, httpPort: 8080, host: '0.0.0.0', dataDir: './data', influx: null, adminPassword: null, logLevel: 'info', commitWindowMs: 0,
      alarms: { ackDeadlineSeconds: [60, 120, 300, 900, 3600], escalationRepeatSeconds: 60, cancelGraceSeconds: 60 },
    });
    expect(loadConfig({ ESCALATION_SECONDS: '30, 60,90,120,150', ESCALATION_REPEAT_SECONDS: '10' }).alarms)
      .toEqual({ ackDeadlineSeconds: [30, 60, 90, 120, 150], escalationRepeatSeconds: 10, cancelGraceSeconds: 60 });
    expect(() => loadConfig({ ESCALATION_SECONDS: '60,120' })).toThrow(/ESCALATION_SECONDS/);
  });

  it('reads ports, InfluxDB URL with its database, and treats empty strings as unset', () => {
    const c = loadConfig({ MQTT_PORT: '11883', HTTP_PORT: '18080', INFLUX_URL: 'http://influx:8086/kommune', HOST: '', INFLUX_BUFFER_MAX_POINTS: '5000' });
    expect(c.mqttPort).toBe(11883);
    expect(c.httpPort).toBe(18080);
    expect(c.host).toBe('0.0.0.0');
    expect(c.influx).toEqual({ url: 'http://influx:8086', database: 'kommune', bufferMaxPoints: 5000 });
    expect(loadConfig({ INFLUX_URL: 'http://localhost:8086' }).influx?.database).toBe('velferd');
  });

  it('fails with every problem named', () => {
    try {
      loadConfig({ MQTT_PORT: 'seventeen', HTTP_PORT: '70000', INFLUX_URL: 'influx', HUB_ADMIN_PASSWORD: 'short' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      for (const key of ['MQTT_PORT', 'HTTP_PORT', 'INFLUX_URL', 'HUB_ADMIN_PASSWORD']) expect(msg).toContain(key);
    }
  });
});

describe('topic contract', () => {
  it('parses device topics and nothing else', () => {
    expect(parseTopic('devices/sa-1/events')).toEqual({ deviceId: 'sa-1', channel: 'events' });
    expect(parseTopic('devices/sa-1/events/extra')).toBeNull();
    expect(parseTopic('devices/+/events')).toBeNull();
    expect(parseTopic('other/sa-1/events')).toBeNull();
    expect(parseTopic('devices/sa-1/secrets')).toBeNull();
  });

  it('lets a device publish events and status only under its own id', () => {
    expect(publishChannel('sa-1', topics.events('sa-1'))).toBe('events');
    expect(publishChannel('sa-1', topics.status('sa-1'))).toBe('status');
    expect(publishChannel('sa-1', topics.commands('sa-1'))).toBeNull();
    expect(publishChannel('sa-1', topics.events('sa-2'))).toBeNull();
    expect([topics.events('sa-1'), topics.status('sa-1')].every(isUplink)).toBe(true);
    expect([topics.commands('sa-1'), 'other/sa-1/events', '$SYS/broker/uptime'].some(isUplink)).toBe(false);
  });

  it('lets a device subscribe to its own commands only', () => {
    expect(maySubscribe('sa-1', topics.commands('sa-1'))).toBe(true);
    expect(maySubscribe('sa-1', topics.commands('sa-2'))).toBe(false);
    expect(maySubscribe('sa-1', 'devices/#')).toBe(false);
    expect(maySubscribe('sa-1', topics.events('sa-1'))).toBe(false);
  });
});

describe('access', () => {
  const operator: Principal = { userId: 'u1', username: 'ola', role: 'operator', tenantIds: ['0301'] };
  const admin: Principal = { userId: 'u0', username: 'admin', role: 'admin', tenantIds: [], allTenants: true };
  it('scopes users to their municipalities; administrators serve all', () => {
    expect(servesTenant(operator, '0301')).toBe(true);
    expect(servesTenant(operator, '4601')).toBe(false);
    expect(servesTenant(admin, '4601')).toBe(true);
  });
  it('grants by role', () => {
    expect(can(operator, 'residents:read')).toBe(true);
    expect(can(operator, 'devices:write')).toBe(false);
    expect(can({ ...operator, role: 'technician' }, 'devices:write')).toBe(true);
    expect(can({ ...operator, role: 'leader' }, 'residents:read')).toBe(false);
  });
});

describe('the client-id rule', () => {
  const id = 'sa-k3j9x2m1qz';
  it('allows the device id, and the device id with a suffix of its own', () => {
    expect(clientIdProblem(id, id)).toBeNull();
    expect(clientIdProblem(id, `${id}-base`)).toBeNull();
    expect(clientIdProblem(id, `${id}-${'x'.repeat(64)}`)).toBeNull();
  });
  it('refuses another device\'s id, a prefix without the hyphen, an empty id and random ids, saying why', () => {
    for (const bad of ['sa-aaaaaaaaaa', `${id}x`, `${id}-`, '', 'mqttjs_1234', id.slice(0, -1), `${id}-${'x'.repeat(65)}`]) {
      expect(clientIdProblem(id, bad), bad).toMatch(id);
    }
  });
});

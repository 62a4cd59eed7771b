/**
 * The MQTT topic contract. One module maps each topic to what travels on it; the broker's ACL,
 * the hub's ingest and the simulators all use it.
 *
 *   devices/{deviceId}/events    device → hub, JSON event (see events.ts), QoS 1
 *   devices/{deviceId}/status    device → hub, retained `online` / `offline` (the last will)
 *   devices/{deviceId}/commands  hub → device, JSON command
 */
export const TOPIC_ROOT = 'devices';

export type DeviceTopic = 'events' | 'status' | 'commands';

export const topics = {
  events: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/events`,
  status: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/status`,
  commands: (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/commands`,
};

/** Topics a device may publish to, and the one it may subscribe to. */
export const DEVICE_PUBLISH: readonly DeviceTopic[] = ['events', 'status'];
export const DEVICE_SUBSCRIBE: readonly DeviceTopic[] = ['commands'];

export type ParsedTopic = { deviceId: string; channel: DeviceTopic };

/** Parses `devices/{id}/{channel}`; anything else (wildcards, extra levels) is null. */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== TOPIC_ROOT) return null;
  const [, deviceId, channel] = parts as [string, string, string];
  if (!deviceId || deviceId.includes('+') || deviceId.includes('#')) return null;
  if (channel !== 'events' && channel !== 'status' && channel !== 'commands') return null;
  return { deviceId, channel };
}

export function mayPublish(deviceId: string, topic: string): boolean {
  const t = parseTopic(topic);
  return t !== null && t.deviceId === deviceId && DEVICE_PUBLISH.includes(t.channel);
}

export function maySubscribe(deviceId: string, topic: string): boolean {
  const t = parseTopic(topic);
  return t !== null && t.deviceId === deviceId && DEVICE_SUBSCRIBE.includes(t.channel);
}

export const STATUS_VALUES = ['online', 'offline'] as const;
export type DeviceStatus = (typeof STATUS_VALUES)[number];

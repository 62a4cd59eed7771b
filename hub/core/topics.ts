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

/** The topic a device may subscribe to (it publishes to `events` and `status`: `publishChannel`). */
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

/** A topic under the device tree ending in a channel devices send on (`events`, `status`); levels not checked. */
export function isUplink(topic: string): boolean {
  return topic.startsWith(`${TOPIC_ROOT}/`) && (topic.endsWith('/events') || topic.endsWith('/status'));
}

/** The channel a device publishes on with this topic, or null when the topic is not its to publish to. */
export function publishChannel(deviceId: string, topic: string): 'events' | 'status' | null {
  const t = parseTopic(topic);
  return t !== null && t.deviceId === deviceId && (t.channel === 'events' || t.channel === 'status') ? t.channel : null;
}


export function maySubscribe(deviceId: string, topic: string): boolean {
  const t = parseTopic(topic);
  return t !== null && t.deviceId === deviceId && DEVICE_SUBSCRIBE.includes(t.channel);
}

export const STATUS_VALUES = ['online', 'offline'] as const;
export type DeviceStatus = (typeof STATUS_VALUES)[number];

/** How long the part of a client id after `{deviceId}-` may be. */
export const CLIENT_ID_SUFFIX_MAX = 64;

/**
 * The client-id rule. A device's MQTT client id is its device id, or its device id, a hyphen and
 * a suffix of its own (`sa-k3j9x2m1qz-base`). The MQTT session belongs to the client id, and a
 * broker hands a client id's session to whoever connects with it last: so a device may only ever
 * use ids that no other device can, and no connection can take over or disturb another device's
 * session. (Device ids are a prefix, a hyphen and ten characters, so `{id}-…` is never another
 * device's id nor another device's `{id}-…`.) Returns null when allowed, else the reason.
 */
export function clientIdProblem(deviceId: string, clientId: string): string | null {
  if (clientId === deviceId) return null;
  if (clientId.startsWith(`${deviceId}-`) && clientId.length > deviceId.length + 1 && clientId.length <= deviceId.length + 1 + CLIENT_ID_SUFFIX_MAX) return null;
  return clientId === ''
    ? `an empty client id is not allowed; use the device id ${deviceId}`
    : `client id "${clientId.slice(0, 100)}" is not the device id ${deviceId} nor begins with "${deviceId}-"`;
}

import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketScanner } from '../../broker/packet-guard.ts';

const publish = (payloadBytes: number) => mqttPacket.generate({
  cmd: 'publish', topic: 'devices/sa-1/events', payload: Buffer.alloc(payloadBytes, 0x61), qos: 1, messageId: 7, retain: false, dup: false,
});
const ping = () => mqttPacket.generate({ cmd: 'pingreq' });

describe('packet scanner', () => {
  it('follows packet boundaries however the bytes are split', () => {
    const stream = Buffer.concat([ping(), publish(200), ping(), publish(20_000), publish(0)]);
    for (const size of [1, 2, 3, 7, 64, 1000, stream.length]) {
      const s = new PacketScanner(32 * 1024);
      for (let i = 0; i < stream.length; i += size) expect(s.scan(stream.subarray(i, i + size)), `chunks of ${size}`).toBeNull();
      // The next packet after the stream is read from its first byte again.
      expect(s.scan(publish(40_000))).toMatch(/limit is 32768/);
    }
  });

  it('stops a packet that declares more than the limit, before its body arrives', () => {
    const s = new PacketScanner(32 * 1024);
    const header = publish(100_000).subarray(0, 4); // type byte and a 3-byte length
    expect(s.scan(header)).toMatch(/packet of \d+ bytes/);
  });

  it('stops a malformed length', () => {
    expect(new PacketScanner(1 << 30).scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe('malformed remaining length');
  });
});

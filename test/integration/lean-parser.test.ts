/**
 * The broker's smaller parser list (broker/lean-parser.ts) applies to the aedes and mqtt-packet
 * installed, and a connection parses with it as with the stream it replaces: packets split across
 * reads, packets back to back in one read.
 */
import { Aedes } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { leanParser } from '../../broker/lean-parser.ts';

const aedes = await Aedes.createBroker();
const swapped: boolean[] = [];
const server = createServer((socket) => { swapped.push(leanParser(aedes.handle(socket))); });
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await new Promise<void>((r) => aedes.close(() => r()));
});

const packet = (p: Parameters<typeof mqttPacket.generate>[0]) => mqttPacket.generate(p);

describe('the lean parser list', () => {
  it('is swapped in for every connection, and every packet still arrives whole, however the bytes are split', async () => {
    const received: { topic: string; bytes: number }[] = [];
    aedes.subscribe('t/#', (p, cb) => { received.push({ topic: p.topic, bytes: (p.payload as Buffer).length }); cb(); }, () => {});
    const socket: Socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const stream = Buffer.concat([
      packet({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'lean-1', keepalive: 60 }),
      ...[10, 20_000, 0, 300].map((n, i) => packet({ cmd: 'publish', topic: `t/${i}`, payload: Buffer.alloc(n, 0x61), qos: 0, retain: false, dup: false })),
    ]);
    // One byte at a time for the first kilobyte, then the rest in uneven pieces.
    for (let i = 0; i < stream.length;) {
      const size = i < 1024 ? 1 : 4093;
      socket.write(stream.subarray(i, i + size));
      i += size;
      if (i % 512 === 0) await new Promise((r) => setImmediate(r));
    }
    for (let t = 0; t < 200 && received.length < 4; t++) await new Promise((r) => setTimeout(r, 10));
    socket.destroy();
    expect(swapped).toEqual([true]);
    expect(received).toEqual([{ topic: 't/0', bytes: 10 }, { topic: 't/1', bytes: 20_000 }, { topic: 't/2', bytes: 0 }, { topic: 't/3', bytes: 300 }]);
  });

  it('leaves alone what it does not know', () => {
    expect(leanParser(null)).toBe(false);
    expect(leanParser({ _parser: { _list: { length: 3, append() {}, consume() {} } } })).toBe(false);
    expect(leanParser({})).toBe(false);
  });
});

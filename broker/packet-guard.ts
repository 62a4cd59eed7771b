/**
 * A limit on MQTT packet size at the socket, before the broker buffers anything.
 *
 * aedes (through mqtt-packet) reads a packet's declared length and then buffers until the whole
 * packet has arrived: up to 256 MB, even before the client has authenticated. For a system that
 * must keep serving every other alarm, a single hostile or broken client must not be able to do
 * that. The guard reads each packet's fixed header as the bytes pass and closes the connection
 * when a packet declares more than the limit. Payloads between the ingest limit (16 KiB) and this
 * one still reach ingest, where they are rejected and counted against the device.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** Follows MQTT packet boundaries through a byte stream (fixed header: type byte, then a 1–4 byte length). */
export class PacketScanner {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Scans a chunk; returns a reason when the stream must be closed, else null. */
  scan(chunk: Uint8Array): string | null {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'type':
          i++;
          this.state = 'length';
          this.length = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          break;
        case 'length': {
          const b = chunk[i++] as number;
          this.length += (b & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          this.lengthBytes++;
          if (b & 0x80) {
            if (this.lengthBytes === 4) return 'malformed remaining length';
            break;
          }
          if (this.length > this.maxPacketBytes) return `packet of ${this.length} bytes; the limit is ${this.maxPacketBytes}`;
          this.remaining = this.length;
          this.state = this.remaining > 0 ? 'body' : 'type';
          break;
        }
        case 'body': {
          const take = Math.min(this.remaining, chunk.length - i);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = 'type';
          break;
        }
      }
    }
    return null;
  }
}

/**
 * Wraps a client socket: what the client sends passes through the scanner, what the broker
 * writes goes straight to the socket. `onViolation` hears why a connection was closed.
 */
export function guardSocket(socket: Socket, maxPacketBytes: number, onViolation: (reason: string) => void): Duplex {
  const scanner = new PacketScanner(maxPacketBytes);
  const guarded = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (socket.destroyed) return callback();
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const problem = scanner.scan(chunk);
    if (problem) {
      onViolation(problem);
      socket.destroy();
      guarded.destroy();
      return;
    }
    if (!guarded.push(chunk)) socket.pause();
  });
  socket.on('end', () => guarded.push(null));
  socket.on('error', (err) => guarded.destroy(err));
  socket.on('close', () => guarded.destroy());
  // What aedes may read off its connection.
  Object.assign(guarded, { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort });
  return guarded;
}

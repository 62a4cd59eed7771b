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
 * Guards a client socket in place: every chunk the socket receives passes the scanner before it
 * is buffered for the broker (Node hands a socket's incoming bytes to its `push`), so nothing
 * over the limit is ever held. No stream is put in between: a wrapper stream cost each idle
 * connection more than a kilobyte. `onViolation` hears why a connection was closed.
 */
export function guardSocket<S extends Socket>(socket: S, maxPacketBytes: number, onViolation: (reason: string) => void): S {
  const scanner = new PacketScanner(maxPacketBytes);
  const push = socket.push;
  socket.push = function guardedPush(this: S, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null && chunk instanceof Uint8Array) {
      const problem = scanner.scan(chunk);
      if (problem) {
        onViolation(problem);
        socket.destroy();
        return false;
      }
    }
    return push.call(this, chunk, encoding);
  };
  return socket;
}

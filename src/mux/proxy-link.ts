/**
 * The proxy mode of an OpenSSH control socket (MUX_C_PROXY): after MUX_S_PROXY the socket carries
 * connection-protocol messages in the clear, each as `uint32 length || byte padding length (0) ||
 * payload`. {@link ProxyLink} is the {@link PacketLink} a `Connection` sends through, and
 * {@link ProxyFramer} splits what arrives. OpenSSH's master relays channel messages (it renumbers the
 * channels) and `tcpip-forward`; it drops a client that sends any other global request.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { PacketLink } from '../connection/types.js';
import { MuxError } from '../errors.js';

/** Largest proxied packet: a payload of 256 KiB (OpenSSH's PACKET_MAX_SIZE) and the padding byte. */
export const MAX_PROXY_PACKET = 256 * 1024 + 1;

/** A PacketLink writing proxy-mode frames to `stream`. */
export class ProxyLink extends EventEmitter implements PacketLink {
  constructor(private readonly stream: Duplex) {
    super();
    stream.on('drain', () => this.emit('drain'));
  }

  send(payload: Buffer): boolean {
    return this.stream.write(proxyFrame(payload));
  }

  sendParts(head: Buffer, body: Buffer): boolean {
    return this.stream.write(proxyFrame(Buffer.concat([head, body])));
  }
}

/** One proxy-mode frame around `payload`. */
export function proxyFrame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out.writeUInt32BE(payload.length + 1, 0);
  out[4] = 0;
  payload.copy(out, 5);
  return out;
}

/** Splits proxy-mode frames; lengths are checked before anything is buffered for them. */
export class ProxyFramer {
  private buf: Buffer = Buffer.alloc(0);

  /** Feeds bytes and returns the payloads of the frames they complete. Throws MuxError on a bad frame. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    let at = 0;
    while (this.buf.length - at >= 4) {
      const len = this.buf.readUInt32BE(at);
      if (len < 2 || len > MAX_PROXY_PACKET) {
        throw new MuxError(`proxied packet length ${len} is out of range (2..${MAX_PROXY_PACKET})`);
      }
      if (this.buf.length - at < 4 + len) break;
      if (this.buf[at + 4] !== 0) throw new MuxError('proxied packet has padding (the proxy protocol sends none)');
      out.push(this.buf.subarray(at + 5, at + 4 + len));
      at += 4 + len;
    }
    this.buf = at === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(at);
    return out;
  }
}

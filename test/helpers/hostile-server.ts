/**
 * Hostile SSH servers that speak the protocol for real, for the client's adversarial tests.
 *
 * - {@link startScriptedServer}: secsh's Transport in the server role (real key exchange, host key,
 *   encryption), authentication answered with success, then every connection-layer message from the
 *   client handed to a script that answers with crafted payloads — several of them in one write
 *   (one TCP segment on loopback) when it likes, to reach the client in one read.
 * - {@link cutAfter}: arms a server-side Transport (secsh's own Server's, or the scripted one's) to
 *   stop after the Nth packet it sends: the socket is destroyed, or one malformed packet follows in
 *   the same write.
 */
import { createServer, type Socket } from 'node:net';
import { resolveAlgorithms } from '../../src/crypto/algorithms.js';
import { generatePrivateKey, type PrivateKey } from '../../src/keys/index.js';
import { Transport } from '../../src/transport/transport.js';
import { MSG, SshReader, SshWriter } from '../../src/wire/index.js';

/** One client connection of a scripted server. */
export interface ScriptedSession {
  readonly transport: Transport;
  readonly socket: Socket;
  /** Sends the payloads in one write: they reach the client in one read. */
  send(...payloads: Buffer[]): void;
}

/** Called with each connection-layer message (80–127) the client sends after authentication. */
export type Script = (payload: Buffer, session: ScriptedSession) => void;

export interface ScriptedServer {
  port: number;
  hostKey: PrivateKey;
  /** `hostKeyFingerprint` for Client.connect. */
  fingerprint: string;
  sessions: ScriptedSession[];
  stop(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 that completes the key exchange, accepts any user with any method
 * (the first USERAUTH_REQUEST, usually "none", succeeds; `afterAuth` payloads follow the success in
 * the same write) and hands connection messages to `script`.
 */
export function startScriptedServer(script: Script, opts: { afterAuth?: Buffer[] } = {}): Promise<ScriptedServer> {
  const hostKey = generatePrivateKey('ed25519');
  const sessions: ScriptedSession[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const transport = new Transport(socket, {
      role: 'server',
      algorithms: resolveAlgorithms(undefined),
      hostKeys: [hostKey],
    });
    const session: ScriptedSession = {
      transport,
      socket,
      send: (...payloads) => {
        // The transport corks the socket until the next tick: payloads sent in one tick leave in one writev.
        for (const p of payloads) transport.send(p);
      },
    };
    sessions.push(session);
    transport.on('close', () => socket.destroy());
    transport.setMessageHandler((p) => {
      const n = p[0] as number;
      if (n === MSG.SERVICE_REQUEST) {
        transport.send(new SshWriter(32).byte(MSG.SERVICE_ACCEPT).string('ssh-userauth').toBuffer());
      } else if (n === MSG.USERAUTH_REQUEST) {
        session.send(Buffer.from([MSG.USERAUTH_SUCCESS]), ...(opts.afterAuth ?? []));
      } else if (n >= 80) {
        script(p, session);
      }
    });
    transport.start();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      resolve({
        port,
        hostKey,
        fingerprint: hostKey.publicKey.fingerprint(),
        sessions,
        stop: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

// ---- reading what the client sent ----

/** A CHANNEL_OPEN from the client. */
export function parseChannelOpen(p: Buffer): { type: string; sender: number; window: number; maxPacket: number } {
  const r = new SshReader(p, 1);
  return { type: r.string().toString('latin1'), sender: r.uint32(), window: r.uint32(), maxPacket: r.uint32() };
}

/** A CHANNEL_REQUEST from the client. */
export function parseChannelRequest(p: Buffer): { recipient: number; type: string; wantReply: boolean } {
  const r = new SshReader(p, 1);
  return { recipient: r.uint32(), type: r.string().toString('latin1'), wantReply: r.bool() };
}

// ---- payloads a server sends ----

export function openConfirmation(recipient: number, sender = recipient, window = 2 * 1024 * 1024, maxPacket = 32768) {
  return new SshWriter(32)
    .byte(MSG.CHANNEL_OPEN_CONFIRMATION)
    .uint32(recipient)
    .uint32(sender)
    .uint32(window)
    .uint32(maxPacket)
    .toBuffer();
}

export function openFailure(recipient: number, code: number, description: string): Buffer {
  return new SshWriter(64)
    .byte(MSG.CHANNEL_OPEN_FAILURE)
    .uint32(recipient)
    .uint32(code)
    .string(description)
    .string('')
    .toBuffer();
}

export function channelSuccess(recipient: number): Buffer {
  return new SshWriter(8).byte(MSG.CHANNEL_SUCCESS).uint32(recipient).toBuffer();
}

export function channelFailure(recipient: number): Buffer {
  return new SshWriter(8).byte(MSG.CHANNEL_FAILURE).uint32(recipient).toBuffer();
}

export function channelData(recipient: number, data: Buffer): Buffer {
  return new SshWriter(16 + data.length).byte(MSG.CHANNEL_DATA).uint32(recipient).string(data).toBuffer();
}

export function channelEof(recipient: number): Buffer {
  return new SshWriter(8).byte(MSG.CHANNEL_EOF).uint32(recipient).toBuffer();
}

export function channelClose(recipient: number): Buffer {
  return new SshWriter(8).byte(MSG.CHANNEL_CLOSE).uint32(recipient).toBuffer();
}

/** CHANNEL_REQUEST with a raw type-specific tail (which may be malformed on purpose). */
export function channelRequest(recipient: number, type: string, wantReply: boolean, tail: Buffer): Buffer {
  return new SshWriter(64 + tail.length)
    .byte(MSG.CHANNEL_REQUEST)
    .uint32(recipient)
    .string(type)
    .bool(wantReply)
    .raw(tail)
    .toBuffer();
}

export function exitStatus(recipient: number, code: number): Buffer {
  return channelRequest(recipient, 'exit-status', false, new SshWriter(4).uint32(code).toBuffer());
}

export function requestReply(ok: boolean): Buffer {
  return Buffer.from([ok ? MSG.REQUEST_SUCCESS : MSG.REQUEST_FAILURE]);
}

/**
 * A message the client must treat as a protocol error in every phase: CHANNEL_DATA for channel 0
 * whose string runs past the end of the packet (before authentication any connection message is
 * out of place; after it, a truncated message or an unknown channel).
 */
export function malformedPayload(): Buffer {
  return Buffer.from([MSG.CHANNEL_DATA, 0, 0, 0, 0, 0, 0, 0, 16, 0x61, 0x62]);
}

// ---- cutting a server's output after N packets ----

/** How a cut ends the connection. */
export type CutMode = 'destroy' | 'protocol-error';

/** A server transport armed by {@link cutAfter}. */
export interface Cut {
  /** Packets the transport encoded so far (suppressed ones included). */
  readonly sent: number;
  /** performance.now() when the cut happened, or undefined while it has not. */
  readonly at: number | undefined;
}

interface EncoderLike {
  encode(payload: Buffer): Buffer;
  encodeParts(head: Buffer, body: Buffer): Buffer[];
}

/**
 * Lets the server transport send `n` packets (its version line is not one), then cuts: with
 * 'destroy' the packets after the nth are dropped and the socket is destroyed once the nth has been
 * written; with 'protocol-error' a {@link malformedPayload} packet, properly encrypted, follows the
 * nth in the same write and everything after it is dropped (n = 0: instead of the first packet).
 * `n` = Infinity only counts.
 *
 * Works on the transport's packet encoder (every packet, KEX included, is encoded there), so it must
 * be armed before the transport starts.
 */
export function cutAfter(transport: Transport, socket: Socket, n: number, mode: CutMode): Cut {
  const enc = (transport as unknown as { encoder?: EncoderLike }).encoder;
  if (!enc || typeof enc.encode !== 'function' || typeof enc.encodeParts !== 'function')
    throw new Error('cutAfter: Transport has no packet encoder (its internals changed: update this helper)');
  const encode = enc.encode.bind(enc);
  const encodeParts = enc.encodeParts.bind(enc);
  const state = { sent: 0, at: undefined as number | undefined };
  let nested = false;
  const after = (out: Buffer[]): Buffer[] => {
    state.sent++;
    if (state.sent < n) return out;
    if (state.sent > n) {
      if (state.at !== undefined) return [];
      out = []; // n = 0: cut at the first packet, sending none
    }
    state.at = performance.now();
    if (mode === 'destroy') {
      setImmediate(() => socket.destroy());
      return out;
    }
    nested = true;
    try {
      return [...out, encode(malformedPayload())];
    } finally {
      nested = false;
    }
  };
  enc.encode = (payload: Buffer): Buffer => {
    if (nested) return encode(payload);
    return Buffer.concat(after([encode(payload)]));
  };
  enc.encodeParts = (head: Buffer, body: Buffer): Buffer[] => {
    nested = true;
    let out: Buffer[];
    try {
      out = encodeParts(head, body);
    } finally {
      nested = false;
    }
    return after(out);
  };
  return state;
}

/**
 * The interop matrix, peer by peer and role by role: every algorithm both sides support (read from the
 * peer's KEXINIT), each authentication kind, SFTP where the peer has it, and a 1 MiB echo through `cat`
 * with a re-key every 256 KiB, initiated by secsh and (where the peer has a knob) by the peer, with and
 * without each compression both support. Each case is one subtest and one handshake; `Tally` prints
 * `matrix <peer> <client|server>: N handshakes tried, N passed, N failed`.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { AlgorithmKind, AlgorithmOptions } from '../../src/crypto/algorithms.js';
import type { Client, ConnectOptions } from '../../src/index.js';
import { Client as SecshClient } from '../../src/index.js';
import { AEAD_CIPHERS, commonAlgorithms, type PeerOffer, peerOnly, type RunResult } from './native-peers.js';
import {
  hostKeyKindFor,
  type SecshServer,
  type SecshServerOptions,
  secshHostKeys,
  startSecshServer,
} from './native-peers-server.js';

export type AuthKind = 'ed25519' | 'ecdsa' | 'rsa' | 'password';

/** One algorithm a case pins (the other kinds keep both sides' defaults). */
export interface Pin {
  kind: AlgorithmKind;
  name: string;
  /** With a non-AEAD cipher: the MAC pinned with it. */
  mac?: string;
}

export const MiB = 1024 * 1024;
export const REKEY_BYTES = 256 * 1024;

/** Counts cases per peer and role and prints the summary line. */
export class Tally {
  tried = 0;
  passed = 0;
  failed = 0;
  constructor(
    readonly peer: string,
    readonly role: 'client' | 'server',
  ) {}

  /** Runs `fn` as a subtest named `name`, counting it as one handshake. */
  async case(t: TestContext, name: string, fn: (st: TestContext) => Promise<void>): Promise<void> {
    await t.test(name, async (st) => {
      this.tried++;
      try {
        await fn(st);
        this.passed++;
      } catch (e) {
        this.failed++;
        throw e;
      }
    });
  }

  line(): string {
    return `matrix ${this.peer} ${this.role}: ${this.tried} handshakes tried, ${this.passed} passed, ${this.failed} failed`;
  }
}

/** The cases of one peer and role: algorithm pins, from what both sides support. */
export function algorithmPins(offer: PeerOffer): Pin[] {
  const pins: Pin[] = [];
  for (const kind of ['kex', 'hostKey', 'compression'] as const) {
    for (const name of commonAlgorithms(offer, kind)) pins.push({ kind, name });
  }
  const macs = commonAlgorithms(offer, 'mac');
  for (const cipher of commonAlgorithms(offer, 'cipher')) {
    if (AEAD_CIPHERS.has(cipher)) pins.push({ kind: 'cipher', name: cipher });
    else for (const mac of macs) pins.push({ kind: 'cipher', name: cipher, mac });
  }
  return pins;
}

function pinsFor(peer: { offer: PeerOffer; algorithmWalk: boolean }): Pin[] {
  const all = algorithmPins(peer.offer);
  return peer.algorithmWalk ? all : all.filter((p) => p.kind === 'compression');
}

export function pinName(p: Pin): string {
  return p.mac ? `cipher ${p.name} + ${p.mac}` : `${p.kind} ${p.name}`;
}

/** secsh's algorithm options for a pin. */
export function pinOptions(p: Pin): AlgorithmOptions {
  return p.mac ? { cipher: [p.name], mac: [p.mac] } : { [p.kind]: [p.name] };
}

/** What was negotiated, by kind, from secsh's point of view (both directions must agree). */
interface Seen {
  kex: string;
  hostKey: string;
  cipher: string;
  mac: string;
  compression: string;
  inbound: { cipher: string; mac: string; compression: string };
}

function assertPinned(p: Pin, n: Seen): void {
  if (p.kind === 'kex' || p.kind === 'hostKey') assert.equal(n[p.kind], p.name);
  else if (p.kind === 'compression') assert.deepEqual([n.compression, n.inbound.compression], [p.name, p.name]);
  else {
    assert.deepEqual([n.cipher, n.inbound.cipher], [p.name, p.name]);
    if (p.mac) assert.deepEqual([n.mac, n.inbound.mac], [p.mac, p.mac]);
  }
}

/** 1 MiB of data, half random and half text (so compression has something to do). */
export function echoData(): Buffer {
  return Buffer.concat([
    randomBytes(MiB / 2),
    Buffer.from('all work and no play makes jack a dull boy\n'.repeat(12_200)).subarray(0, MiB / 2),
  ]);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------- secsh client → peer server

/** A peer server as the matrix drives it. */
export interface ServerPeer {
  name: string;
  offer: PeerOffer;
  authKinds: readonly AuthKind[];
  /** The peer serves SFTP. */
  sftp: boolean;
  /** Pin each algorithm both support (false: only compression, when another suite walks the rest). */
  algorithmWalk: boolean;
  /** It serves one session per connection and then hangs up (tinysshd). */
  oneSession?: boolean;
  /** `SHA256:…` of every host key it has. */
  hostFingerprints: readonly string[];
  /** Where and as whom to connect, with `auth`'s key or password. */
  connectOptions(auth: AuthKind): Promise<ConnectOptions>;
  /** The same peer started with its own re-key limit of `bytes`, when it has one. */
  withPeerRekey?: (bytes: number) => Promise<ServerPeer>;
  stop(): Promise<void>;
  logs(): string;
}

async function connectTo(peer: ServerPeer, auth: AuthKind, extra: Partial<ConnectOptions> = {}): Promise<Client> {
  const base = await peer.connectOptions(auth);
  const fps = new Set(peer.hostFingerprints);
  return SecshClient.connect({
    ...base,
    hostVerifier: (k) => fps.has(k.fingerprint()),
    readyTimeout: 20_000,
    ...extra,
  });
}

async function withClient<T>(c: Client, fn: (c: Client) => Promise<T>): Promise<T> {
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

async function echoOk(c: Client): Promise<void> {
  const r = await c.exec('echo matrix-ok');
  assert.equal(r.stdout, 'matrix-ok\n');
  assert.equal(r.code, 0);
}

/** 1 MiB through `cat` on the peer; returns how many key exchanges secsh saw after the first. */
async function catEcho(c: Client): Promise<number> {
  let rekeys = 0;
  c.transport.on('kex', () => rekeys++);
  const data = echoData();
  const r = await c.exec('cat', { stdin: data, encoding: 'buffer' });
  assert.equal(r.stdout.length, data.length, 'every byte came back');
  assert.equal(sha(r.stdout), sha(data), 'the bytes that came back are the bytes sent');
  assert.equal(r.code, 0);
  return rekeys;
}

function compressionsOf(offer: PeerOffer): string[] {
  return commonAlgorithms(offer, 'compression');
}

/** Runs every case of secsh's client against `peer`. */
export async function serverPeerMatrix(t: TestContext, peer: ServerPeer): Promise<Tally> {
  const tally = new Tally(peer.name, 'server');
  const auth0 = peer.authKinds[0] ?? 'ed25519';
  t.diagnostic(`${peer.name} ${peer.offer.version}; offers beyond secsh: ${peerOnly(peer.offer).join(', ') || 'none'}`);
  for (const pin of pinsFor(peer)) {
    await tally.case(t, pinName(pin), async () => {
      const c = await connectTo(peer, auth0, { algorithms: pinOptions(pin) });
      await withClient(c, async () => {
        const n = c.transport.negotiated as Seen;
        assertPinned(pin, n);
        if (pin.kind === 'hostKey') assert.ok(peer.hostFingerprints.includes(c.hostKey.fingerprint()));
        await echoOk(c);
      });
    });
  }
  for (const auth of peer.authKinds) {
    await tally.case(t, `auth ${auth === 'password' ? 'password' : `publickey ${auth}`}`, async () => {
      await withClient(await connectTo(peer, auth), echoOk);
    });
  }
  if (peer.sftp) {
    await tally.case(t, 'sftp: write, stat, read back, readdir, remove (1 MiB)', async () => {
      await withClient(await connectTo(peer, auth0), async (c) => {
        const s = await c.sftp();
        const data = echoData();
        const name = `matrix-${process.pid}-${Date.now()}.bin`;
        await s.writeFile(name, data);
        assert.equal((await s.stat(name)).size, data.length);
        assert.equal(sha(await s.readFile(name)), sha(data));
        assert.ok((await s.readdir('.')).some((e) => e.filename === name));
        await s.unlink(name);
      });
    });
  }
  for (const z of compressionsOf(peer.offer)) {
    // Compressed, the 1 MiB is ~530 KiB on the wire (half of it is text): a quarter of the limit keeps two
    // re-keys clear of bytes that pass while one runs.
    const limit = z === 'none' ? REKEY_BYTES : REKEY_BYTES / 4;
    await tally.case(t, `1 MiB echo, secsh re-keys every ${limit / 1024} KiB, compression ${z}`, async (st) => {
      const c = await connectTo(peer, auth0, { rekeyLimit: { bytes: limit }, algorithms: { compression: [z] } });
      await withClient(c, async () => {
        const rekeys = await catEcho(c);
        st.diagnostic(`re-keys: ${rekeys}`);
        assert.ok(rekeys >= 2, `secsh re-keyed ${rekeys} times`);
        assert.equal(c.algorithms.compression, z);
        if (!peer.oneSession) await echoOk(c); // still works under the new keys
      });
    });
  }
  if (peer.withPeerRekey) {
    const rekeying = await peer.withPeerRekey(REKEY_BYTES);
    try {
      for (const z of compressionsOf(peer.offer)) {
        await tally.case(t, `1 MiB echo, ${peer.name} re-keys every 256 KiB, compression ${z}`, async (st) => {
          const c = await connectTo(rekeying, auth0, { algorithms: { compression: [z] } });
          await withClient(c, async () => {
            const rekeys = await catEcho(c);
            st.diagnostic(`re-keys: ${rekeys}`);
            // the peer counts by its own rules (libssh in cipher blocks, checked now and then): at least once
            assert.ok(rekeys >= 1, `${peer.name} re-keyed ${rekeys} times`);
            if (!peer.oneSession) await echoOk(c);
          });
        });
      }
    } finally {
      await rekeying.stop();
    }
  }
  return tally;
}

// ---------------------------------------------------------------- peer client → secsh server

/** One run of a peer client against the secsh server. */
export interface ClientRun {
  auth: AuthKind;
  command: string;
  input?: Buffer;
  /** The case's algorithm, for peers that must be told to offer it. */
  pin?: Pin;
  /** Ask the client to offer compression (ssh -C, plink -C, …). */
  compression?: boolean;
  /** The client's own re-key limit, where it has one. */
  rekeyBytes?: number;
}

/** A peer client as the matrix drives it. */
export interface ClientPeer {
  name: string;
  offer: PeerOffer;
  authKinds: readonly AuthKind[];
  /** The client can re-key on its own after N bytes. */
  peerRekey: boolean;
  /** Pin each algorithm both support (false: only compression, when another suite walks the rest). */
  algorithmWalk: boolean;
  /** secsh server settings for it: user, password and the keys it logs in with. */
  account: Pick<SecshServerOptions, 'user' | 'password' | 'keys'>;
  run(srv: SecshServer, r: ClientRun): Promise<RunResult>;
  /** Upload `local` as `/name` and download it again to `back` over SFTP, when it has an SFTP client. */
  sftpRoundTrip?: (srv: SecshServer, local: string, name: string, back: string) => Promise<void>;
  stop(): Promise<void>;
}

function okRun(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code} ${r.signal ?? ''}; stderr: ${r.stderr.slice(-1500)}`);
}

async function withServer<T>(o: SecshServerOptions, fn: (s: SecshServer) => Promise<T>): Promise<T> {
  const s = await startSecshServer(o);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Runs every case of the secsh server against the peer client; `root` is a scratch directory for SFTP. */
export async function clientPeerMatrix(t: TestContext, peer: ClientPeer, root: string): Promise<Tally> {
  const tally = new Tally(peer.name, 'client');
  const auth0 = peer.authKinds[0] ?? 'ed25519';
  t.diagnostic(`${peer.name} ${peer.offer.version}; offers beyond secsh: ${peerOnly(peer.offer).join(', ') || 'none'}`);
  const ours = await secshHostKeys();
  for (const pin of pinsFor(peer)) {
    const kind = pin.kind === 'hostKey' ? hostKeyKindFor(pin.name) : undefined;
    if (pin.kind === 'hostKey' && !(kind && ours.has(kind))) {
      t.diagnostic(`${pinName(pin)}: the secsh server has no such host key here`);
      continue;
    }
    await tally.case(t, pinName(pin), async () => {
      await withServer({ ...peer.account, algorithms: pinOptions(pin) }, async (srv) => {
        const compression = pin.kind === 'compression' && pin.name !== 'none';
        const r = await peer.run(srv, { auth: auth0, command: 'echo matrix-ok', pin, compression });
        okRun(r, pinName(pin));
        assert.equal(r.stdout.toString(), 'matrix-ok\n');
        const first = srv.exchanges[0];
        assert.ok(first, 'a key exchange completed');
        assertPinned(pin, first as Seen);
        assert.deepEqual(srv.errors, []);
      });
    });
  }
  for (const auth of peer.authKinds) {
    await tally.case(t, `auth ${auth === 'password' ? 'password' : `publickey ${auth}`}`, async () => {
      await withServer(peer.account, async (srv) => {
        const r = await peer.run(srv, { auth, command: 'echo matrix-ok' });
        okRun(r, auth);
        assert.equal(r.stdout.toString(), 'matrix-ok\n');
      });
    });
  }
  const sftp = peer.sftpRoundTrip;
  if (sftp) {
    await tally.case(t, 'sftp: upload and download 1 MiB through the secsh SFTP server', async () => {
      await withServer({ ...peer.account, sftpRoot: root }, async (srv) => {
        const data = echoData();
        const local = join(root, '..', `matrix-src-${peer.name}`);
        await writeFile(local, data);
        const name = `matrix-${peer.name}.bin`;
        await sftp(srv, local, name, `${local}.back`);
        assert.equal(sha(await readFile(join(root, name))), sha(data), 'uploaded bytes');
        assert.equal(sha(await readFile(`${local}.back`)), sha(data), 'downloaded bytes');
      });
    });
  }
  const zs = commonAlgorithms(peer.offer, 'compression');
  for (const z of zs) {
    const limit = z === 'none' ? REKEY_BYTES : REKEY_BYTES / 4; // as in the client's case above
    await tally.case(t, `1 MiB echo, secsh re-keys every ${limit / 1024} KiB, compression ${z}`, async (st) => {
      await withServer(
        { ...peer.account, rekeyLimit: { bytes: limit }, algorithms: { compression: [z] } },
        async (srv) => {
          const input = echoData();
          const r = await peer.run(srv, { auth: auth0, command: 'cat', input, compression: z !== 'none' });
          okRun(r, 'cat');
          assert.equal(sha(r.stdout), sha(input), 'the bytes that came back are the bytes sent');
          st.diagnostic(`re-keys: ${srv.exchanges.length - 1}`);
          assert.ok(srv.exchanges.length >= 3, `secsh re-keyed ${srv.exchanges.length - 1} times`);
          assert.ok(srv.exchanges.every((n) => n.compression === z));
          assert.deepEqual(srv.errors, []);
        },
      );
    });
  }
  if (peer.peerRekey) {
    for (const z of zs) {
      await tally.case(t, `1 MiB echo, ${peer.name} re-keys every 256 KiB, compression ${z}`, async (st) => {
        await withServer({ ...peer.account, algorithms: { compression: [z] } }, async (srv) => {
          const input = echoData();
          const r = await peer.run(srv, {
            auth: auth0,
            command: 'cat',
            input,
            compression: z !== 'none',
            rekeyBytes: REKEY_BYTES,
          });
          okRun(r, 'cat');
          assert.equal(sha(r.stdout), sha(input), 'the bytes that came back are the bytes sent');
          st.diagnostic(`re-keys: ${srv.exchanges.length - 1}`);
          assert.ok(srv.exchanges.length >= 2, `${peer.name} re-keyed ${srv.exchanges.length - 1} times`);
          assert.deepEqual(srv.errors, []);
        });
      });
    }
  }
  return tally;
}

// ---------------------------------------------------------------- smoke: one handshake and exec per role

/** secsh's client logs in to the peer (its first auth kind) and runs one command. */
export async function serverSmoke(peer: ServerPeer): Promise<void> {
  await withClient(await connectTo(peer, peer.authKinds[0] ?? 'ed25519'), echoOk);
}

/** The peer client logs in to a secsh server (its first auth kind) and runs one command. */
export async function clientSmoke(peer: ClientPeer): Promise<void> {
  await withServer(peer.account, async (srv) => {
    const r = await peer.run(srv, { auth: peer.authKinds[0] ?? 'ed25519', command: 'echo matrix-ok' });
    okRun(r, 'echo');
    assert.equal(r.stdout.toString(), 'matrix-ok\n');
    assert.equal(srv.connections(), 1);
  });
}

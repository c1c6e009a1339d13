/**
 * The secsh side of the native peers' client tests: a secsh Server on 127.0.0.1 that runs exec as
 * local processes, serves SFTP from a directory, accepts one user by password or by any of the given
 * keys, and counts every key exchange it completes; and user keys made by ssh-keygen (so no peer
 * reads a key file that secsh wrote).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlgorithmOptions } from '../../src/crypto/algorithms.js';
import { DisconnectError, DisconnectReason } from '../../src/errors.js';
import {
  generatePrivateKey,
  type PrivateKey,
  type PublicKey,
  parsePrivateKey,
  parsePublicKey,
} from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import { symlinkOrderFor } from '../../src/sftp/constants.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { serveSftp } from '../../src/sftp/server.js';
import type { NegotiatedAlgorithms, RekeyLimit } from '../../src/transport/options.js';
import { keygen, type UserKey } from './sshd.js';

/** Host key kinds the secsh server can be given, in the order tests list them. */
export type HostKeyKind = 'ed25519' | 'ecdsa256' | 'ecdsa384' | 'ecdsa521' | 'rsa' | 'dsa';

let hostKeys: Promise<Map<HostKeyKind, PrivateKey>> | undefined;

/** One host key of each kind, made once per process (DSA by ssh-keygen, when it still can). */
export function secshHostKeys(): Promise<Map<HostKeyKind, PrivateKey>> {
  hostKeys ??= (async () => {
    const m = new Map<HostKeyKind, PrivateKey>([
      ['ed25519', generatePrivateKey('ed25519')],
      ['ecdsa256', generatePrivateKey('ecdsa', { bits: 256 })],
      ['ecdsa384', generatePrivateKey('ecdsa', { bits: 384 })],
      ['ecdsa521', generatePrivateKey('ecdsa', { bits: 521 })],
      ['rsa', generatePrivateKey('rsa', { bits: 2048 })],
    ]);
    const dir = await mkdtemp(join(tmpdir(), 'secsh-dsa-'));
    try {
      await keygen(join(dir, 'dsa'), ['-t', 'dsa']);
      m.set('dsa', parsePrivateKey(await readFile(join(dir, 'dsa'))));
    } catch {
      // an ssh-keygen without DSA: no ssh-dss host key
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return m;
  })();
  return hostKeys;
}

/** The host key kind that signs with a host key algorithm. */
export function hostKeyKindFor(alg: string): HostKeyKind | undefined {
  if (alg === 'ssh-ed25519') return 'ed25519';
  const ec = /^ecdsa-sha2-nistp(256|384|521)$/.exec(alg);
  if (ec) return `ecdsa${ec[1]}` as HostKeyKind;
  if (alg === 'rsa-sha2-256' || alg === 'rsa-sha2-512' || alg === 'ssh-rsa') return 'rsa';
  if (alg === 'ssh-dss') return 'dsa';
  return undefined;
}

/** User keys made by ssh-keygen in `dir` (OpenSSH format, no passphrase). */
export interface UserKeys {
  ed25519: UserKey;
  ecdsa: UserKey;
  rsa: UserKey;
}

export async function makeUserKeys(dir: string): Promise<UserKeys> {
  const [ed25519, ecdsa, rsa] = await Promise.all([
    keygen(join(dir, 'id_ed25519'), ['-t', 'ed25519'], 'user-ed25519'),
    keygen(join(dir, 'id_ecdsa'), ['-t', 'ecdsa', '-b', '256'], 'user-ecdsa'),
    keygen(join(dir, 'id_rsa'), ['-t', 'rsa', '-b', '2048'], 'user-rsa'),
  ]);
  return { ed25519, ecdsa, rsa };
}

export interface SecshServerOptions {
  /** The one user name accepted. */
  user: string;
  password: string;
  /** Public keys that may log in as the user. */
  keys: readonly UserKey[];
  /** Limit the server's algorithms (e.g. one cipher) for a matrix case. */
  algorithms?: AlgorithmOptions;
  rekeyLimit?: RekeyLimit;
  /** Directory served by the sftp subsystem (default: no sftp). */
  sftpRoot?: string;
  /** Host key kinds to load (default all). */
  hostKeyKinds?: readonly HostKeyKind[];
}

export interface SecshServer {
  port: number;
  server: Server;
  /** Every key exchange completed, on every connection, in order (the first of each included). */
  exchanges: NegotiatedAlgorithms[];
  /** How many connections finished their first key exchange. */
  connections(): number;
  /** Fingerprints of the host keys loaded. */
  fingerprints: string[];
  /** The host keys loaded (for known_hosts files). */
  hostKeys: PrivateKey[];
  /** Connection errors the server saw (a peer's misbehaviour, or ours), but for a client's DISCONNECT by application. */
  errors: Error[];
  close(): Promise<void>;
}

/** Starts a secsh server on a free 127.0.0.1 port. */
export async function startSecshServer(o: SecshServerOptions): Promise<SecshServer> {
  const all = await secshHostKeys();
  const kinds = o.hostKeyKinds ?? [...all.keys()];
  const keys = kinds.flatMap((k) => all.get(k) ?? []);
  const allowed: PublicKey[] = o.keys.map((k) => parsePublicKey(k.publicLine));
  const server = new Server({
    hostKeys: keys,
    authMethods: ['publickey', 'password'],
    authFailureDelay: 0,
    authenticate: (ctx) => {
      if (ctx.username !== o.user) return false;
      if (ctx.method === 'password') return ctx.password === o.password;
      if (ctx.method === 'publickey')
        return ctx.key !== undefined && allowed.some((k) => k.equals(ctx.key as PublicKey));
      return false;
    },
    ...(o.algorithms ? { algorithms: o.algorithms } : {}),
    ...(o.rekeyLimit ? { rekeyLimit: o.rekeyLimit } : {}),
  });
  const exchanges: NegotiatedAlgorithms[] = [];
  const errors: Error[] = [];
  let firsts = 0;
  server.on('connection', (conn: { transport: NodeJS.EventEmitter }) => {
    let first = true;
    conn.transport.on('kex', (n: NegotiatedAlgorithms) => {
      exchanges.push(n);
      if (first) firsts++;
      first = false;
    });
  });
  // a client's own DISCONNECT "by application" (how ssh says goodbye) ends a connection normally
  server.on('client-error', (e: Error) => {
    if (!(e instanceof DisconnectError && e.peerReason === DisconnectReason.BY_APPLICATION)) errors.push(e);
  });
  server.on('error', (e: Error) => errors.push(e));
  const subsystems: Record<string, (session: Session) => void> = {};
  const root = o.sftpRoot;
  if (root !== undefined) {
    const backend = new LocalFsBackend(root);
    subsystems.sftp = (session) => {
      const exit = (code: number) => {
        try {
          session.exit(code);
        } catch {
          // channel already closed
        }
      };
      const symlinkOrder = symlinkOrderFor(session.clientVersion, session.serverVersion);
      serveSftp(session.channel, backend, { symlinkOrder }).then(
        () => exit(0),
        () => exit(1),
      );
    };
  }
  server.on('session', localProcessHandler({ shell: '/bin/sh', subsystems }));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return {
    port,
    server,
    exchanges,
    connections: () => firsts,
    fingerprints: keys.map((k) => k.publicKey.fingerprint()),
    hostKeys: keys,
    errors,
    close: () => server.close(),
  };
}

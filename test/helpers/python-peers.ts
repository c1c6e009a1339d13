/**
 * asyncssh, paramiko and Twisted Conch as interop peers in both roles, through the scripts of
 * test/helpers/fixtures (asyncssh_peer.py, paramiko_peer.py, conch_peer.py; their protocol is
 * described in peer_common.py): a peer server with exec (echo, cat), SFTP and a second listener on
 * which the peer itself re-keys every N bytes; a peer client that runs a list of cases (forced
 * algorithms, password or key, echo, a 1 MiB cat, SFTP) and reports one JSON line per case; and what
 * a peer client offers (its KEXINIT), read off the wire.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AlgorithmKind } from '../../src/crypto/algorithms.js';
import type { PublicKey } from '../../src/keys/index.js';
import { type PyProcess, startPyProcess } from './asyncssh.js';
import { clientOffer, type PeerOffer } from './native-peers.js';
import { PYTHON } from './peers.js';
import { stopChild } from './sshd.js';

/** The Python peers, by the name requirePeer knows them. */
export type PyPeer = 'asyncssh' | 'paramiko' | 'twisted';
export const PY_PEERS: readonly PyPeer[] = ['asyncssh', 'paramiko', 'twisted'];

/** The user and password every peer (and the secsh server of the matrix) accepts. */
export const PY_USER = 'alice';
export const PY_PASSWORD = 'secret';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const SCRIPT: Record<PyPeer, string> = {
  asyncssh: 'asyncssh_peer.py',
  paramiko: 'paramiko_peer.py',
  twisted: 'conch_peer.py',
};

/** What a peer server prints when it is ready. */
export interface PyPeerServerInfo {
  port: number;
  /** A second listener: the peer starts a re-key every `rekeyBytes` on its connections. */
  rekeyPort: number;
  /** Host key type (the blob's first string: ssh-rsa, ssh-dss, ...) → public blob, base64. */
  hostKeys: Record<string, string>;
  version: string;
}

export interface PyPeerServerOptions {
  /** Served by SFTP (asyncssh: chroot; paramiko: rooted interface; Conch: home directory). */
  root: string;
  /** authorized_keys file for user alice. */
  authorizedKeysPath: string;
  /** Re-key interval of the rekey listener (default 256 KiB). */
  rekeyBytes?: number;
  /** Host key kinds to make (default all; RSA and DSA take the peer a second or two to generate). */
  hostKeys?: readonly HostKeyKind[];
  /** paramiko: without the fixture's workaround for paramiko issue #822, and a 3 s key-exchange wait. */
  asIs?: boolean;
}

/** Host key kinds the peers and the matrix server can serve. */
export type HostKeyKind = 'ed25519' | 'ecdsa256' | 'ecdsa384' | 'ecdsa521' | 'rsa' | 'dsa';
export const HOST_KEY_KINDS: readonly HostKeyKind[] = ['ed25519', 'ecdsa256', 'ecdsa384', 'ecdsa521', 'rsa', 'dsa'];

/** Starts `peer`'s server on free 127.0.0.1 ports. */
export function startPyPeerServer(peer: PyPeer, o: PyPeerServerOptions): Promise<PyProcess<PyPeerServerInfo>> {
  const args = [
    join(FIXTURES, SCRIPT[peer]),
    'server',
    '--root',
    o.root,
    '--authorized-keys',
    o.authorizedKeysPath,
    '--rekey-bytes',
    String(o.rekeyBytes ?? 256 * 1024),
    '--host-keys',
    (o.hostKeys ?? HOST_KEY_KINDS).join(','),
    ...(o.asIs ? ['--as-is'] : []),
  ];
  return startPyProcess<PyPeerServerInfo>(args, `${peer} server`, 3000);
}

/** The host key type whose key signs for a host key algorithm (rsa-sha2-* are ssh-rsa keys). */
export function hostKeyTypeFor(alg: string): string {
  return alg === 'rsa-sha2-256' || alg === 'rsa-sha2-512' ? 'ssh-rsa' : alg;
}

/** A host verifier that accepts exactly the given public blobs (base64). */
export function pinnedHostVerifier(blobs: Iterable<string>): (key: PublicKey) => boolean {
  const set = new Set(blobs);
  return (key) => set.has(key.blob.toString('base64'));
}

/** One connection a Python client makes; see peer_common.py. */
export interface PyCase {
  name: string;
  port: number;
  user: string;
  password: string | null;
  /** Private key file (OpenSSH format) for publickey authentication when `password` is null. */
  keyFile: string | null;
  /** Public key lines (`type base64`) the client accepts as the server's. */
  hostKeys: string[];
  /** Forced lists per kind (a missing kind keeps the peer's default), or 'all' it implements. */
  algs: Partial<Record<AlgorithmKind, string[]>> | 'all';
  /**
   * `cat-rekey-at-close` (paramiko only): the server's exit-status starts a re-key of the client's, so
   * the client's KEXINIT crosses the server's CLOSE; then an echo on a new session.
   */
  action: 'echo' | 'cat' | 'sftp' | 'probe' | 'cat-rekey-at-close';
  /** Size of the cat echo or of the SFTP file. */
  bytes: number;
  /** The client starts a re-key every so many bytes (null: the peer's default). */
  rekeyBytes: number | null;
  /** Scratch directory for the client's local files. */
  dir: string;
  /** paramiko: without the fixture's workaround for paramiko issue #822, and a 3 s key-exchange wait. */
  asIs?: boolean;
}

/** What the client reports for a case. */
export interface PyCaseResult {
  name: string;
  ok: boolean;
  error?: string;
  trace?: string;
  /** The client's local port: the secsh server knows the connection by it. */
  localPort?: number;
  stdout?: string;
  exit?: number | null;
  bytes?: number;
  sha256Sent?: string;
  sha256Back?: string;
  /** SFTP: the directory listing after the upload, and the uploaded file's size. */
  names?: string[];
  size?: number;
  /** Conch: key exchanges the script started itself. */
  clientRekeys?: number;
  ms?: number;
}

/**
 * Runs `cases` with `peer`'s client, one after another in one process, and returns the results by
 * case name (a case the client never reported is missing). Rejects only when the process cannot run.
 */
export async function runPyClient(peer: PyPeer, cases: readonly PyCase[]): Promise<Map<string, PyCaseResult>> {
  const child = spawn(PYTHON, ['-W', 'ignore', join(FIXTURES, SCRIPT[peer]), 'client'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-20_000);
  });
  const results = new Map<string, PyCaseResult>();
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    try {
      const r = JSON.parse(line) as PyCaseResult;
      results.set(r.name, r);
    } catch {
      stderr += `\n[stdout] ${line}`;
    }
  });
  child.stdin.end(JSON.stringify(cases));
  // each case bounds itself (60 s at most in the scripts); this only catches a wedged interpreter
  const timer = setTimeout(() => void stopChild(child, 1000), 20_000 + cases.length * 65_000);
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  clearTimeout(timer);
  if (code !== 0) {
    for (const c of cases) {
      if (!results.has(c.name)) {
        results.set(c.name, { name: c.name, ok: false, error: `${peer} client exited ${code}: ${stderr}` });
      }
    }
  }
  return results;
}

/** What `peer`'s client offers when asked to offer everything it implements. */
export function pyClientOffer(peer: PyPeer, dir: string): Promise<PeerOffer> {
  return clientOffer((port) => {
    const probe: PyCase = {
      name: 'probe',
      port,
      user: PY_USER,
      password: PY_PASSWORD,
      keyFile: null,
      hostKeys: [],
      algs: 'all',
      action: 'probe',
      bytes: 0,
      rekeyBytes: null,
      dir,
    };
    const child = spawn(PYTHON, ['-W', 'ignore', join(FIXTURES, SCRIPT[peer]), 'client'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin.end(JSON.stringify([probe]));
    return child;
  });
}

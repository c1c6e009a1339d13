/**
 * libssh 0.10 as a test peer, through two small C programs in test/helpers/libssh/: peer-server.c (one
 * user by password or key; exec under /bin/sh; sftp as OpenSSH's sftp-server) and peer-client.c (exec
 * with stdin/stdout, or one SFTP upload/download). They are built with gcc against libssh-dev on first
 * use, into .peers/libssh/<hash of the sources>/, so a changed source is rebuilt and an unchanged one
 * is not.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type Daemon,
  listeningDaemon,
  type PeerOffer,
  type RunOptions,
  type RunResult,
  runPeer,
  startDaemon,
} from './native-peers.js';
import { makeUserKeys, type UserKeys } from './native-peers-server.js';
import { keygen, type UserKey } from './sshd.js';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCES = ['peer-server.c', 'peer-client.c'];

let built: Promise<{ server: string; client: string }> | undefined;

/** Builds (once per source hash) and returns the paths of the two programs. */
export function buildLibsshPeers(): Promise<{ server: string; client: string }> {
  built ??= (async () => {
    const hash = createHash('sha256');
    const texts = await Promise.all(SOURCES.map((s) => readFile(join(HERE, 'libssh', s))));
    for (const t of texts) hash.update(t);
    const { stdout: flags } = await run('pkg-config', ['--cflags', '--libs', 'libssh']);
    hash.update(flags);
    const dir = join(HERE, '..', '..', '.peers', 'libssh', hash.digest('hex').slice(0, 16));
    const out = { server: join(dir, 'peer-server'), client: join(dir, 'peer-client') };
    if (existsSync(out.server) && existsSync(out.client)) return out;
    await mkdir(dir, { recursive: true });
    for (const src of SOURCES) {
      const bin = join(dir, src.replace(/\.c$/, ''));
      const tmp = `${bin}.${process.pid}.tmp`;
      await run('gcc', [
        '-O1',
        '-Wall',
        '-Wno-deprecated-declarations',
        '-o',
        tmp,
        join(HERE, 'libssh', src),
        ...flags.trim().split(/\s+/),
      ]);
      await rename(tmp, bin); // atomic: a concurrent build of the same sources writes the same bytes
    }
    return out;
  })();
  built.catch(() => {
    built = undefined;
  });
  return built;
}

/** Settings of the libssh server (lists are comma-separated, as libssh takes them). */
export interface LibsshServerOptions {
  kex?: string;
  hostKeyAlgorithms?: string;
  ciphers?: string;
  macs?: string;
  /** libssh's compression option: 'yes', 'no' or a list. Default 'yes' (zlib@openssh.com, zlib, none). */
  compression?: string;
  /** Re-key after this many bytes (SSH_OPTIONS_REKEY_DATA on each session). */
  rekeyBytes?: number;
}

export interface LibsshServer {
  port: number;
  dir: string;
  user: string;
  password: string;
  userKeys: UserKeys;
  hostKeys: { type: string; fingerprint: string }[];
  offer: PeerOffer;
  logs(): string;
  stop(): Promise<void>;
}

/** Starts peer-server on a free 127.0.0.1 port with ed25519, ecdsa-256 and rsa host keys. */
export async function startLibsshServer(o: LibsshServerOptions = {}): Promise<LibsshServer> {
  const bins = await buildLibsshPeers();
  const dir = await mkdtemp(join(tmpdir(), 'secsh-libssh-'));
  let daemon: Daemon | undefined;
  try {
    const specs: [string, string[]][] = [
      ['ed25519', ['-t', 'ed25519']],
      ['ecdsa', ['-t', 'ecdsa', '-b', '256']],
      ['rsa', ['-t', 'rsa', '-b', '2048']],
    ];
    const host: UserKey[] = await Promise.all(specs.map(([t, a]) => keygen(join(dir, `host_${t}`), a, `host-${t}`)));
    const userKeys = await makeUserKeys(dir);
    const user = 'libsshuser';
    const password = 'libssh-peer-pw';
    const args = ['-u', user, '-w', password, '-z', o.compression ?? 'yes'];
    for (const k of [userKeys.ed25519, userKeys.ecdsa, userKeys.rsa]) args.push('-a', `${k.privatePath}.pub`);
    for (const k of host) args.push('-k', k.privatePath);
    if (o.kex) args.push('-x', o.kex);
    if (o.hostKeyAlgorithms) args.push('-H', o.hostKeyAlgorithms);
    if (o.ciphers) args.push('-c', o.ciphers);
    if (o.macs) args.push('-m', o.macs);
    if (o.rekeyBytes) args.push('-r', String(o.rekeyBytes));
    const d = startDaemon(bins.server, args);
    daemon = d;
    const deadline = Date.now() + 15_000;
    let port = 0;
    while (!port) {
      const m = /^PORT (\d+)$/m.exec(d.logs());
      if (m) port = Number(m[1]);
      else if (d.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`peer-server did not start: ${d.logs()}`);
      else await new Promise((r) => setTimeout(r, 20));
    }
    return {
      ...(await listeningDaemon(d, port, dir)),
      dir,
      user,
      password,
      userKeys,
      hostKeys: host.map((k, i) => ({ type: specs[i]?.[0] ?? '', fingerprint: k.fingerprint })),
    };
  } catch (e) {
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Where and how peer-client logs in, and the algorithms it may use (comma-separated lists). */
export interface LibsshClientOptions {
  port: number;
  user: string;
  /** `SHA256:…` fingerprints of acceptable host keys. */
  hostKeys: readonly string[];
  /** An OpenSSH-format private key file; without it, `password`. */
  identity?: string;
  password?: string;
  kex?: string;
  hostKeyAlgorithms?: string;
  ciphers?: string;
  macs?: string;
  compression?: string;
  rekeyBytes?: number;
}

function clientArgs(o: LibsshClientOptions): string[] {
  const args = ['-p', String(o.port), '-l', o.user, '-f', o.hostKeys.join(',')];
  if (o.identity) args.push('-i', o.identity);
  else if (o.password !== undefined) args.push('-w', o.password);
  if (o.kex) args.push('-x', o.kex);
  if (o.hostKeyAlgorithms) args.push('-H', o.hostKeyAlgorithms);
  if (o.ciphers) args.push('-c', o.ciphers);
  if (o.macs) args.push('-m', o.macs);
  if (o.compression) args.push('-z', o.compression);
  if (o.rekeyBytes) args.push('-r', String(o.rekeyBytes));
  return args;
}

/** Runs peer-client with `command`; exits with the command's exit status (2–4: the client's own failures). */
export async function runLibsshClient(
  o: LibsshClientOptions,
  command: string,
  opts: RunOptions = {},
): Promise<RunResult> {
  const { client } = await buildLibsshPeers();
  return runPeer(client, [...clientArgs(o), command], opts);
}

/** Copies one file over SFTP with peer-client: `upload` local → remote, otherwise remote → local. */
export async function libsshSftpCopy(
  o: LibsshClientOptions,
  upload: boolean,
  from: string,
  to: string,
  opts: RunOptions = {},
): Promise<RunResult> {
  const { client } = await buildLibsshPeers();
  return runPeer(client, [...clientArgs(o), upload ? '-U' : '-D', `${from}:${to}`], opts);
}

/**
 * Shared pieces of the SFTP interop tests: sha256 of buffers and files, random source files of
 * given sizes, a scratch directory with a server root, the Python SFTP peers of test/interop/fixtures
 * (password alice/secret), and a secsh client logged in to one of them.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../../src/client/client.js';
import { type PyProcess, startPyProcess } from './asyncssh.js';

/** The user and password the Python SFTP peers accept. */
export const USER = 'alice';
export const PASSWORD = 'secret';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'interop', 'fixtures');

/** Hex sha256 of `b`. */
export const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Hex sha256 of the file at `path`, streamed. */
export async function shaFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Writes one random file per size into `dir` as `src<size>`; returns size → sha256. */
export function writeSources(dir: string, sizes: number[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const n of sizes) {
    const data = randomBytes(n);
    writeFileSync(join(dir, `src${n}`), data);
    out.set(n, sha(data));
  }
  return out;
}

/** A new temporary directory `dir` (the caller removes it) with an empty `root` folder inside. */
export async function tempDir(prefix: string): Promise<{ dir: string; root: string }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const root = join(dir, 'root');
  await mkdir(root);
  return { dir, root };
}

/** What a Python SFTP server fixture prints when it is ready. */
export interface PySftpServerInfo {
  port: number;
  /** `SHA256:…` of its host key. */
  fingerprint: string;
  version: string;
}

/**
 * Starts `fixtures/<script> ...args` (a Python SSH server with SFTP, password alice/secret) on a
 * free 127.0.0.1 port; `what` names it in start-up errors.
 */
export function startPySftpServer<T extends PySftpServerInfo = PySftpServerInfo>(
  script: string,
  args: string[],
  what: string,
): Promise<PyProcess<T>> {
  return startPyProcess<T>([join(FIXTURES, script), ...args], what, 3000);
}

/** A secsh client logged in as alice/secret to the peer on 127.0.0.1:`port`, pinning its host key. */
export function connectPeer(peer: { port: number; fingerprint: string }): Promise<Client> {
  return Client.connect({
    host: '127.0.0.1',
    port: peer.port,
    username: USER,
    password: PASSWORD,
    hostKeyFingerprint: peer.fingerprint,
  });
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>, what: string): Promise<unknown> {
  return p.then(
    () => assert.fail(`${what} resolved`),
    (e: unknown) => e,
  );
}

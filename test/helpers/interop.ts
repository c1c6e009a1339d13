/**
 * Glue for interop tests: connecting secsh's Client to the private sshd, a shared per-file sshd,
 * a tripwire for unhandled rejections, and streaming data helpers.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { after } from 'node:test';
import type { Client as ClientType, ConnectOptions, PublicKey } from '../../src/index.js';
import { Client } from '../../src/index.js';
import { type Sshd, type SshdOptions, startSshd, type UserKey } from './sshd.js';

/** A host verifier that accepts exactly the private sshd's host keys (by SHA256 fingerprint). */
export function sshdHostVerifier(sshd: Sshd): (key: PublicKey) => boolean {
  const fps = new Set(sshd.hostKeys.map((k) => k.fingerprint));
  return (key) => fps.has(key.fingerprint());
}

/** Connects secsh to the private sshd with `key` (default ed25519) and a strict host verifier. */
export function connectSshd(sshd: Sshd, extra: Partial<ConnectOptions> & { key?: UserKey } = {}): Promise<ClientType> {
  const { key, ...rest } = extra;
  return Client.connect({
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKey: readFileSync((key ?? sshd.userKeys.ed25519).privatePath, 'utf8'),
    hostVerifier: sshdHostVerifier(sshd),
    readyTimeout: 20_000,
    ...rest,
  });
}

/**
 * One sshd for the whole test file, started on first use and stopped in `after`.
 * Call `get()` only after `requirePeer(t, 'sshd', …)`.
 */
export function sharedSshd(opts: SshdOptions = {}): { get(): Promise<Sshd> } {
  let p: Promise<Sshd> | undefined;
  after(async () => {
    if (p) await (await p.catch(() => undefined))?.stop();
  });
  return {
    get: () => {
      p ??= startSshd(opts);
      return p;
    },
  };
}

/**
 * Records unhandled rejections and uncaught exceptions for the whole file; `after` fails the file if
 * any happened. Call once at the top level of a test file.
 */
export function installTripwire(): { errors: unknown[] } {
  const errors: unknown[] = [];
  const onRejection = (e: unknown) => errors.push(e);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onRejection);
  after(() => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onRejection);
    assert.deepEqual(errors, [], 'no unhandled rejection or uncaught exception');
  });
  return { errors };
}

/** Asserts that `p` rejects with an SshError carrying `code`; returns the error. */
export async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<Error & { code: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { code?: string };
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err as Error & { code: string };
  }
  assert.fail(`expected rejection with ${code}`);
}

/**
 * A readable of `total` random bytes in `chunk`-sized pieces, honouring backpressure; `digest()`
 * gives the sha256 of everything produced so far.
 */
export function randomSource(total: number, chunk = 256 * 1024): { stream: Readable; digest(): string } {
  const hash = createHash('sha256');
  let left = total;
  // one random block, varied per chunk by a counter prefix: cheap and not periodic at chunk scale
  const block = randomBytes(chunk);
  let n = 0;
  const stream = new Readable({
    highWaterMark: chunk,
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const size = Math.min(chunk, left);
      const buf = Buffer.from(block.subarray(0, size));
      buf.writeUInt32BE(n++ >>> 0, 0);
      if (size > 8) buf.writeUInt32BE((n * 2654435761) >>> 0, size - 4);
      left -= size;
      hash.update(buf);
      this.push(buf);
    },
  });
  return { stream, digest: () => hash.copy().digest('hex') };
}

/** Consumes a readable, returning its byte count and sha256. */
export async function drain(r: NodeJS.ReadableStream): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const c of r as AsyncIterable<Buffer | string>) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    bytes += b.length;
    hash.update(b);
  }
  return { bytes, sha256: hash.digest('hex') };
}

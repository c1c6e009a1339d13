/** Helpers for key tests: a temp dir and ssh-keygen runs (spawned without a shell). */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshReader, SshWriter } from '../../../src/wire/index.js';
import { binPath } from '../../helpers/peers.js';

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'secsh-keys-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs ssh-keygen; throws with its stderr on a non-zero exit. */
export function keygen(args: string[], input?: string | Buffer): string {
  const r = spawnSync(binPath('ssh-keygen'), args, { input, encoding: 'buffer', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`ssh-keygen ${args.join(' ')} failed: ${r.stderr?.toString() ?? r.error}`);
  return r.stdout.toString();
}

/** Like {@link keygen} but returns the exit status and output instead of throwing. */
export function keygenStatus(args: string[], input?: string | Buffer): { status: number | null; out: string } {
  const r = spawnSync(binPath('ssh-keygen'), args, { input, encoding: 'buffer', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout?.toString() ?? ''}${r.stderr?.toString() ?? ''}` };
}

/** Generates a key with ssh-keygen into `dir/name`; returns the private key text and the .pub line. */
export function makeKey(dir: string, name: string, args: string[]): { path: string; priv: string; pub: string } {
  const path = join(dir, name);
  keygen(['-q', '-f', path, ...args]);
  return { path, priv: readFileSync(path, 'utf8'), pub: readFileSync(`${path}.pub`, 'utf8').trim() };
}

const SSHSIG = Buffer.from('SSHSIG', 'latin1');

/** The bytes an SSHSIG signature covers (PROTOCOL.sshsig). */
export function sshsigSignedData(namespace: string, message: Buffer, hash: 'sha512' | 'sha256' = 'sha512'): Buffer {
  return Buffer.from(
    new SshWriter()
      .raw(SSHSIG)
      .string(namespace)
      .string('')
      .string(hash)
      .string(createHash(hash).update(message).digest())
      .toBuffer(),
  );
}

/** Armors an SSHSIG signature file from a public key blob and an SSH signature blob. */
export function sshsigArmor(publicBlob: Buffer, namespace: string, signature: Buffer): string {
  const body = new SshWriter()
    .raw(SSHSIG)
    .uint32(1)
    .string(publicBlob)
    .string(namespace)
    .string('')
    .string('sha512')
    .string(signature)
    .toBuffer();
  const b64 =
    body
      .toString('base64')
      .match(/.{1,76}/g)
      ?.join('\n') ?? '';
  return `-----BEGIN SSH SIGNATURE-----\n${b64}\n-----END SSH SIGNATURE-----\n`;
}

/** Parses an SSHSIG file: its public key blob, hash name and SSH signature blob. */
export function sshsigParse(text: string): { publicBlob: Buffer; hash: string; signature: Buffer } {
  const b64 = text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const r = new SshReader(Buffer.from(b64, 'base64'));
  if (!r.raw(6).equals(SSHSIG) || r.uint32() !== 1) throw new Error('not an SSHSIG');
  const publicBlob = Buffer.from(r.string());
  r.string(); // namespace
  r.string(); // reserved
  const hash = r.ascii();
  const signature = Buffer.from(r.string());
  r.ensureEnd();
  return { publicBlob, hash, signature };
}

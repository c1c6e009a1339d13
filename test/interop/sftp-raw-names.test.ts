/**
 * File names that are not valid UTF-8 (SFTP v3 names are bytes): the NAME codec keeps their raw
 * bytes, and the secsh client reaches such files through them against OpenSSH's sftp-server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SftpStats } from '../../src/sftp/attrs.js';
import type { SftpName } from '../../src/sftp/codec.js';
import { buildPacket, decodeResponse, encodeNames } from '../../src/sftp/codec.js';
import { FX, FXP } from '../../src/sftp/constants.js';
import { downloadDir } from '../../src/sftp/dir-transfer.js';
import { SftpError } from '../../src/sftp/errors.js';
import type { SftpClient } from '../../src/sftp/index.js';
import { displayPath, joinRemote } from '../../src/sftp/index.js';
import { SshWriter } from '../../src/wire/index.js';
import { openSshdSftp, type SshdSftp } from '../helpers/openssh-sftp.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';

/** "café.txt" in Latin-1: 0xe9 alone is not valid UTF-8. */
const CAFE = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]);
/** "Ärger" in Latin-1, for a directory. */
const ARGER = Buffer.from([0xc4, 0x72, 0x67, 0x65, 0x72]);
const NAIVE = 'naïve.txt';

const bytes = (...parts: (string | Buffer)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

// --- codec and helpers (no peer needed) ---

test('NAME: an invalid UTF-8 filename keeps its bytes in filenameRaw; valid names have none', () => {
  const w = new SshWriter();
  w.uint32(3);
  for (const name of [CAFE, Buffer.from(NAIVE), Buffer.from([0x61, 0xe2, 0x82])]) {
    w.string(name)
      .string(Buffer.from([0x2d, 0xff]))
      .uint32(0);
  }
  const pkt = buildPacket(FXP.NAME, 9, (b) => b.raw(w.toBuffer()));
  const r = decodeResponse(pkt.subarray(4));
  assert.ok(r.type === FXP.NAME);
  const [a, b, c] = r.names;
  assert.ok(a && b && c);
  assert.deepEqual(a.filenameRaw, CAFE);
  assert.equal(a.filename, 'caf\ufffd.txt');
  assert.equal(b.filename, NAIVE);
  assert.equal(b.filenameRaw, undefined);
  assert.ok(!('filenameRaw' in b));
  // A truncated multi-byte sequence is invalid too; longname stays text with replacement.
  assert.deepEqual(c.filenameRaw, Buffer.from([0x61, 0xe2, 0x82]));
  assert.equal(c.longname, '-\ufffd');
  // A copy, not a view of the packet.
  pkt.fill(0);
  assert.deepEqual(a.filenameRaw, CAFE);
});

test('NAME: encodeNames writes filenameRaw when set (round trip), limits unchanged', () => {
  const names: SftpName[] = [
    { filename: 'ignored', filenameRaw: CAFE, longname: 'l', attrs: {} },
    { filename: NAIVE, longname: 'm', attrs: { size: 5 } },
  ];
  const r = decodeResponse(buildPacket(FXP.NAME, 1, (w) => encodeNames(w, names)).subarray(4));
  assert.ok(r.type === FXP.NAME);
  assert.deepEqual(r.names[0]?.filenameRaw, CAFE);
  assert.equal(r.names[1]?.filenameRaw, undefined);
  assert.equal(r.names[1]?.filename, NAIVE);
  // Count limit still enforced before anything is read.
  assert.throws(() => decodeResponse(buildPacket(FXP.NAME, 1, (w) => w.uint32(1_000_000)).subarray(4)), /too large/);
  // A filename longer than the packet is still a wire error.
  assert.throws(() => decodeResponse(buildPacket(FXP.NAME, 1, (w) => w.uint32(1).uint32(1000)).subarray(4)));
});

test('displayPath escapes bytes that are not UTF-8; joinRemote joins text or bytes', () => {
  assert.equal(displayPath(CAFE), 'caf\\xe9.txt');
  assert.equal(displayPath(Buffer.from('dir/naïve')), 'dir/naïve');
  assert.equal(displayPath(bytes('é', ARGER, '/ü')), 'é\\xc4rger/ü');
  assert.equal(displayPath(Buffer.from([0xe2, 0x82])), '\\xe2\\x82');
  assert.equal(displayPath('plain'), 'plain');
  assert.equal(joinRemote('/a', 'b'), '/a/b');
  assert.equal(joinRemote('/a/', 'b'), '/a/b');
  assert.equal(joinRemote('', 'b'), 'b');
  assert.deepEqual(joinRemote('/a', CAFE), bytes('/a/', CAFE));
  assert.deepEqual(joinRemote(ARGER, 'x'), bytes(ARGER, '/x'));
  assert.deepEqual(joinRemote(bytes('/'), CAFE), bytes('/', CAFE));
});

test('downloadDir refuses raw names that are not one plain component', async () => {
  const dst = await mkdtemp(join(tmpdir(), 'secsh-sftp-raw-refuse-'));
  const listed: (string | Uint8Array)[] = [];
  const file = new SftpStats({ mode: 0o100644, size: 1 });
  const folder = new SftpStats({ mode: 0o040755 });
  const entry = (raw: Buffer, attrs: SftpStats) => ({
    filename: raw.toString('utf8'),
    filenameRaw: raw,
    longname: '',
    attrs,
  });
  const fake = {
    readdir: async (path: string | Uint8Array) => {
      listed.push(path);
      if (listed.length > 1) return [];
      return [
        entry(bytes('a', Buffer.from([0xe9]), '/b'), file),
        entry(bytes('../', CAFE), folder),
        entry(bytes(CAFE, Buffer.from([0])), file),
        entry(Buffer.from([0xff]), folder),
        entry(Buffer.from([]), file),
      ];
    },
    open: async () => {
      throw new Error('no file should be downloaded');
    },
  } as unknown as SftpClient;
  try {
    const r = await downloadDir(fake, '/r', dst);
    assert.deepEqual(r, { files: 0, bytes: 0 });
    // Only the plain raw directory was entered, by its bytes.
    assert.deepEqual(listed, ['/r', bytes('/r/', Buffer.from([0xff]))]);
    assert.deepEqual(readdirSync(dst, { encoding: 'buffer' }), [Buffer.from([0xff])]);
  } finally {
    await rm(dst, { recursive: true, force: true });
  }
});

// --- against OpenSSH's sftp-server ---

let env: SshdSftp | undefined;
let sftp: SftpClient | undefined;
let dir = '';

before(async () => {
  if (!hasPeer('sshd') || !hasPeer('ssh-keygen')) return;
  // internal-sftp: sftp-server's code run inside sshd (the helper's config fixes the subsystem).
  env = await openSshdSftp('secsh-sftp-raw-');
  ({ sftp, dir } = env);
});

after(async () => {
  await env?.close();
});

test('OpenSSH sftp-server: a Latin-1 name is listed raw and reachable through its bytes', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sftp) return;
  const s = sftp;
  const d = `${dir}/list`;
  mkdirSync(d);
  const content = randomBytes(100_000);
  const rawPath = bytes(d, '/', CAFE);
  writeFileSync(rawPath, content);
  writeFileSync(join(d, NAIVE), 'valid');

  const entries = await s.readdir(d);
  assert.equal(entries.length, 2);
  const cafe = entries.find((e) => e.filenameRaw !== undefined);
  const naive = entries.find((e) => e.filename === NAIVE);
  assert.ok(cafe && naive);
  assert.deepEqual(cafe.filenameRaw, CAFE);
  assert.equal(cafe.filename, 'caf\ufffd.txt');
  assert.ok(!('filenameRaw' in naive));

  // The garbled text name does not reach the file; the bytes do.
  await assert.rejects(s.stat(joinRemote(d, cafe.filename)), (e: unknown) => e instanceof SftpError);
  const p = joinRemote(d, cafe.filenameRaw ?? cafe.filename);
  assert.deepEqual(p, rawPath);
  assert.equal((await s.stat(p)).size, content.length);
  assert.equal((await s.lstat(p)).isFile(), true);
  assert.equal(await s.exists(p), true);
  assert.equal(Buffer.compare(await s.readFile(p), content), 0);
  // realpath's answer is text: the byte comes back replaced.
  assert.ok((await s.realpath(p)).endsWith('/caf\ufffd.txt'));
  const chunks: Buffer[] = [];
  for await (const c of s.createReadStream(p, { start: 10, end: 19 })) chunks.push(c as Buffer);
  assert.deepEqual(Buffer.concat(chunks), content.subarray(10, 20));
  const fh = await s.open(p, 'r');
  assert.equal(fh.path, `${d}/caf\\xe9.txt`);
  await fh.close();
  await s.chmod(p, 0o600);
  assert.equal(((await s.stat(p)).mode ?? 0) & 0o777, 0o600);

  // download to a local file named with the same bytes
  const localDir = join(dir, 'local');
  mkdirSync(localDir);
  const localRaw = bytes(localDir, '/', CAFE);
  assert.equal(await s.download(p, localRaw), content.length);
  assert.equal(Buffer.compare(readFileSync(localRaw), content), 0);
  assert.deepEqual(readdirSync(localDir, { encoding: 'buffer' }), [CAFE]);

  // upload to a raw remote name, atomic (temp name and rename built from bytes)
  const up = bytes(d, '/', ARGER);
  assert.equal(await s.upload(localRaw, up, { atomic: true }), content.length);
  assert.equal(Buffer.compare(readFileSync(up), content), 0);

  // rename and unlink through bytes
  const moved = bytes(d, '/moved-', CAFE);
  await s.rename(p, moved);
  assert.equal(existsSync(rawPath), false);
  assert.equal(Buffer.compare(readFileSync(moved), content), 0);
  await s.unlink(moved);
  await s.unlink(up);
  assert.deepEqual(readdirSync(d), [NAIVE]);

  // Errors show the path with the bad byte escaped.
  await assert.rejects(s.stat(p), (e: unknown) => {
    assert.ok(e instanceof SftpError);
    assert.equal(e.status, FX.NO_SUCH_FILE);
    assert.equal(e.path, `${d}/caf\\xe9.txt`);
    return true;
  });
  await assert.rejects(s.rename(p, moved), (e: unknown) => {
    assert.ok(e instanceof SftpError);
    assert.equal(e.path, `${d}/caf\\xe9.txt -> ${d}/moved-caf\\xe9.txt`);
    return true;
  });
  assert.equal(await s.exists(p), false);
});

test('OpenSSH sftp-server: downloadDir copies Latin-1 names byte for byte', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sftp) return;
  const s = sftp;
  const src = `${dir}/tree`;
  mkdirSync(src);
  const a = randomBytes(70_000);
  const b = randomBytes(3000);
  writeFileSync(bytes(src, '/', CAFE), a);
  mkdirSync(bytes(src, '/', ARGER));
  writeFileSync(bytes(src, '/', ARGER, '/', CAFE), b);
  writeFileSync(join(src, NAIVE), 'valid');
  const dst = join(dir, 'tree-copy');
  const seen: string[] = [];
  const r = await s.downloadDir(src, dst, { onFile: (p) => seen.push(p) });
  assert.deepEqual(r, { files: 3, bytes: a.length + b.length + 5 });
  assert.deepEqual(seen.sort(), ['caf\\xe9.txt', 'naïve.txt', '\\xc4rger/caf\\xe9.txt'].sort());
  const top = readdirSync(dst, { encoding: 'buffer' }).sort(Buffer.compare);
  assert.deepEqual(top, [CAFE, Buffer.from(NAIVE), ARGER].sort(Buffer.compare));
  assert.equal(Buffer.compare(readFileSync(bytes(dst, '/', CAFE)), a), 0);
  assert.equal(Buffer.compare(readFileSync(bytes(dst, '/', ARGER, '/', CAFE)), b), 0);
  assert.equal(readFileSync(join(dst, NAIVE), 'utf8'), 'valid');

  // A filter sees the escaped relative path and can skip the raw-named directory.
  const dst2 = join(dir, 'tree-filtered');
  const r2 = await s.downloadDir(src, dst2, { filter: (p) => !p.startsWith('\\xc4') });
  assert.equal(r2.files, 2);
  assert.equal(existsSync(bytes(dst2, '/', ARGER)), false);
});

/**
 * paramiko's SFTP client, sending copy-data itself, against the secsh server over SSH: the attack of
 * two handles on one file with a length of 2^53−1 and the write offset at the end gets a prompt
 * reply and copies only what was there; overlapping ranges within one file are refused; an ordinary
 * copy between two files works.
 */
import assert from 'node:assert/strict';
import { link, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpSubsystemHandler } from '../../src/sftp/server.js';
import { startPyProcess } from '../helpers/asyncssh.js';
import { installTripwire } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';
import { cappedBackend } from '../helpers/sftp-capped.js';

installTripwire();

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'paramiko_copy_data.py');
const MiB = 1024 * 1024;

interface CopyResult {
  result: string;
  seconds: number;
}

test('paramiko copy-data: two handles of one file with length 2^53−1 end promptly; overlaps are refused', async (t) => {
  if (!requirePeer(t, 'paramiko')) return;
  const root = await mkdtemp(join(tmpdir(), 'secsh-paramiko-copy-'));
  const original = Buffer.alloc(MiB, 0x42);
  await writeFile(join(root, 'a.bin'), original);
  await writeFile(join(root, 'c.bin'), original);
  await link(join(root, 'c.bin'), join(root, 'c-link.bin'));
  await writeFile(join(root, 'src.bin'), Buffer.from('0123456789'));
  await writeFile(join(root, 'dst.bin'), Buffer.alloc(0));
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.username === 'alice' && ctx.password === 'secret',
  });
  // The cap only matters if the copy runs away (it then fails the test instead of filling the disk).
  server.on('session', sftpSubsystemHandler(cappedBackend(new LocalFsBackend(root), 64 * MiB)));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const cases = [
    { src: '/a.bin', dst: '/a.bin', read_off: 0, length: Number.MAX_SAFE_INTEGER, write_off: MiB },
    { src: '/c.bin', dst: '/c-link.bin', read_off: 0, length: 0, write_off: 4096 },
    { src: '/src.bin', dst: '/dst.bin', read_off: 0, length: 0, write_off: 0 },
  ];
  try {
    const py = await startPyProcess<{ 0: CopyResult; 1: CopyResult; 2: CopyResult }>(
      [SCRIPT, String(port), hostKey.publicKey.blob.toString('base64'), 'alice', 'secret', JSON.stringify(cases)],
      'paramiko copy-data client',
      2000,
    );
    try {
      const [attack, overlap, plain] = [py[0], py[1], py[2]];
      assert.equal(attack.result, 'eof', `the attack: ${JSON.stringify(attack)}; ${py.logs()}`);
      assert.ok(attack.seconds < 10, `the attack was answered after ${attack.seconds} s`);
      assert.equal((await stat(join(root, 'a.bin'))).size, 2 * MiB, 'only what was there was copied');
      assert.match(overlap.result, /^failure: .*overlapping/, JSON.stringify(overlap));
      assert.deepEqual(await readFile(join(root, 'c.bin')), original, 'the refused copy wrote nothing');
      assert.equal(plain.result, 'ok');
      assert.equal(await readFile(join(root, 'dst.bin'), 'utf8'), '0123456789');
    } finally {
      await py.stop();
    }
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
});

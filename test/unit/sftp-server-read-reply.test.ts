import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { SftpClient } from '../../src/sftp/client.js';
import { FXP, MAX_PACKET } from '../../src/sftp/constants.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { serveSftp } from '../../src/sftp/server.js';
import { duplexPair } from './sftp/pair.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'secsh-sftp-read-reply-'));
  await writeFile(join(root, 'small'), 'abcdefghij');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * Serves `root` over an in-memory pair; `releases` makes the server stream claim to let go of written
 * chunks (as a secsh Channel does). Records the memory behind every DATA reply the server writes.
 */
async function served(releases: boolean) {
  const [c, s] = duplexPair();
  if (releases) Object.assign(s, { releasesWrittenChunks: true });
  const behind: number[] = [];
  const write = s.write.bind(s) as Duplex['write'];
  s.write = ((chunk: Buffer, ...rest: never[]) => {
    if (Buffer.isBuffer(chunk) && chunk[4] === FXP.DATA) behind.push(chunk.buffer.byteLength);
    return write(Buffer.from(chunk), ...rest);
  }) as Duplex['write'];
  serveSftp(s, new LocalFsBackend(root));
  const client = await SftpClient.fromChannel(c);
  return { client, behind };
}

for (const releases of [false, true]) {
  test(`a short READ reply does not hold a buffer sized for the largest READ (${releases ? 'pooled' : 'plain'} stream)`, async () => {
    // Replies wait in the channel while the peer's window is closed: each must cost about its own size,
    // or many small READs would pin 256 KiB apiece.
    const { client, behind } = await served(releases);
    const f = await client.open('/small', 'r');
    assert.equal((await f.read(1, 0)).toString(), 'a');
    assert.equal((await f.read(MAX_PACKET, 2)).toString(), 'cdefghij');
    assert.equal(behind.length, 2);
    for (const n of behind) assert.ok(n <= 16 * 1024, `a 14- or 21-byte reply holds ${n} bytes`);
    await f.close();
    client.end();
  });
}

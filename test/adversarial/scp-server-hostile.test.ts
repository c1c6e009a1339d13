/**
 * A hostile, authenticated scp client against scpExecHandler's sink and source over an SFTP backend
 * (LocalFsBackend, as secsh server wires it): modes that would set setuid/setgid/sticky bits, exec
 * strings the handler cannot parse, and what the root and read-only settings promise.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { scpSink } from '../../src/scp/index.js';
import { LocalFsBackend } from '../../src/sftp/index.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-scp-server-hostile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Two connected in-memory Duplexes: what one writes, the other reads. */
function pair(): [Duplex, Duplex] {
  let a: Duplex | undefined;
  let b: Duplex | undefined;
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
    });
  a = make(() => b as Duplex);
  b = make(() => a as Duplex);
  return [a, b];
}

/** Runs the sink into a fresh LocalFsBackend root against a client that sends `script` and ends. */
async function sinkInto(script: string[], opts: Parameters<typeof scpSink>[3] = {}) {
  const root = await mkdtemp(join(dir, 'root-'));
  const [mine, theirs] = pair();
  theirs.on('data', () => {});
  for (const s of script) theirs.write(s);
  theirs.end();
  const result = await scpSink(mine, '/', new LocalFsBackend(root), opts);
  return { root, result };
}

async function modeOf(p: string): Promise<number> {
  return (await stat(p)).mode & 0o7777;
}

test('scp sink without -p: setuid, setgid and sticky bits of C and D modes are cleared, as OpenSSH scp does', async () => {
  const { root, result } = await sinkInto(['C4755 1 a\n', 'x', '\0', 'C6555 1 b\n', 'y', '\0', 'D7777 0 d\n', 'E\n'], {
    recursive: true,
    umask: 0o022,
  });
  assert.equal(result.errors, 0);
  assert.equal(await modeOf(join(root, 'a')), 0o755);
  assert.equal(await modeOf(join(root, 'b')), 0o555);
  assert.equal(await modeOf(join(root, 'd')), 0o755);
});

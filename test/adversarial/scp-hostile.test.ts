/**
 * A hostile scp peer against secsh's legacy-protocol sink and source: over-long lines, negative and
 * huge sizes, bad modes, names with '/' or '..', directories without -r, streams that end mid-file
 * or inside a directory, missing and fatal acknowledgements, silence. Every case ends in a typed
 * ScpError (or a counted per-file error), never a hang, and nothing is written outside the target.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { localScpFs, parseScpControl, ScpError, scpSink, scpSource } from '../../src/scp/index.js';
import { duplexPair as pair } from '../helpers/duplex-pair.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-scp-hostile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Collects what the secsh side sends to the hostile peer. */
function collect(s: Duplex): () => Buffer {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks);
}

/** Runs the secsh sink into a fresh directory against a peer that sends `script` and then ends. */
async function sinkAgainst(script: (string | Buffer)[], opts: Parameters<typeof scpSink>[3] = {}) {
  const target = await mkdtemp(join(dir, 'sink-'));
  const [mine, theirs] = pair();
  const sent = collect(theirs);
  for (const s of script) theirs.write(s);
  theirs.end();
  const result = scpSink(mine, target, localScpFs, opts);
  return { result, target, sent };
}

const protocolCases: [string, string[], RegExp][] = [
  ['an over-long line', [`C0644 1 ${'x'.repeat(10_000)}\n`], /line too long/],
  ['a negative size', ['C0644 -5 f\n'], /bad size/],
  ['a size past 2^53', ['C0644 99999999999999999999 f\n'], /size/],
  ['a name with a slash', ['C0644 1 a/b\n'], /unexpected filename/],
  ['a name that is ..', ['C0644 1 ..\n'], /unexpected filename/],
  ['an empty name', ['C0644 1 \n'], /unexpected filename/],
  ['a directory named ..', ['D0755 0 ..\n'], /unexpected filename/],
  ['a mode that is not octal', ['C0999 1 f\n'], /bad mode/],
  ['an unknown record', ['X hello\n'], /expected control record/],
  ['a bare newline', ['\n'], /unexpected <newline>/],
  ['a T line with letters', ['T12x 0 12 0\n'], /bad mtime/],
  ['an E at the top level', ['E\n'], /unexpected E line/],
];

for (const [name, script, message] of protocolCases) {
  test(`scp sink: ${name} is a protocol error (ScpError, told to the peer), nothing is created`, async () => {
    const { result, target, sent } = await sinkAgainst(script, { recursive: true });
    await assert.rejects(
      result,
      (e: unknown) => e instanceof ScpError && e.kind === 'protocol' && message.test(e.message),
    );
    assert.deepEqual(await readdir(target), []);
    const text = sent().toString('latin1');
    assert.ok(text.startsWith('\0'), 'the sink first acknowledged');
    assert.ok(text.includes('\x01scp: protocol error: '), JSON.stringify(text));
  });
}

test('scp sink: a size above maxSize is refused before any byte is read', async () => {
  const { result } = await sinkAgainst(['C0644 2000 f\n'], { maxSize: 1000 });
  await assert.rejects(result, { code: 'ERR_SSH_SCP', kind: 'protocol', message: /size out of range/ });
});

test('scp sink: a directory without -r is refused', async () => {
  const { result, target } = await sinkAgainst(['D0755 0 d\n', 'E\n']);
  await assert.rejects(result, { kind: 'protocol', message: /received directory without -r/ });
  assert.deepEqual(await readdir(target), []);
});

test('scp sink: the stream ending in the middle of a file is a lost connection', async () => {
  const { result } = await sinkAgainst(['C0644 100 f\n', 'only ten b']);
  await assert.rejects(result, { code: 'ERR_SSH_SCP', kind: 'peer', message: /lost connection/ });
});

test('scp sink: the stream ending inside a directory is a lost connection', async () => {
  const { result } = await sinkAgainst(['D0755 0 d\n', 'C0644 1 f\n', 'x', '\0'], { recursive: true });
  await assert.rejects(result, { kind: 'peer', message: /lost connection/ });
});

test('scp sink: directories nested past maxDepth are refused', async () => {
  const { result } = await sinkAgainst(Array(6).fill('D0755 0 d\n'), { recursive: true, maxDepth: 4 });
  await assert.rejects(result, { kind: 'protocol', message: /too deep/ });
});

test("scp sink: a peer's fatal error (\\x02) ends the transfer with ScpError 'peer'", async () => {
  const errors: string[] = [];
  const { result } = await sinkAgainst(['\x02scp: it all went wrong\n'], { onError: (m) => errors.push(m) });
  await assert.rejects(result, { kind: 'peer', message: /it all went wrong/ });
  assert.deepEqual(errors, ['scp: it all went wrong']);
});

test('scp sink: a silent peer ends in a timeout when idleTimeout is set', async () => {
  const target = await mkdtemp(join(dir, 'sink-'));
  const [mine, theirs] = pair();
  theirs.write('C0644 10 f\n');
  await assert.rejects(scpSink(mine, target, localScpFs, { idleTimeout: 200 }), {
    code: 'ERR_SSH_SCP',
    kind: 'timeout',
  });
});

test('scp sink: a good file next to hostile names still lands, and only inside the target', async () => {
  const outside = await mkdtemp(join(dir, 'outside-'));
  const { result, target } = await sinkAgainst(['C0644 3 ok\n', 'abc', '\0', `C0644 1 ../${outside}/x\n`]);
  await assert.rejects(result, { kind: 'protocol' });
  assert.deepEqual(await readdir(target), ['ok']);
  assert.deepEqual(await readdir(outside), []);
});

test('scp source: a peer that ends without the first acknowledgement is a lost connection', async () => {
  await mkdir(join(dir, 'src'), { recursive: true });
  const [mine, theirs] = pair();
  theirs.end();
  await assert.rejects(scpSource(mine, [join(dir, 'src')], localScpFs), { kind: 'peer', message: /lost connection/ });
});

test('scp source: a peer that never acknowledges times out under idleTimeout', async () => {
  const [mine] = pair();
  await assert.rejects(scpSource(mine, ['/etc/hostname'], localScpFs, { idleTimeout: 200 }), {
    code: 'ERR_SSH_SCP',
    kind: 'timeout',
  });
});

test("scp source: an over-long error message from the peer is refused, a fatal one is ScpError 'peer'", async () => {
  {
    const [mine, theirs] = pair();
    theirs.write(Buffer.concat([Buffer.of(1), Buffer.alloc(20_000, 0x41)]));
    await assert.rejects(scpSource(mine, ['/etc/hostname'], localScpFs), {
      kind: 'protocol',
      message: /line too long/,
    });
  }
  {
    const [mine, theirs] = pair();
    theirs.write('\x02scp: no\n');
    await assert.rejects(scpSource(mine, ['/etc/hostname'], localScpFs), { kind: 'peer', message: /no/ });
  }
});

test('scp source: a refused file (\\x01 after its C line) is counted and the next one is sent', async () => {
  const [mine, theirs] = pair();
  const sent = collect(theirs);
  const errors: string[] = [];
  theirs.write('\0'); // start
  theirs.write('\x01scp: refused\n'); // answers the first C line
  theirs.write('\0\0'); // second C line, then its data
  theirs.end();
  const r = await scpSource(mine, ['/etc/hostname', '/etc/hostname'], localScpFs, { onError: (m) => errors.push(m) });
  assert.deepEqual(errors, ['scp: refused']);
  assert.equal(r.errors, 1);
  assert.equal(r.files, 1);
  assert.equal((sent().toString('latin1').match(/^C0/gm) ?? []).length, 2);
});

test('parseScpControl: random lines throw nothing but ScpError', () => {
  const alphabet = 'CDET0123456789 -./\n\x01\x02abc';
  for (let i = 0; i < 5000; i++) {
    let s = '';
    const n = Math.floor(Math.random() * 24);
    for (let j = 0; j < n; j++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
    try {
      const c = parseScpControl(s);
      if (c.type === 'C' || c.type === 'D') {
        assert.ok(c.name !== '' && c.name !== '..' && !c.name.includes('/'), JSON.stringify(s));
        assert.ok(Number.isSafeInteger(c.size) && c.size >= 0);
      }
    } catch (e) {
      assert.ok(e instanceof ScpError, `${JSON.stringify(s)}: ${String(e)}`);
    }
  }
});

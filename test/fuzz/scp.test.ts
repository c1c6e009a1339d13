/**
 * The legacy scp protocol's parsers: control lines (mutated real ones) throw nothing but ScpError;
 * remote command lines never throw; and the sink, fed mutated transcripts of real transfers over an
 * in-memory stream into an in-memory file system, always settles — with a result or an ScpError —
 * and never creates a path outside its target.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { parseScpCommand, parseScpControl, ScpError, type ScpFs, scpSink } from '../../src/scp/index.js';
import { duplexPair as pair } from '../helpers/duplex-pair.js';
import { bytesFrom, fuzz, fuzzAsync, runs } from './harness.js';

const lines = [
  'C0644 12 name.txt',
  'D0755 0 dir',
  'E',
  'T1700000000 0 1700000001 0',
  'C0600 9007199254740991 big',
  'D0700 0 a b c',
].map((l) => Buffer.from(l));

test('parseScpControl: mutated control lines throw only ScpError', () => {
  fuzz('scp control line', bytesFrom(lines, 64), (b) => parseScpControl(b.toString('utf8'), { maxSize: 2 ** 40 }), {
    numRuns: runs(3000),
    allowed: (e) => e instanceof ScpError,
  });
});

test('parseScpCommand: any command line parses or is declined, never throws', () => {
  const cmds = ['scp -t /tmp', 'scp -r -p -d -t -- /x', 'scp -f \'a b\' "c d" e\\ f', 'scp -prf x'].map((c) =>
    Buffer.from(c),
  );
  fuzz('scp command', bytesFrom(cmds, 128), (b) => parseScpCommand(b.toString('utf8')), {
    numRuns: runs(3000),
    allowed: () => false,
  });
});

/** An in-memory file system: every path the sink creates is recorded. */
function memoryFs(created: string[]): ScpFs {
  const dirs = new Set(['/t']);
  const files = new Map<string, number>();
  const nope = () => Object.assign(new Error('no such file'), { code: 'ENOENT' });
  return {
    async stat(path) {
      if (dirs.has(path)) return { mode: 0o40755, size: 0 };
      if (files.has(path)) return { mode: 0o100644, size: files.get(path) as number };
      throw nope();
    },
    async opendir() {
      throw nope();
    },
    async mkdir(path) {
      created.push(path);
      dirs.add(path);
    },
    async setstat() {},
    async open(path) {
      created.push(path);
      files.set(path, 0);
      return {
        async read() {
          return Buffer.alloc(0);
        },
        async write(offset, data) {
          files.set(path, Math.max(files.get(path) ?? 0, offset + data.length));
        },
        async setstat() {},
        async close() {},
      };
    },
  };
}

const transcripts = [
  Buffer.from('T1700000000 0 1700000000 0\nC0644 5 hello\nworld\0'),
  Buffer.from('D0755 0 d\nC0600 3 x\nabc\0D0700 0 e\nE\nE\n'),
  Buffer.from('\x01scp: nope\nC0644 0 empty\n\0'),
];

test('scp sink: mutated transcripts settle (result or ScpError) and create nothing outside the target', async () => {
  await fuzzAsync(
    'scp sink',
    fc.tuple(bytesFrom(transcripts, 256), fc.boolean()),
    async ([bytes, recursive]) => {
      const created: string[] = [];
      const [mine, theirs] = pair();
      theirs.resume();
      theirs.end(bytes);
      let failure: unknown;
      try {
        await scpSink(mine, '/t', memoryFs(created), { recursive, maxSize: 1 << 20, idleTimeout: 2000 });
      } catch (e) {
        failure = e;
      }
      for (const p of created) {
        const rest = p.slice('/t/'.length).split('/');
        if (!p.startsWith('/t/') || rest.some((c) => c === '' || c === '.' || c === '..')) {
          throw new Error(`created outside the target: ${JSON.stringify(p)}`);
        }
      }
      if (failure !== undefined) throw failure;
    },
    { numRuns: runs(400, 20), allowed: (e) => e instanceof ScpError },
  );
});

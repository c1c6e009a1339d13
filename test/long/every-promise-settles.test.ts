/**
 * Every promise settles (issue 10, DESIGN.md's principle): the server's side of the connection is
 * cut after each of its packets in turn — every message boundary of connect (version, KEX, auth),
 * exec, spawn, shell, a subsystem, SFTP open/read/write/readdir, readFile/writeFile, the transfers,
 * a re-key and a global request, and so inside every multi-message exchange — once by destroying the socket and once by a malformed packet in the
 * same write. Every promise the client API handed out must then settle within a second, a rejection
 * must be a typed SshError (with a code), nothing may reject unhandled, and the client's counters
 * must be back to zero.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from '../../src/client/client.js';
import {
  type CutServer,
  checkSettled,
  connectTo,
  type Login,
  startCutServer,
  Tracker,
} from '../adversarial/cut-harness.js';
import { trapProcessErrors } from '../adversarial/settle.js';
import type { CutMode } from '../helpers/hostile-server.js';

/** A promise of the API must settle this soon after the cut. */
const LIMIT_MS = 1000;
/** A scenario that is not cut must finish within this. */
const RUN_MS = 10_000;

type Scenario = { name: string; run(t: Tracker, srv: CutServer): Promise<void> };

async function connected(t: Tracker, srv: CutServer, login: Login = 'password'): Promise<Client> {
  const c = await t.track(`Client.connect (${login})`, connectTo(srv, login));
  t.clients.push(c);
  t.connectedAt = srv.cut?.sent;
  return c;
}

/** Resolves when the channel-like stream has closed (for APIs that hand out a stream, not a promise). */
function closed(s: NodeJS.EventEmitter & { destroyed: boolean }): Promise<void> {
  return new Promise((r) => {
    if (s.destroyed) r();
    else s.once('close', () => r());
  });
}

const scenarios: Scenario[] = [
  {
    name: 'connect',
    run: async (t, srv) => {
      await connected(t, srv);
    },
  },
  {
    name: 'connect (publickey)',
    run: async (t, srv) => {
      await connected(t, srv, 'publickey');
    },
  },
  {
    name: 'connect (keyboard-interactive)',
    run: async (t, srv) => {
      await connected(t, srv, 'keyboard-interactive');
    },
  },
  {
    name: 'exec',
    run: async (t, srv) => {
      const c = await connected(t, srv);
      const r = await t.track('exec', c.exec('hello'));
      assert.equal(r.stdout, 'hello-out\n');
    },
  },
  {
    name: 'spawn',
    run: async (t, srv) => {
      const c = await connected(t, srv);
      const p = await t.track('spawn', c.spawn('cat'));
      const out: Buffer[] = [];
      p.stdout.on('data', (d: Buffer) => out.push(d));
      p.stderr.resume();
      p.stdin.end('spawned data');
      await t.track('spawn().exit', p.exit);
      await t.track('spawn channel close', closed(p.channel));
      assert.equal(Buffer.concat(out).toString(), 'spawned data');
    },
  },
  {
    name: 'shell',
    run: async (t, srv) => {
      const c = await connected(t, srv);
      const ch = await t.track('shell', c.shell({ pty: true, env: { LANG: 'C' } }));
      ch.resume();
      ch.stderr.resume();
      ch.end('echo hi\n');
      await t.track('shell channel close', closed(ch));
    },
  },
  {
    name: 'subsystem',
    run: async (t, srv) => {
      const c = await connected(t, srv);
      const ch = await t.track('subsystem', c.subsystem('echo'));
      ch.resume();
      ch.end('ping');
      await t.track('subsystem channel close', closed(ch));
    },
  },
  {
    name: 'sftp open/read/write/readdir',
    run: async (t, srv) => {
      const c = await connected(t, srv);
      const s = await t.track('sftp', c.sftp());
      t.sftps.push(s);
      const fh = await t.track('open r', s.open('a.txt', 'r'));
      const [data, st] = await Promise.all([t.track('read', fh.read(100, 0)), t.track('fstat', fh.stat())]);
      assert.equal(data.length, 100);
      assert.equal(st.size, 100);
      const w = await t.track('open w', s.open('b.txt', 'w'));
      await Promise.all([
        t.track('write 1', w.write(Buffer.from('xyz'), 0)),
        t.track('write 2', w.write(Buffer.from('uvw'), 3)),
      ]);
      await t.track('close w', w.close());
      await t.track('close r', fh.close());
      const names = await t.track('readdir', s.readdir('.'));
      assert.ok(names.some((n) => n.filename === 'b.txt'));
      await t.track('realpath', s.realpath('.'));
    },
  },
  {
    name: 'sftp writeFile/readFile',
    run: async (t, srv) => {
      const c = await connected(t, srv);
      const s = await t.track('sftp', c.sftp());
      t.sftps.push(s);
      await t.track('writeFile', s.writeFile('c.txt', 'written'));
      assert.equal((await t.track('readFile', s.readFile('c.txt'))).toString(), 'written');
    },
  },
  {
    name: 'rekey, global request',
    run: async (t, srv) => {
      const c = await connected(t, srv);
      await t.track('rekey', c.rekey());
      const [ok] = await Promise.all([
        t.track('globalRequest', c.connection.globalRequest('keepalive@openssh.com')),
        t.track('exec', c.exec('after-rekey')),
      ]);
      assert.equal(ok, true);
    },
  },
  {
    name: 'upload',
    run: async (t, srv) => {
      const c = await connected(t, srv);
      const s = await t.track('sftp', c.sftp());
      t.sftps.push(s);
      const n = await t.track(
        'upload',
        s.upload(join(srv.local, 'up.bin'), 'up.bin', { chunkSize: 8192, concurrency: 4, atomic: true }),
      );
      assert.equal(n, 64 * 1024);
    },
  },
  {
    name: 'download',
    run: async (t, srv) => {
      const c = await connected(t, srv);
      const s = await t.track('sftp', c.sftp());
      t.sftps.push(s);
      const out = join(srv.local, 'down.bin');
      const n = await t.track('download', s.download('a.bin', out, { chunkSize: 8192, concurrency: 4 }));
      assert.equal(n, 64 * 1024);
      assert.equal((await readFile(out)).length, 64 * 1024);
    },
  },
];

let srv: CutServer;
before(async () => {
  srv = await startCutServer();
});
after(async () => {
  await srv.stop();
});

interface CaseResult {
  scenario: string;
  n: number;
  mode: CutMode;
  cut: boolean;
  rejected: number;
  problems: string[];
  codes: string[];
}

/** Runs one scenario with the server cut after `n` packets (Infinity: uncut, must succeed). */
async function runCase(sc: Scenario, n: number, mode: CutMode): Promise<{ t: Tracker; result: CaseResult }> {
  srv.arm(n, mode);
  const t = new Tracker();
  const started = performance.now();
  const run = t.track(`${sc.name} (whole scenario)`, sc.run(t, srv));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    run.catch(() => {}),
    new Promise<void>((r) => {
      timer = setTimeout(r, RUN_MS);
    }),
  ]);
  clearTimeout(timer);
  const cutAt = Number.isFinite(n) ? srv.cut?.at : undefined;
  const deadline = (cutAt ?? started + RUN_MS) + LIMIT_MS;
  const { violations, rejected, codes } = await checkSettled(t, cutAt, LIMIT_MS, deadline);
  const problems = violations.map((v) => `${v.label}: ${v.problem}`);
  // Counters: every client back to zero once its connection is gone.
  for (const c of t.clients) {
    if (!c.closed) await c.close();
    const stats = c.stats;
    for (const [k, v] of Object.entries(stats)) if (v !== 0) problems.push(`client stats.${k} = ${v} after close`);
  }
  for (const s of t.sftps) {
    for (const [k, v] of Object.entries(s.stats)) if (v !== 0) problems.push(`sftp stats.${k} = ${v} after close`);
  }
  return { t, result: { scenario: sc.name, n, mode, cut: cutAt !== undefined, rejected, problems, codes } };
}

test('every promise of the client API settles, typed, within a second of the connection being cut after any server packet', async () => {
  const trap = trapProcessErrors();
  const t0 = performance.now();
  const results: CaseResult[] = [];
  const summary: string[] = [];
  try {
    for (const sc of scenarios) {
      // Uncut: count the server's packets, and make sure the scenario itself works.
      const dry = await runCase(sc, Number.POSITIVE_INFINITY, 'destroy');
      const total = srv.cut?.sent ?? 0;
      const failed = await dry.t.promises[0]?.p.then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.equal(failed, undefined, `${sc.name} fails uncut: ${String(failed)}`);
      assert.deepEqual(dry.result.problems, [], `${sc.name} uncut`);
      const from = sc.name.startsWith('connect') ? 0 : (dry.t.connectedAt ?? 0);
      let cases = 0;
      let rejecting = 0;
      for (let n = from; n < total; n++) {
        for (const mode of ['destroy', 'protocol-error'] as const) {
          const { result } = await runCase(sc, n, mode);
          results.push(result);
          cases++;
          if (result.rejected > 0) rejecting++;
        }
      }
      summary.push(
        `${sc.name}: packets ${from}..${total - 1} x 2 modes = ${cases} cases, ${rejecting} with rejections`,
      );
      assert.ok(rejecting > 0, `${sc.name}: no cut made any promise reject`);
    }
  } finally {
    await new Promise((r) => setTimeout(r, 50));
    trap.uninstall();
  }
  const bad = results.filter((r) => r.problems.length > 0);
  const codes = new Map<string, number>();
  for (const r of results) for (const c of r.codes) codes.set(c, (codes.get(c) ?? 0) + 1);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  // The figures, for the report: cases per scenario, error codes seen, time.
  console.log(
    `# every-promise-settles: ${results.length} cut cases in ${secs} s\n# ${summary.join('\n# ')}\n# rejection codes: ${JSON.stringify(Object.fromEntries(codes))}`,
  );
  assert.deepEqual(
    bad.slice(0, 20).map((r) => `${r.scenario} cut after ${r.n} (${r.mode}): ${r.problems.join('; ')}`),
    [],
  );
  assert.deepEqual(trap.errors, []);
});

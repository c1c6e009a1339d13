/**
 * updateHostKeys and the known_hosts file itself: two connections rewriting the same file at the
 * same moment (another host's rotation must not be undone: a removed key must not come back, an
 * added one must not be lost), and a known_hosts that is a symlink (written through; `.old` keeps
 * the content before, as ssh's backup does; the mode stays).
 */
import assert from 'node:assert/strict';
import { chmod, lstat, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, type ConnectOptions } from '../../src/client/client.js';
import type { HostKeysUpdateResult } from '../../src/client/options.js';
import { KnownHosts } from '../../src/config/index.js';
import { generatePrivateKey, type PrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';

let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-hostkeys-files-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function startServer(keys: PrivateKey[]): Promise<{ server: Server; port: number }> {
  const server = new Server({ hostKeys: keys, authenticate: (c) => c.method === 'password' && c.password === 'pw' });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, port };
}

/** Connects with updateHostKeys and resolves with the 'hostkeys' outcome (the client is closed). */
async function update(
  port: number,
  path: string,
  ask?: () => Promise<boolean>,
  host = '127.0.0.1',
  extra: Partial<ConnectOptions> = {},
): Promise<HostKeysUpdateResult | undefined> {
  // Always to 127.0.0.1; `host` is the name known_hosts is checked under.
  const sock = netConnect({ port, host: '127.0.0.1' });
  await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
  const c = await Client.connect({
    sock,
    host,
    port,
    username: 'u',
    password: 'pw',
    knownHosts: path,
    updateHostKeys: ask ? 'ask' : true,
    ...(ask ? { onUpdateHostKeys: ask } : {}),
    ...extra,
  });
  c.on('error', () => {});
  try {
    return await new Promise<HostKeysUpdateResult | undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), 5000);
      c.once('hostkeys', (r: HostKeysUpdateResult) => {
        clearTimeout(t);
        resolve(r);
      });
    });
  } finally {
    await c.close();
  }
}

/** Fresh keys of the types named (`ed` ed25519, `ec` ecdsa). */
const fresh = (...types: Array<'ed' | 'ec'>): PrivateKey[] =>
  types.map((t) => generatePrivateKey(t === 'ed' ? 'ed25519' : 'ecdsa'));

/** A yes-answering question callback that answers only once it has been asked twice: both at once. */
function bothAsked(): () => Promise<boolean> {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let asked = 0;
  return async () => {
    if (++asked === 2) release();
    await gate;
    return true;
  };
}

const line = (port: number, k: PrivateKey) => `[127.0.0.1]:${port} ${k.publicKey.toString()}\n`;

test("two connections updating one known_hosts at once: neither undoes the other's rotation", async () => {
  // Host A rotates: keeps edA, gains ecA, drops oldA (compromised). Host B gains ecB.
  const [edA, ecA, oldA, edB, ecB] = fresh('ed', 'ec', 'ec', 'ed', 'ec') as [
    PrivateKey,
    PrivateKey,
    PrivateKey,
    PrivateKey,
    PrivateKey,
  ];
  const a = await startServer([edA, ecA]);
  const b = await startServer([edB, ecB]);
  try {
    const path = join(dir, 'race');
    await writeFile(path, line(a.port, edA) + line(a.port, oldA) + line(b.port, edB));
    // Both are asked; both answers are given at the same moment, so both rewrites run together.
    const ask = bothAsked();
    const [ra, rb] = await Promise.all([update(a.port, path, ask), update(b.port, path, ask)]);
    assert.equal(ra?.status, 'updated');
    assert.equal(rb?.status, 'updated');
    const kh = new KnownHosts(await readFile(path, 'utf8'));
    const has = (port: number, k: PrivateKey) => kh.find('127.0.0.1', port).some((e) => e.key.equals(k.publicKey));
    assert.ok(has(a.port, edA) && has(a.port, ecA), "host A's keys are on file");
    assert.ok(!has(a.port, oldA), "host A's dropped key did not come back");
    assert.ok(has(b.port, edB) && has(b.port, ecB), "host B's keys are on file");
    assert.equal(kh.entries.length, 4);
  } finally {
    await a.server.close();
    await b.server.close();
  }
});

test('a symlinked known_hosts is written through the link; .old keeps the content before; the mode stays', async () => {
  const [ed, ec] = fresh('ed', 'ec') as [PrivateKey, PrivateKey];
  const s = await startServer([ed, ec]);
  try {
    const target = join(dir, 'real_known_hosts');
    const link = join(dir, 'linked_known_hosts');
    const start = line(s.port, ed);
    await writeFile(target, start);
    await chmod(target, 0o644);
    await symlink(target, link);
    const r = await update(s.port, link);
    assert.equal(r?.status, 'updated');
    assert.ok((await lstat(link)).isSymbolicLink(), 'the link is still a link');
    assert.equal(new KnownHosts(await readFile(target, 'utf8')).entries.length, 2);
    assert.equal((await stat(target)).mode & 0o777, 0o644);
    assert.equal(await readFile(`${link}.old`, 'utf8'), start, '.old holds the file as it was');
  } finally {
    await s.server.close();
  }
});

test("an update and another host's accept at the same moment: the file has both", async () => {
  const [edA, ecA, oldA, edB] = fresh('ed', 'ec', 'ec', 'ed') as [PrivateKey, PrivateKey, PrivateKey, PrivateKey];
  const a = await startServer([edA, ecA]);
  const b = await startServer([edB]);
  try {
    const path = join(dir, 'race-accept');
    await writeFile(path, line(a.port, edA) + line(a.port, oldA));
    const ask = bothAsked();
    const accept = async () => {
      const c = await Client.connect({
        host: '127.0.0.1',
        port: b.port,
        username: 'u',
        password: 'pw',
        knownHosts: path,
        strictHostKeyChecking: 'ask',
        onUnknownHostKey: ask,
      });
      await c.close();
    };
    const [ra] = await Promise.all([update(a.port, path, ask), accept()]);
    assert.equal(ra?.status, 'updated');
    const kh = new KnownHosts(await readFile(path, 'utf8'));
    const has = (port: number, k: PrivateKey) => kh.find('127.0.0.1', port).some((e) => e.key.equals(k.publicKey));
    assert.ok(has(a.port, edA) && has(a.port, ecA) && !has(a.port, oldA), "host A's rotation stands");
    assert.ok(has(b.port, edB), 'host B was added');
    assert.equal(kh.entries.length, 3);
  } finally {
    await a.server.close();
    await b.server.close();
  }
});

test('a line naming the host beside another host, a negation or a second address is left alone (update skipped); name,address is updated only when reached by name', async () => {
  const [ed, ec, old] = fresh('ed', 'ec', 'ec') as [PrivateKey, PrivateKey, PrivateKey];
  const s = await startServer([ed, ec]);
  try {
    for (const other of ['[other.example]', '[!other.example]', '[127.0.0.2]']) {
      const path = join(dir, `pair-${s.port}-${other.replace(/\W/g, '')}`);
      // `old` is on file for the host and another name on one line; the server no longer has it.
      const start = `${line(s.port, ed)}[127.0.0.1]:${s.port},${other}:${s.port} ${old.publicKey.toString()}\n`;
      await writeFile(path, start);
      const r = await update(s.port, path);
      assert.equal(r?.status, 'skipped', other);
      assert.equal(await readFile(path, 'utf8'), start, `${other}'s line stays`);
    }
    // name,address (ssh's CheckHostIP form) for a host reached by name is still updated, as ssh does;
    // reached by the address, it is left alone.
    const path = join(dir, `pair-${s.port}-ip`);
    const pair = `[example.test]:${s.port},[127.0.0.1]:${s.port} ${ed.publicKey.toString()}\n`;
    await writeFile(path, pair);
    assert.equal((await update(s.port, path))?.status, 'skipped');
    assert.equal(await readFile(path, 'utf8'), pair);
    const r = await update(s.port, path, undefined, 'example.test');
    assert.equal(r?.status, 'updated');
    const kh = new KnownHosts(await readFile(path, 'utf8'));
    assert.ok(kh.find('example.test', s.port).some((e) => e.key.equals(ec.publicKey)));
  } finally {
    await s.server.close();
  }
});

test("keys the server still announces, of types this client's hostKey algorithms leave out, stay on file", async () => {
  const [ed, ec, old] = fresh('ed', 'ec', 'ec') as [PrivateKey, PrivateKey, PrivateKey];
  const s = await startServer([ed, ec]);
  try {
    const path = join(dir, `types-${s.port}`);
    const edOnly = { algorithms: { hostKey: 'ssh-ed25519' } };
    await writeFile(path, line(s.port, ed) + line(s.port, ec));
    assert.equal((await update(s.port, path, undefined, '127.0.0.1', edOnly))?.status, 'unchanged');
    assert.equal(await readFile(path, 'utf8'), line(s.port, ed) + line(s.port, ec));
    // A key the server no longer announces at all still goes.
    await writeFile(path, line(s.port, ed) + line(s.port, ec) + line(s.port, old));
    const r = await update(s.port, path, undefined, '127.0.0.1', edOnly);
    assert.equal(r?.status, 'updated');
    assert.deepEqual(
      r?.removed.map((k) => k.fingerprint()),
      [old.publicKey.fingerprint()],
    );
    assert.equal(await readFile(path, 'utf8'), line(s.port, ed) + line(s.port, ec));
  } finally {
    await s.server.close();
  }
});

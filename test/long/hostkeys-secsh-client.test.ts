/**
 * secsh's client with updateHostKeys against OpenSSH's sshd holding three host keys (ed25519, ecdsa,
 * rsa), and OpenSSH's own `ssh -o UpdateHostKeys=yes` from the same starting known_hosts against the
 * same sshd: both end with the same keys for the host, in the same plain or hashed form. Also: a
 * key the server no longer has is removed, lines for other hosts and markers stay, the config's
 * UpdateHostKeys is honoured, and an update is skipped where ssh skips it.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, type ConnectOptions } from '../../src/client/client.js';
import type { HostKeysUpdateResult } from '../../src/client/options.js';
import { hashKnownHostsName, KnownHosts } from '../../src/config/index.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { runSsh, sshArgs } from '../helpers/openssh.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
let n = 0;

before(async () => {
  if (hasPeer('sshd') && hasPeer('ssh')) sshd = await startSshd({ hostKeyTypes: ['ed25519', 'ecdsa256', 'rsa'] });
});

after(async () => {
  await sshd?.stop();
});

const S = () => sshd as Sshd;
const name = () => `[127.0.0.1]:${S().port}`;
const line = (type: string) => S().hostKeys.find((k) => k.type === type)?.publicKeyLine as string;
const allFingerprints = () =>
  S()
    .hostKeys.map((k) => k.fingerprint)
    .sort();
const stale = generatePrivateKey('ecdsa').publicKey.toString(); // a key the server no longer has
const otherHost = `other.example ${generatePrivateKey('ed25519').publicKey.toString()}`;

/** A known_hosts file in the sshd's folder with `text`; returns its path. */
async function knownHosts(text: string): Promise<string> {
  const p = join(S().dir, `known_hosts-${++n}`);
  await writeFile(p, text);
  return p;
}

/** secsh connects with updateHostKeys and resolves with the 'hostkeys' result. */
async function secshUpdate(path: string, extra: Partial<ConnectOptions> = {}): Promise<HostKeysUpdateResult> {
  const c = await Client.connect({
    host: '127.0.0.1',
    port: S().port,
    username: S().username,
    privateKeyPath: S().userKeys.ed25519.privatePath,
    knownHosts: path,
    updateHostKeys: true,
    ...extra,
  });
  try {
    return await new Promise<HostKeysUpdateResult>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no hostkeys event')), 10_000);
      c.once('hostkeys', (r: HostKeysUpdateResult) => {
        clearTimeout(t);
        resolve(r);
      });
    });
  } finally {
    await c.close();
  }
}

/**
 * Options that take everything from an ssh_config for the alias `target`: its UserKnownHostsFile
 * (`files`) and, with `more`, its UpdateHostKeys.
 */
function viaConfig(files: string, more: string[] = []): ConnectOptions {
  return {
    host: 'target',
    knownHosts: undefined,
    updateHostKeys: undefined,
    config: {
      path: false,
      options: [
        'HostName 127.0.0.1',
        `Port ${S().port}`,
        `User ${S().username}`,
        `IdentityFile ${S().userKeys.ed25519.privatePath}`,
        'IdentitiesOnly yes',
        `UserKnownHostsFile ${files}`,
        'StrictHostKeyChecking yes',
        ...more,
      ],
    },
  };
}

/** OpenSSH's ssh with UpdateHostKeys=yes and strict checking against `path` alone. */
async function sshUpdate(path: string, hash: boolean): Promise<string> {
  const r = await runSsh(
    sshArgs(
      { port: S().port, keyPath: S().userKeys.ed25519.privatePath, user: S().username, knownHosts: path },
      ['-o', 'UpdateHostKeys=yes', '-o', `HashKnownHosts=${hash ? 'yes' : 'no'}`, '-v'],
      'true',
    ),
    { bin: binPath('ssh'), timeoutMs: 30_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  return r.stderr;
}

/** The host's plain entries in `path`: sorted `fingerprint hashed|plain`, and the other lines as text. */
async function summary(path: string): Promise<{ host: string[]; rest: string[] }> {
  const text = await readFile(path, 'utf8');
  const kh = new KnownHosts(text);
  const mine = kh.find('127.0.0.1', S().port);
  const host = mine
    .filter((e) => e.marker === undefined)
    .map((e) => `${e.key.fingerprint()} ${e.hashed ? 'hashed' : 'plain'}`)
    .sort();
  const lines = new Set(mine.map((e) => e.line));
  const rest = text.split('\n').filter((l, i) => l !== '' && !lines.has(i + 1));
  return { host, rest };
}

/** Runs secsh and ssh from copies of the same start; returns both summaries and secsh's result. */
async function both(start: string, secshOpts: Partial<ConnectOptions>, hash: boolean) {
  const ours = await knownHosts(start);
  const theirs = `${ours}-ssh`;
  await copyFile(ours, theirs);
  const result = await secshUpdate(ours, secshOpts);
  const sshLog = await sshUpdate(theirs, hash);
  const [a, b] = await Promise.all([summary(ours), summary(theirs)]);
  await rm(`${theirs}.old`, { force: true });
  return { ours: a, theirs: b, result, sshLog, oursPath: ours };
}

test("secsh learns sshd's other two host keys, as OpenSSH's ssh does from the same known_hosts (plain)", async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh')) return;
  const start = `# comment kept\n${otherHost}\n${name()} ${line('ed25519')}\n`;
  const { ours, theirs, result, sshLog, oursPath } = await both(start, {}, false);
  assert.equal(result.status, 'updated');
  assert.deepEqual(result.added.map((k) => k.type).sort(), ['ecdsa-sha2-nistp256', 'ssh-rsa']);
  assert.deepEqual(result.removed, []);
  assert.match(sshLog, /Learned new hostkey: ECDSA/);
  assert.deepEqual(ours, theirs);
  assert.deepEqual(
    ours.host,
    allFingerprints().map((f) => `${f} plain`),
  );
  assert.deepEqual(ours.rest, ['# comment kept', otherHost]);
  // The file before the update is kept as .old, as ssh keeps it.
  assert.equal(await readFile(`${oursPath}.old`, 'utf8'), start);
  // Nothing new the second time.
  assert.equal((await secshUpdate(oursPath)).status, 'unchanged');
});

test('with hashKnownHosts (HashKnownHosts=yes) both write the learned keys hashed', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh')) return;
  const start = `${name()} ${line('ecdsa256')}\n`;
  const { ours, theirs, result } = await both(start, { hashKnownHosts: true }, true);
  assert.equal(result.status, 'updated');
  assert.deepEqual(ours, theirs);
  assert.equal(ours.host.filter((h) => h.endsWith(' hashed')).length, 2);
});

test('a key on file that sshd no longer has is removed, by both; @cert-authority for another host stays', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh')) return;
  const ca = `@cert-authority *.example ${generatePrivateKey('ed25519').publicKey.toString()}`;
  const start = `${name()} ${line('ed25519')}\n${name()} ${stale}\n${ca}\n${name()} ${line('rsa')}\n`;
  const { ours, theirs, result } = await both(start, {}, false);
  assert.equal(result.status, 'updated');
  assert.deepEqual(
    result.removed.map((k) => k.toString()),
    [stale],
  );
  assert.deepEqual(ours, theirs);
  assert.deepEqual(
    ours.host,
    allFingerprints().map((f) => `${f} plain`),
  );
  assert.deepEqual(ours.rest, [ca]);
});

test('only a removal (no new key): done without a proof', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh')) return;
  const start = [line('ed25519'), line('ecdsa256'), line('rsa'), stale].map((l) => `${name()} ${l}`).join('\n');
  const { ours, theirs, result } = await both(`${start}\n`, {}, false);
  assert.equal(result.status, 'updated');
  assert.deepEqual(result.added, []);
  assert.equal(result.removed.length, 1);
  assert.deepEqual(ours, theirs);
});

test('a hashed start: secsh keeps the file hashed (ssh follows HashKnownHosts alone and writes plain)', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh')) return;
  const start = `${hashKnownHostsName(name())} ${line('ed25519')}\n`;
  const { ours, theirs, result } = await both(start, {}, false);
  assert.equal(result.status, 'updated');
  const keys = (s: { host: string[] }) => s.host.map((h) => h.split(' ')[0]);
  assert.deepEqual(keys(ours), keys(theirs));
  assert.deepEqual(
    ours.host,
    allFingerprints().map((f) => `${f} hashed`),
  );
  assert.equal(theirs.host.filter((h) => h.endsWith(' plain')).length, 2);
});

test("UpdateHostKeys from ssh_config: yes updates; unset with a custom UserKnownHostsFile does not (ssh's default)", async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh')) return;
  const start = `${name()} ${line('ed25519')}\n`;
  const path = await knownHosts(start);
  const c = await Client.connect(viaConfig(path));
  let events = 0;
  c.on('hostkeys', () => events++);
  await c.exec('true');
  await new Promise((r) => setTimeout(r, 300));
  await c.close();
  assert.equal(events, 0);
  assert.equal(await readFile(path, 'utf8'), start);
  const r = await secshUpdate(path, viaConfig(path, ['UpdateHostKeys yes']));
  assert.equal(r.status, 'updated');
  assert.equal((await summary(path)).host.length, 3);
});

test("'ask' asks onUpdateHostKeys with what would change; a no leaves the file as it was", async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh')) return;
  const start = `${name()} ${line('ed25519')}\n${name()} ${stale}\n`;
  const path = await knownHosts(start);
  const asked: string[] = [];
  const r = await secshUpdate(path, {
    updateHostKeys: 'ask',
    onUpdateHostKeys: (q) => {
      asked.push(`${q.name} +${q.added.length} -${q.removed.length} ${q.path === path}`);
      return false;
    },
  });
  assert.equal(r.status, 'refused');
  assert.deepEqual(asked, [`${name()} +2 -1 true`]);
  assert.equal(await readFile(path, 'utf8'), start);
  const yes = await secshUpdate(path, { updateHostKeys: 'ask', onUpdateHostKeys: () => true });
  assert.equal(yes.status, 'updated');
});

test('skipped as ssh skips it: a wildcard line for the host, the key on file under another name, a host key not from known_hosts', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh')) return;
  for (const start of [
    `${name()} ${line('ed25519')}\n[127.0.0.*]:${S().port} ${stale}\n`,
    `${name()} ${line('ed25519')}\nalias.example ${line('rsa')}\n`,
    `${name()},127.0.0.9,other ${line('ed25519')}\n`,
  ]) {
    const path = await knownHosts(start);
    const r = await secshUpdate(path);
    assert.equal(r.status, 'skipped', start);
    assert.equal(await readFile(path, 'utf8'), start);
  }
  // strictHostKeyChecking 'off' accepts an unknown key without recording it: no update.
  const path = await knownHosts(`${name()} ${stale}\n`);
  const r = await secshUpdate(path, { strictHostKeyChecking: 'off' });
  assert.equal(r.status, 'skipped');
  assert.match(r.reason ?? '', /not verified from known_hosts/);
});

test('two UserKnownHostsFiles: as ssh, the keys move to the first and the host leaves the second; never when the first is missing', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh')) return;
  const second = await knownHosts(`${name()} ${line('ed25519')}\n${otherHost}\n`);
  const missing = join(S().dir, 'no-such-known_hosts');
  const r1 = await secshUpdate(missing, viaConfig(`${missing} ${second}`, ['UpdateHostKeys yes']));
  assert.equal(r1.status, 'skipped');
  assert.equal((await summary(second)).host.length, 1);
  const first = await knownHosts(`${otherHost}\n`);
  const r2 = await secshUpdate(first, viaConfig(`${first} ${second}`, ['UpdateHostKeys yes']));
  assert.equal(r2.status, 'updated');
  assert.deepEqual(
    (await summary(first)).host,
    allFingerprints().map((f) => `${f} plain`),
  );
  assert.deepEqual(await summary(second), { host: [], rest: [otherHost] });
});

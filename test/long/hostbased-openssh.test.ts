/**
 * Hostbased authentication against OpenSSH, both roles.
 *
 * secsh client → sshd 9.2 (HostbasedAuthentication yes, HostbasedUsesNameFromPacketOnly yes,
 * IgnoreRhosts no, AuthenticationMethods hostbased): sshd reads ssh_known_hosts and shosts.equiv from
 * compiled-in /etc/ssh paths and ~/.shosts from the login user's home (from passwd). The test runs
 * sshd in a private mount namespace where /etc/ssh and the home directory are the test's own
 * folders (test/helpers/mount-ns.ts): nothing real is read or written.
 *
 * OpenSSH ssh → secsh server: ssh signs through the setuid ssh-keysign, which reads only
 * /etc/ssh/ssh_config (EnableSSHKeysign) and /etc/ssh/ssh_host_*_key. ssh runs in a private mount
 * namespace where those two paths are the test's files.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { after, type TestContext, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { KnownHosts } from '../../src/config/index.js';
import { AuthError } from '../../src/errors.js';
import { generatePrivateKey, type PrivateKey } from '../../src/keys/index.js';
import { startHostbasedServer } from '../helpers/hostbased-server.js';
import { privateMountsScript, requirePrivateMounts, withPrivateMounts } from '../helpers/mount-ns.js';
import { OPENSSH_NO_HOST_CHECK } from '../helpers/openssh.js';
import { binPath, openssh10Path, requirePeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

const CLIENT_HOST = 'hostbased-client.test';
/** A user that exists only in sshd's mount namespace (its /etc/passwd), not root: sshd reads shosts.equiv for it. */
const EQUIV_USER = 'secshhb';
const user = userInfo().username;
const hostKeys = {
  ed25519: generatePrivateKey('ed25519'),
  ecdsa: generatePrivateKey('ecdsa', { bits: 256 }),
  rsa: generatePrivateKey('rsa', { bits: 2048 }),
};
const stranger = generatePrivateKey('ed25519');

type Version = '9' | '10';
const VERSIONS: readonly Version[] = ['9', '10'];
const started = new Map<Version, Promise<{ sshd: Sshd; dir: string }>>();

after(async () => {
  for (const p of started.values()) {
    const s = await p.catch(() => undefined);
    await s?.sshd.stop();
    if (s) await rm(s.dir, { recursive: true, force: true });
  }
});

/** OpenSSH 10's wrappers (scripts/fetch-openssh10.sh) live beside its ssh. */
const openssh10 = (name: string) => join(dirname(openssh10Path()), name);

/**
 * An sshd of version `v` that takes only hostbased, with /etc/ssh and the login user's home replaced
 * (private mounts) by the test's folders: ssh_known_hosts lists the client host keys for CLIENT_HOST
 * and for other.test, shosts.equiv names CLIENT_HOST (sshd reads it for users other than root), and
 * ~/.shosts names CLIENT_HOST with no user (same user name only) — the file that lets root in.
 */

/**
 * sshd's log once every pattern matches it: sshd writes a line after it answered the client, so a
 * test that checks right after a refusal can run before the line is there. Waits up to 10 s.
 */
async function logsMatching(sshd: { logs(): string }, patterns: readonly RegExp[]): Promise<string> {
  const deadline = Date.now() + 10_000;
  let logs = sshd.logs();
  while (!patterns.every((p) => p.test(logs)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    logs = sshd.logs();
  }
  for (const p of patterns) assert.match(logs, p);
  return logs;
}
async function startHostbasedSshd(v: Version): Promise<{ sshd: Sshd; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), `secsh-hostbased${v}-`));
  const etc = join(dir, 'etc-ssh');
  await mkdir(etc);
  const lines = Object.values(hostKeys).flatMap((k) => [
    `${CLIENT_HOST} ${k.publicKey.type} ${k.publicKey.blob.toString('base64')}`,
    `other.test ${k.publicKey.type} ${k.publicKey.blob.toString('base64')}`,
  ]);
  // ssh-keysign signs for the name of the socket's local address: localhost, for 127.0.0.1.
  lines.push(`localhost ${hostKeys.ed25519.publicKey.type} ${hostKeys.ed25519.publicKey.blob.toString('base64')}`);
  await writeFile(join(etc, 'ssh_known_hosts'), `${lines.join('\n')}\n`);
  await writeFile(join(etc, 'shosts.equiv'), `${CLIENT_HOST}\n`);
  await copyFile('/etc/ssh/moduli', join(etc, 'moduli')).catch(() => undefined);
  const home = join(dir, 'home');
  await mkdir(home, { mode: 0o700 });
  await writeFile(join(home, '.shosts'), `${CLIENT_HOST}\nlocalhost\n`, { mode: 0o600 });
  const equivHome = join(dir, 'equiv-home');
  await mkdir(equivHome, { mode: 0o755 });
  const passwd = join(dir, 'passwd');
  const real = (await readFile('/etc/passwd', 'utf8')).replace(/\n?$/, '\n');
  await writeFile(passwd, `${real}${EQUIV_USER}:x:4242:4242:secsh hostbased test:${equivHome}:/bin/sh\n`);
  const binds: [string, string][] = [
    [etc, '/etc/ssh'],
    [home, userInfo().homedir],
    [passwd, '/etc/passwd'],
  ];
  const sshd = await startSshd({
    hostKeyTypes: ['ed25519'],
    extraConfig: [
      'HostbasedAuthentication yes',
      'HostbasedUsesNameFromPacketOnly yes',
      'IgnoreRhosts no',
      'AuthenticationMethods hostbased',
      'HostbasedAcceptedAlgorithms ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256',
      ...(v === '10'
        ? [
            `SshdSessionPath ${openssh10('sshd-session')}`,
            `SshdAuthPath ${openssh10('sshd-auth')}`,
            // The refusals this file provokes would otherwise shut 127.0.0.1 out for a while.
            'PerSourcePenalties no',
          ]
        : []),
    ],
    ...(v === '10' ? { querySsh: openssh10Path() } : {}),
    launch: (cmd, args) => withPrivateMounts(binds, v === '10' ? openssh10('sshd') : cmd, args),
  }).catch(async (e) => {
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
  return { sshd, dir };
}

/** The version's hostbased sshd (started once per file), or undefined when the test was skipped. */
async function sshdFor(t: TestContext, v: Version): Promise<Sshd | undefined> {
  if (!requirePeer(t, v === '10' ? 'openssh10-sshd' : 'sshd') || !requirePrivateMounts(t)) return undefined;
  let p = started.get(v);
  if (!p) {
    p = startHostbasedSshd(v);
    started.set(v, p);
  }
  return (await p).sshd;
}

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function connectSshd(sshd: Sshd, key: PrivateKey, o: { host?: string; localUser?: string; user?: string } = {}) {
  return Client.connect({
    host: sshd.host,
    port: sshd.port,
    username: o.user ?? sshd.username,
    insecureAcceptAnyHostKey: true,
    hostbased: { key, localHostname: o.host ?? CLIENT_HOST, localUsername: o.localUser ?? o.user ?? sshd.username },
  });
}

for (const v of VERSIONS) {
  test(`secsh client logs in to sshd ${v} by hostbased with ed25519, ecdsa and rsa host keys (AuthenticationMethods hostbased)`, async (t) => {
    const sshd = await sshdFor(t, v);
    if (!sshd) return;
    for (const [name, key] of Object.entries(hostKeys)) {
      const c = await connectSshd(sshd, key);
      try {
        assert.equal((await c.exec('echo hostbased-ok')).stdout.trim(), 'hostbased-ok', name);
      } finally {
        await c.close();
      }
    }
    await logsMatching(sshd, [
      new RegExp(`Accepted hostbased for ${user} .*ED25519 SHA256:`),
      new RegExp(`Accepted hostbased for ${user} .*ECDSA SHA256:`),
      new RegExp(`Accepted hostbased for ${user} .*RSA SHA256:`),
    ]);
  });

  test(`secsh client logs in to sshd ${v} as a non-root user by shosts.equiv (the test's own, for the same user name only)`, async (t) => {
    const sshd = await sshdFor(t, v);
    if (!sshd) return;
    const c = await connectSshd(sshd, hostKeys.ed25519, { user: EQUIV_USER });
    try {
      assert.equal((await c.exec('id -u')).stdout.trim(), '4242');
    } finally {
      await c.close();
    }
    // shosts.equiv names no user: a client user of another name is refused (root ignores the file).
    await assert.rejects(connectSshd(sshd, hostKeys.ed25519, { user: EQUIV_USER, localUser: 'someone' }), AuthError);
    await logsMatching(sshd, [new RegExp(`Accepted hostbased for ${EQUIV_USER} `)]);
  });

  test(`sshd ${v} refuses hostbased from secsh for an unknown host key, a host no shosts file names, another client user`, async (t) => {
    const sshd = await sshdFor(t, v);
    if (!sshd) return;
    for (const [key, o] of [
      [stranger, {}],
      [hostKeys.ed25519, { host: 'other.test' }],
      [hostKeys.ed25519, { localUser: 'nobody-else' }],
    ] as const) {
      await assert.rejects(connectSshd(sshd, key, o), (e: unknown) => {
        assert.ok(e instanceof AuthError, String(e));
        assert.match(e.message, /hostbased \(ssh-ed25519 /);
        return true;
      });
    }
    // Each for the reason named: the key is not in the test's ssh_known_hosts; ~/.shosts names neither
    // other.test nor a client user other than the login's.
    await logsMatching(sshd, [
      new RegExp(`Failed hostbased for ${user} .*${reEscape(stranger.publicKey.fingerprint())}`),
      new RegExp(`Failed hostbased for ${user} .*client user "${user}", client host "other.test"`),
      new RegExp(`Failed hostbased for ${user} .*client user "nobody-else", client host "${CLIENT_HOST}"`),
    ]);
  });

  test(`secsh client signing through OpenSSH's ssh-keysign logs in to sshd ${v}; with EnableSSHKeysign off hostbased is skipped, saying why`, async (t) => {
    const sshd = await sshdFor(t, v);
    if (!sshd) return;
    const work = await mkdtemp(join(tmpdir(), 'secsh-keysign-client-'));
    try {
      const wrapper = async (name: string, config: string) => {
        const cfg = join(work, `${name}.conf`);
        await writeFile(cfg, config);
        const path = join(work, name);
        const binds: [string, string][] = [
          [cfg, '/etc/ssh/ssh_config'],
          ...(await hostKeyBinds(work, hostKeys.ed25519)),
        ];
        await writeFile(path, privateMountsScript(binds, '/usr/lib/openssh/ssh-keysign'), { mode: 0o755 });
        return path;
      };
      const connect = (keysign: string) =>
        Client.connect({
          host: sshd.host,
          port: sshd.port,
          username: sshd.username,
          insecureAcceptAnyHostKey: true,
          hostbased: { keysign, key: hostKeys.ed25519.publicKey },
        });
      const c = await connect(await wrapper('enabled', 'EnableSSHKeysign yes\n'));
      try {
        assert.equal((await c.exec('echo keysign-ok')).stdout.trim(), 'keysign-ok');
      } finally {
        await c.close();
      }
      // sshd names the host key and the client user@host it accepted for: localhost, the socket's name.
      const fp = reEscape(hostKeys.ed25519.publicKey.fingerprint());
      await logsMatching(sshd, [new RegExp(`Accepted ED25519 public key ${fp} from ${user}@localhost`)]);
      await assert.rejects(connect(await wrapper('disabled', '')), (e: unknown) => {
        assert.ok(e instanceof AuthError, String(e));
        assert.match(e.message, /hostbased \(ssh-ed25519 SHA256:\S+: ssh-keysign: .*not enabled/);
        return true;
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
}

/** Binds that make `hostKey` the host's ed25519 key (/etc/ssh/ssh_host_ed25519_key and its .pub). */
async function hostKeyBinds(work: string, hostKey: PrivateKey): Promise<[string, string][]> {
  const keyPath = join(work, `hostkey-${hostKey.publicKey.fingerprint().slice(7, 15).replace(/\W/g, '_')}`);
  await writeFile(keyPath, hostKey.toOpenSSH(), { mode: 0o600 });
  await writeFile(`${keyPath}.pub`, `${hostKey.publicKey.toString()}\n`);
  return [
    [keyPath, '/etc/ssh/ssh_host_ed25519_key'],
    [`${keyPath}.pub`, '/etc/ssh/ssh_host_ed25519_key.pub'],
  ];
}

/** Runs OpenSSH's ssh with /etc/ssh/ssh_config and the ed25519 host key replaced by the test's files. */
async function sshWithKeysign(
  v: Version,
  work: string,
  hostKey: PrivateKey,
  port: number,
  command: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const config = join(work, 'ssh_config');
  await writeFile(config, 'EnableSSHKeysign yes\n');
  const sshArgs = [
    ...OPENSSH_NO_HOST_CHECK,
    '-o',
    'HostbasedAuthentication=yes',
    '-o',
    'HostbasedAcceptedAlgorithms=ssh-ed25519',
    '-o',
    'PreferredAuthentications=hostbased',
    '-o',
    'LogLevel=DEBUG1',
    '-p',
    String(port),
    '-l',
    user,
    '127.0.0.1',
    command,
  ];
  const binds: [string, string][] = [[config, '/etc/ssh/ssh_config'], ...(await hostKeyBinds(work, hostKey))];
  if (v === '10') {
    // ssh 10 runs the compiled-in /usr/lib/openssh/ssh-keysign: make that OpenSSH 10's, through its
    // loader as the wrappers run ssh (root already, so no setuid is needed).
    const keysign = join(work, 'ssh-keysign10');
    const wrapper = await readFile(openssh10Path(), 'utf8');
    await writeFile(keysign, wrapper.replace('"$R/usr/bin/ssh"', '"$R/usr/lib/openssh/ssh-keysign"'), { mode: 0o755 });
    binds.push([keysign, '/usr/lib/openssh/ssh-keysign']);
  }
  const run = withPrivateMounts(binds, v === '10' ? openssh10Path() : binPath('ssh'), sshArgs);
  return new Promise((resolve) => {
    execFile(run.cmd, run.args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

for (const v of VERSIONS) {
  test(`OpenSSH ${v} ssh (through its ssh-keysign) logs in to the secsh server by hostbased; an unknown host key is refused`, async (t) => {
    if (!requirePeer(t, v === '10' ? 'openssh10-ssh' : 'ssh') || !requirePrivateMounts(t)) return;
    const work = await mkdtemp(join(tmpdir(), 'secsh-keysign-'));
    const known = new KnownHosts();
    // ssh names its host by the reverse lookup of its socket's local address: 127.0.0.1 is localhost.
    known.add('localhost', 22, hostKeys.ed25519.publicKey);
    const { server, port, seen } = await startHostbasedServer(known);
    try {
      const ok = await sshWithKeysign(v, work, hostKeys.ed25519, port, 'hello');
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, 'ran:hello');
      const accepted = seen.at(-1);
      assert.equal(accepted?.clientHostname, 'localhost');
      assert.equal(accepted?.clientUsername, user);
      assert.ok(accepted?.key?.equals(hostKeys.ed25519.publicKey));

      const refused = await sshWithKeysign(v, work, stranger, port, 'hello');
      assert.equal(refused.code, 255);
      assert.match(refused.stderr, /Permission denied \(hostbased\)/);
      assert.ok(seen.at(-1)?.key?.equals(stranger.publicKey), 'the stranger key was signed by ssh-keysign and refused');
    } finally {
      await server.close();
      await rm(work, { recursive: true, force: true });
    }
  });
}

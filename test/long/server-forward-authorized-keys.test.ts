/**
 * authorized_keys lines sshd refuses or accepts, decided the same by `secsh server`: expiry-time in
 * the past or the future (UTC and local forms), a malformed expiry-time, a misspelled option, a known
 * flag given a value. Both servers read the same file; OpenSSH's ssh logs in to each with the same key.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generatePrivateKey } from '../../src/keys/index.js';
import { type CliServer, startCliServer } from '../e2e/server-helpers.js';
import { runSsh, type SshTarget, sshArgs } from '../helpers/openssh.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { keygen, type Sshd, startSshd, stopChild } from '../helpers/sshd.js';

let dir = '';
let akPath = '';
let userPub = '';
let sshd: Sshd | undefined;
let cli: CliServer | undefined;
let secshTarget: SshTarget | undefined;
let sshdTarget: SshTarget | undefined;

before(async () => {
  if (!hasPeer('ssh') || !hasPeer('sshd') || !hasPeer('ssh-keygen')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-ak-options-'));
  const keyPath = join(dir, 'id_ed25519');
  await keygen(keyPath, ['-t', 'ed25519']);
  userPub = (await readFile(`${keyPath}.pub`, 'utf8')).trim();
  akPath = join(dir, 'authorized_keys');
  await writeFile(akPath, `${userPub}\n`, { mode: 0o600 });
  sshd = await startSshd({ hostKeyTypes: ['ed25519'], extraConfig: [`AuthorizedKeysFile ${akPath}`] });
  const hostKeyPath = join(dir, 'host_key');
  await writeFile(hostKeyPath, generatePrivateKey('ed25519').toOpenSSH('host'), { mode: 0o600 });
  cli = await startCliServer([
    '--import',
    'tsx',
    'src/cli/main.ts',
    'server',
    '--port',
    '0',
    '--host-key',
    hostKeyPath,
    '--authorized-keys',
    akPath,
  ]);
  const user = userInfo().username;
  secshTarget = { port: cli.port, keyPath, user };
  sshdTarget = { port: sshd.port, keyPath, user };
});

after(async () => {
  if (cli) await stopChild(cli.child);
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** yyyymmdd[hhmm[ss]] of `d` in UTC (utc) or local time. */
function stamp(d: Date, utc: boolean, withTime: boolean): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const [y, mo, da, h, mi, s] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${p(y, 4)}${p(mo)}${p(da)}${withTime ? `${p(h)}${p(mi)}${p(s)}` : ''}${utc ? 'Z' : ''}`;
}

async function loginOk(t: SshTarget): Promise<boolean> {
  const r = await runSsh(sshArgs(t, ['-o', 'BatchMode=yes', '-o', 'PasswordAuthentication=no'], 'true'), {
    timeoutMs: 30_000,
  });
  return r.code === 0;
}

const hourAgo = new Date(Date.now() - 3600_000);
const inADay = new Date(Date.now() + 86400_000);
const cases: { name: string; options: string; accepted: boolean }[] = [
  { name: 'no options', options: '', accepted: true },
  { name: 'expiry-time an hour ago (UTC)', options: `expiry-time="${stamp(hourAgo, true, true)}"`, accepted: false },
  { name: 'expiry-time an hour ago (local)', options: `expiry-time="${stamp(hourAgo, false, true)}"`, accepted: false },
  { name: 'expiry-time yesterday (date only)', options: 'expiry-time="20200101"', accepted: false },
  { name: 'expiry-time tomorrow (UTC)', options: `expiry-time="${stamp(inADay, true, true)}"`, accepted: true },
  { name: 'expiry-time in 2099 (local date)', options: 'expiry-time="20990101"', accepted: true },
  { name: 'malformed expiry-time', options: 'expiry-time="2099-01-01"', accepted: false },
  { name: 'misspelled no-pty (no-pyt)', options: 'no-pyt', accepted: false },
  { name: 'unknown valued option', options: 'permit-open="h:1"', accepted: false },
  { name: 'a flag given a value', options: 'no-pty="yes"', accepted: false },
  { name: 'restrict with every positive flag and user-rc', options: 'restrict,pty,user-rc,no-user-rc', accepted: true },
];

for (const c of cases) {
  test(`authorized_keys "${c.name}": secsh server ${c.accepted ? 'accepts' : 'refuses'} the key, as sshd does`, async (t) => {
    if (!requirePeer(t, 'ssh', 'sshd')) return;
    assert.ok(secshTarget && sshdTarget);
    await writeFile(akPath, `${c.options ? `${c.options} ` : ''}${userPub}\n`, { mode: 0o600 });
    const [bySshd, bySecsh] = [await loginOk(sshdTarget), await loginOk(secshTarget)];
    assert.equal(bySshd, c.accepted, `sshd ${bySshd ? 'accepted' : 'refused'} it`);
    assert.equal(bySecsh, c.accepted, `secsh server ${bySecsh ? 'accepted' : 'refused'} it`);
    if (c.options === 'no-pyt') {
      assert.match(
        cli?.stderr() ?? '',
        /authorized_keys line 1 not used for "[^"]+": bad key options: unsupported option "no-pyt"/,
      );
    }
  });
}

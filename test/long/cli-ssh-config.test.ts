/**
 * `secsh ssh -G` against the real `ssh -G` on the same config files and flags: every keyword both
 * print must agree, value for value and in order. secsh prints the keywords its config reader knows
 * (and those the command line sets); the others ssh prints (gssapi*, canonicalize*, ipqos, …) are omitted.
 * Algorithm lists are compared only where the case sets a full list: by default each prints its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { binPath, requirePeer } from '../helpers/peers.js';

const ALGORITHM_KEYS = ['ciphers', 'macs', 'kexalgorithms', 'hostkeyalgorithms', 'pubkeyacceptedalgorithms'];

interface Case {
  name: string;
  config: string;
  args: string[];
  /** Algorithm keywords the case sets to a full list. */
  algorithms: string[];
}

const CASES: Case[] = [
  {
    name: 'host block with forwards, env, agent, tty and escape',
    config: [
      'Host web',
      '  HostName web.example.com',
      '  Port 2222',
      '  User deploy',
      '  IdentityFile /tmp/k1',
      '  CertificateFile /tmp/k1-cert.pub',
      '  LocalForward 8080 localhost:80',
      '  RemoteForward 9090 localhost:90',
      '  DynamicForward 1080',
      '  SendEnv LANG LC_*',
      '  SetEnv A=1',
      '  ForwardAgent yes',
      '  Compression yes',
      '  ConnectTimeout 5',
      '  ServerAliveInterval 10',
      '  RequestTTY force',
      '  EscapeChar ^]',
      '  Ciphers aes128-ctr,aes256-gcm@openssh.com',
      '  ProxyJump j1,j2',
      '',
    ].join('\n'),
    args: ['web'],
    algorithms: ['ciphers'],
  },
  {
    name: 'command-line flags',
    config: 'Host *\n  Port 2000\n',
    args: [
      '-4',
      '-C',
      '-N',
      '-n',
      '-T',
      '-X',
      '-A',
      '-g',
      '-c',
      'aes256-ctr',
      '-m',
      'hmac-sha2-256',
      '-L',
      '[::1]:80:[::2]:90',
      '-L8080:h:80',
      '-D',
      '127.0.0.1:1081',
      '-R',
      '0:h:22',
      '-J',
      'a,b',
      '-p',
      '2200',
      '-l',
      'me',
      '-q',
      '-e',
      'none',
      '-i',
      '/tmp/idk',
      'h',
    ],
    algorithms: ['ciphers', 'macs'],
  },
  {
    name: '-W clears forwards; -tt and -vv',
    config: 'LocalForward 1 h:2\n',
    args: ['-W', 'h:3', '-tt', '-vv', 'h'],
    algorithms: [],
  },
  {
    name: '-s subsystem',
    config: '',
    args: ['-s', 'h', 'sftp'],
    algorithms: [],
  },
  {
    name: 'keywords set in the file',
    config: [
      'StrictHostKeyChecking accept-new',
      'UserKnownHostsFile none',
      'IdentityAgent none',
      'PasswordAuthentication no',
      'GatewayPorts yes',
      'ExitOnForwardFailure yes',
      'ClearAllForwardings yes',
      'LocalForward 1 h:2',
      'BatchMode yes',
      'RequestTTY no',
      'SessionType none',
      'StdinNull yes',
      'LogLevel VERBOSE',
      'ForwardX11 yes',
      'AddressFamily inet6',
      'ProxyCommand nc %h %p',
      'RekeyLimit 1G 1h',
      'ConnectTimeout 1m',
      'IdentitiesOnly yes',
      'ServerAliveCountMax 9',
      // ssh turns BatchMode's unset ServerAliveInterval into 300 (secsh does not): set it here
      'ServerAliveInterval 45',
      'PreferredAuthentications publickey,password',
      'KexAlgorithms curve25519-sha256',
      'MACs hmac-sha2-512',
      'HostKeyAlgorithms ssh-ed25519',
      'PubkeyAcceptedAlgorithms ssh-ed25519',
      '',
    ].join('\n'),
    args: ['-o', 'User=fromcli', '-o', 'Port=2022', 'plain'],
    algorithms: ['kexalgorithms', 'macs', 'hostkeyalgorithms', 'pubkeyacceptedalgorithms'],
  },
  {
    name: 'ssh:// destination with user and port',
    config: 'Host inner\n  HostName 10.1.2.3\n',
    args: ['ssh://alice@inner:2345'],
    algorithms: [],
  },
];

/** `key value` lines as a map of key → values in order, and the keys in order. */
function parse(text: string): { map: Map<string, string[]>; order: string[] } {
  const map = new Map<string, string[]>();
  const order: string[] = [];
  for (const line of text.split('\n')) {
    const i = line.indexOf(' ');
    if (i <= 0) continue;
    const k = line.slice(0, i);
    if (!map.has(k)) order.push(k);
    map.set(k, [...(map.get(k) ?? []), line.slice(i + 1)]);
  }
  return { map, order };
}

test('secsh ssh -G prints what ssh -G prints for the keywords both know, in its order', async (t) => {
  if (!requirePeer(t, 'ssh')) return;
  const dir = await mkdtemp(join(tmpdir(), 'secsh-ssh-g-'));
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' };
  try {
    const failures: string[] = [];
    for (const [i, c] of CASES.entries()) {
      const file = join(dir, `config${i}`);
      await writeFile(file, c.config);
      const args = ['-G', '-F', file, ...c.args];
      const theirs = spawnSync(binPath('ssh'), args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
      assert.equal(theirs.status, 0, theirs.stderr);
      const ours = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'ssh', ...args], {
        encoding: 'utf8',
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      assert.equal(ours.status, 0, ours.stderr);
      const a = parse(theirs.stdout);
      const b = parse(ours.stdout);
      const extra = b.order.filter((k) => !a.map.has(k));
      if (extra.length) failures.push(`${c.name}: secsh prints keywords ssh does not: ${extra.join(' ')}`);
      const common = b.order.filter((k) => a.map.has(k) && (!ALGORITHM_KEYS.includes(k) || c.algorithms.includes(k)));
      // every case compares a good share of the output
      if (common.length < 25) failures.push(`${c.name}: only ${common.length} keywords compared`);
      const theirOrder = a.order.filter((k) => common.includes(k));
      if (JSON.stringify(theirOrder) !== JSON.stringify(common))
        failures.push(`${c.name}: order differs:\n  ssh   ${theirOrder.join(' ')}\n  secsh ${common.join(' ')}`);
      for (const k of common) {
        const want = JSON.stringify(a.map.get(k));
        const got = JSON.stringify(b.map.get(k));
        if (want !== got) failures.push(`${c.name}: ${k}: ssh ${want} secsh ${got}`);
      }
    }
    assert.deepEqual(failures, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

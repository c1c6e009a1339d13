/**
 * ssh_config evaluation against the real `ssh -G <host> -F <file>`: a corpus of small configs
 * (Host, Match, Include, tokens, first value wins), compared option by option.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  applyAlgorithmEdit,
  expandTokens,
  type ForwardEnd,
  type ResolvedSshConfig,
  resolveSshConfig,
  type SshForward,
} from '../../src/config/ssh-config.js';
import { binPath, requirePeer } from '../helpers/peers.js';

interface Case {
  name: string;
  host: string;
  config: string;
  /** Extra files, relative to the case folder; `@DIR@` in any text is the folder. */
  files?: Record<string, string>;
  user?: string;
  port?: number;
}

const CASES: Case[] = [
  { name: 'empty', host: 'plain', config: '' },
  {
    name: 'hostname and port',
    host: 'web',
    config: 'Host web\n  HostName web.example.com\n  Port 2222\n  User deploy\n',
  },
  {
    name: 'first value wins',
    host: 'a',
    config: 'Host a\n  Port 1000\nHost *\n  Port 2000\n  User star\nHost a\n  User late\n',
  },
  { name: 'wildcards', host: 'db3.prod', config: 'Host db?.prod\n  User dba\nHost *.prod\n  Port 2200\n' },
  { name: 'negation', host: 'bastion.prod', config: 'Host *.prod !bastion.prod\n  User app\nHost *\n  User other\n' },
  { name: 'multiple host patterns', host: 'beta', config: 'Host alpha beta gamma\n  Port 3333\n' },
  { name: 'equals syntax', host: 'eq', config: 'Host=eq\nPort=4444\nUser = equal\n  HostName   =eq.example.org\n' },
  { name: 'case-insensitive keywords', host: 'ck', config: 'HOST ck\n  hostname CK.Example.COM\n  PORT 5555\n' },
  { name: 'hostname token', host: 'short', config: 'Host short\n  HostName %h.internal.example.net\n' },
  {
    name: 'identity files',
    host: 'id',
    config:
      'Host id\n  IdentityFile /tmp/k1\n  IdentityFile /tmp/k2\nHost *\n  IdentityFile /tmp/k3\n  IdentitiesOnly yes\n',
  },
  {
    name: 'identity tokens',
    host: 'tok',
    config:
      'Host tok\n  HostName tok.example.com\n  User bob\n  IdentityFile ~/.ssh/id_%h_%r\n  IdentityFile %d/keys/%u-%p\n  CertificateFile ~/.ssh/%n-cert.pub\n',
  },
  {
    name: 'known hosts tokens',
    host: 'kh',
    config: 'Host kh\n  Port 2022\n  UserKnownHostsFile ~/kh/%h_%p %d/kh2 /abs/%r\n',
  },
  { name: 'known hosts none', host: 'khn', config: 'UserKnownHostsFile none\n' },
  { name: 'strict yes', host: 's1', config: 'StrictHostKeyChecking yes\n' },
  { name: 'strict no', host: 's2', config: 'StrictHostKeyChecking no\n' },
  { name: 'strict off', host: 's3', config: 'StrictHostKeyChecking off\n' },
  { name: 'strict accept-new', host: 's4', config: 'StrictHostKeyChecking accept-new\n' },
  {
    name: 'algorithms replace',
    host: 'al',
    config:
      'Ciphers aes128-ctr,aes256-gcm@openssh.com\nMACs hmac-sha2-512\nKexAlgorithms curve25519-sha256\nHostKeyAlgorithms ssh-ed25519,rsa-sha2-256\n',
  },
  {
    name: 'algorithms edits',
    host: 'ae',
    config:
      'Ciphers +aes256-cbc\nMACs -hmac-sha1*,umac*\nKexAlgorithms ^diffie-hellman-group14-sha256\nPubkeyAcceptedAlgorithms +ssh-rsa\n',
  },
  {
    name: 'pubkey minus wildcard',
    host: 'pm',
    config: 'PubkeyAcceptedAlgorithms -*-cert-v01@openssh.com\nHostKeyAlgorithms -sk-*\n',
  },
  {
    name: 'timeouts and keepalive',
    host: 'to',
    config: 'ConnectTimeout 1m30s\nServerAliveInterval 15\nServerAliveCountMax 5\n',
  },
  { name: 'connect timeout none', host: 'ton', config: 'ConnectTimeout none\nServerAliveInterval 2m\n' },
  { name: 'compression and rekey', host: 'cr', config: 'Compression yes\nRekeyLimit 500M 1h\n' },
  { name: 'rekey default', host: 'rd', config: 'RekeyLimit 2G\n' },
  {
    name: 'auth preferences',
    host: 'ap',
    config: 'PreferredAuthentications publickey,keyboard-interactive\nPasswordAuthentication no\n',
  },
  {
    name: 'env',
    host: 'env',
    config: 'SendEnv LANG LC_*\nSendEnv FOO\nSendEnv -LC_*\nSetEnv A=1 "B=two words"\nHost *\n  SetEnv C=3\n',
  },
  {
    name: 'forwards',
    host: 'fw',
    config:
      'LocalForward 8080 localhost:80\nLocalForward 127.0.0.1:8081 example.com:443\nRemoteForward 9090 localhost:90\nRemoteForward 0.0.0.0:9091 [::1]:91\nDynamicForward 1080\nDynamicForward 127.0.0.1:1081\n',
  },
  { name: 'forward agent', host: 'fa', config: 'Host fa\n  ForwardAgent yes\n  IdentityAgent none\n' },
  { name: 'identity agent path', host: 'ia', config: 'IdentityAgent ~/agent-%h.sock\n' },
  {
    name: 'proxy jump',
    host: 'inner',
    config: 'Host inner\n  HostName 10.0.0.5\n  ProxyJump me@jump.example.com:2200,other\n',
  },
  { name: 'proxy command', host: 'pc', config: 'Host pc\n  ProxyCommand nc -X 5 %h %p\n' },
  {
    name: 'match host',
    host: 'alias',
    config:
      'Host alias\n  HostName real.example.com\nMatch host real.example.com\n  Port 7000\nMatch originalhost alias\n  User orig\n',
  },
  { name: 'match negated', host: 'mh', config: 'Match !host other*\n  Port 7100\n' },
  {
    name: 'match user',
    host: 'mu',
    user: 'carol',
    config: 'Match user carol,dave\n  Port 7200\nMatch user !carol\n  User nope\n',
  },
  { name: 'match user from config', host: 'muc', config: 'User erin\nMatch user erin\n  Port 7300\n' },
  { name: 'match localuser', host: 'ml', config: 'Match localuser root,nobody\n  Port 7400\n' },
  { name: 'match all', host: 'ma', config: 'Match all\n  Compression yes\n' },
  {
    name: 'match final',
    host: 'mf',
    config:
      'Host mf\n  HostName final.example.com\nMatch final host final.example.com\n  Port 7500\nHost final.example.com\n  User finaluser\n',
  },
  {
    name: 'match canonical (no canonicalisation)',
    host: 'mc',
    config: 'Match canonical\n  Port 7600\nMatch !canonical\n  User notcanon\n',
  },
  {
    name: 'include glob',
    host: 'inc',
    config: 'Include @DIR@/conf.d/*.conf\nHost *\n  Port 9999\n',
    files: {
      'conf.d/a.conf': 'Host inc\n  Port 8100\n',
      'conf.d/b.conf': 'Host inc\n  User fromb\n  Port 8200\n',
      'conf.d/c.txt': 'User never\n',
    },
  },
  {
    name: 'include in host block',
    host: 'ih',
    config: 'Host other\n  Include @DIR@/extra\nHost ih\n  Include @DIR@/extra\n',
    files: { extra: 'Port 8300\nUser extra\n' },
  },
  { name: 'include missing', host: 'im', config: 'Include @DIR@/nope/*.conf @DIR@/missing\nPort 8400\n' },
  { name: 'caller user and port win', host: 'cw', user: 'cli', port: 2345, config: 'User cfg\nPort 1111\n' },
  {
    name: 'comments and quotes',
    host: 'cq',
    config:
      '# comment\n\n  # indented comment\nHost "cq"\n  User "quoted" # trailing\n  IdentityFile "/tmp/with space/key"\n',
  },
];

/** Options compared; values as `ssh -G` prints them (multi-valued keys as several lines). */
const KEYS = [
  'hostname',
  'port',
  'user',
  'identityfile',
  'identitiesonly',
  'identityagent',
  'certificatefile',
  'proxyjump',
  'proxycommand',
  'stricthostkeychecking',
  'userknownhostsfile',
  'ciphers',
  'kexalgorithms',
  'macs',
  'hostkeyalgorithms',
  'pubkeyacceptedalgorithms',
  'connecttimeout',
  'serveraliveinterval',
  'serveralivecountmax',
  'compression',
  'rekeylimit',
  'preferredauthentications',
  'passwordauthentication',
  'sendenv',
  'setenv',
  'localforward',
  'remoteforward',
  'dynamicforward',
  'forwardagent',
] as const;

function runSshG(file: string, c: Case): Map<string, string[]> {
  const args = ['-G', '-F', file];
  if (c.user) args.push('-l', c.user);
  if (c.port) args.push('-p', String(c.port));
  args.push(c.host);
  const r = spawnSync(binPath('ssh'), args, {
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: process.env.PATH ?? '' },
  });
  const out = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf(' ');
    if (i <= 0) continue;
    const k = line.slice(0, i);
    const list = out.get(k) ?? [];
    list.push(line.slice(i + 1));
    out.set(k, list);
  }
  assert.ok(out.has('hostname'), `ssh -G failed: ${r.stderr}`);
  return out;
}

function fmtEnd(e: ForwardEnd, bracketBare: boolean): string {
  if (e.path !== undefined) return e.path;
  if (e.host !== undefined && e.host !== '') return `[${e.host}]:${e.port}`;
  return bracketBare ? `[socks]:${e.port}` : String(e.port);
}

function fmtForward(f: SshForward, remote: boolean): string {
  const listen = fmtEnd(f.listen, false);
  if (!f.connect) return remote ? `${listen} [socks]:0` : listen;
  return `${listen} ${fmtEnd(f.connect, false)}`;
}

/** Renders our result as `ssh -G` lines, given ssh's own defaults for the algorithm lists. */
function render(r: ResolvedSshConfig, defaults: Map<string, string[]>): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined) m.set(k, [v]);
  };
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  set('hostname', r.hostname);
  set('port', String(r.port));
  set('user', r.user);
  m.set('identityfile', r.identityFile);
  set('identitiesonly', yn(r.identitiesOnly));
  set('identityagent', r.identityAgent);
  if (r.certificateFile.length) m.set('certificatefile', r.certificateFile);
  set('proxyjump', r.proxyJump?.join(','));
  set('proxycommand', r.proxyCommand);
  set(
    'stricthostkeychecking',
    { yes: 'true', no: 'false', ask: 'ask', 'accept-new': 'accept-new' }[r.strictHostKeyChecking],
  );
  set('userknownhostsfile', r.userKnownHostsFile.length ? r.userKnownHostsFile.join(' ') : 'none');
  const alg = (k: string, v: string | undefined) =>
    set(
      k,
      v === undefined ? defaults.get(k)?.[0] : applyAlgorithmEdit((defaults.get(k)?.[0] ?? '').split(','), v).join(','),
    );
  alg('ciphers', r.ciphers);
  alg('kexalgorithms', r.kexAlgorithms);
  alg('macs', r.macs);
  alg('hostkeyalgorithms', r.hostKeyAlgorithms);
  alg('pubkeyacceptedalgorithms', r.pubkeyAcceptedAlgorithms);
  set('connecttimeout', r.connectTimeout === undefined ? 'none' : String(r.connectTimeout));
  set('serveraliveinterval', String(r.serverAliveInterval));
  set('serveralivecountmax', String(r.serverAliveCountMax));
  set('compression', yn(r.compression));
  set('rekeylimit', `${r.rekeyLimit.bytes} ${r.rekeyLimit.seconds}`);
  set('preferredauthentications', r.preferredAuthentications?.join(','));
  set('passwordauthentication', yn(r.passwordAuthentication));
  if (r.sendEnv.length) m.set('sendenv', r.sendEnv);
  if (r.setEnv.length)
    m.set(
      'setenv',
      r.setEnv.map(([k, v]) => `${k}=${v}`),
    );
  if (r.localForward.length)
    m.set(
      'localforward',
      r.localForward.map((f) => fmtForward(f, false)),
    );
  if (r.remoteForward.length)
    m.set(
      'remoteforward',
      r.remoteForward.map((f) => fmtForward(f, true)),
    );
  if (r.dynamicForward.length)
    m.set(
      'dynamicforward',
      r.dynamicForward.map((f) => fmtForward(f, false)),
    );
  set('forwardagent', typeof r.forwardAgent === 'string' ? r.forwardAgent : yn(r.forwardAgent));
  return m;
}

test('ssh_config: resolveSshConfig agrees with ssh -G on the corpus', (t) => {
  if (!requirePeer(t, 'ssh')) return;
  assert.ok(CASES.length >= 30);
  const root = mkdtempSync(join(tmpdir(), 'secsh-sshg-'));
  try {
    writeFileSync(join(root, 'empty'), '');
    const defaults = runSshG(join(root, 'empty'), { name: 'defaults', host: 'x', config: '' });
    const failures: string[] = [];
    for (const [i, c] of CASES.entries()) {
      const dir = join(root, String(i));
      mkdirSync(dir);
      const sub = (s: string) => s.replaceAll('@DIR@', dir);
      for (const [rel, text] of Object.entries(c.files ?? {})) {
        mkdirSync(join(dir, rel, '..'), { recursive: true });
        writeFileSync(join(dir, rel), sub(text));
      }
      const file = join(dir, 'config');
      writeFileSync(file, sub(c.config));
      const theirs = runSshG(file, c);
      const mine = resolveSshConfig(c.host, {
        path: file,
        ...(c.user ? { user: c.user } : {}),
        ...(c.port ? { port: c.port } : {}),
      });
      const ours = render(mine, defaults);
      // ssh -G prints IdentityFile/CertificateFile before expansion; expand its output with its own values.
      const tokens = {
        h: mine.hostname,
        p: mine.port,
        r: mine.user,
        u: mine.user,
        d: '',
        n: c.host,
        l: '',
        i: 0,
        j: '',
      };
      for (const k of KEYS) {
        let want = theirs.get(k);
        if ((k === 'identityfile' || k === 'certificatefile') && want) {
          const home = (theirs.get('userknownhostsfile')?.[0] ?? '').includes('/root/')
            ? '/root'
            : (process.env.HOME ?? '');
          want = want.map((v) =>
            expandTokens(
              v,
              { ...tokens, d: home, u: (spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout ?? '').trim() },
              k,
            ),
          );
        }
        const got = ours.get(k);
        if (JSON.stringify(want) !== JSON.stringify(got))
          failures.push(`${c.name}: ${k}: ssh ${JSON.stringify(want)} secsh ${JSON.stringify(got)}`);
      }
    }
    assert.deepEqual(failures, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/**
 * Configuration text: known_hosts files (plain, hashed, patterns, negation, [host]:port,
 * @cert-authority, @revoked) parsed and looked up, and ssh_config files (Host, Match, Include, tokens,
 * forwards, algorithm edits, ProxyJump) resolved for a few hosts. Mutated real files must never throw
 * anything but InvalidArgumentError (ssh_config's documented error; known_hosts skips bad lines).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { hashKnownHostsName, KnownHosts, matchPatternList, resolveSshConfig } from '../../src/config/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { bytesFrom, fuzz, only, runs } from './harness.js';

const ed = generatePrivateKey('ed25519').publicKey;
const ec = generatePrivateKey('ecdsa', { bits: 256 }).publicKey;
const line = (hosts: string, k = ed) => `${hosts} ${k.type} ${k.blob.toString('base64')}`;

const knownHostsFiles = [
  [
    line('example.com,192.0.2.1'),
    line('[example.com]:2222', ec),
    line(hashKnownHostsName('hashed.example')),
    line('*.example.org,!bad.example.org'),
    `@cert-authority *.corp ${ed.type} ${ed.blob.toString('base64')} ca`,
    `@revoked * ${ec.type} ${ec.blob.toString('base64')}`,
    '# comment',
    '',
    line('h?st.example'),
  ].join('\n'),
  `${line('a,b,c')}\r\n${line('[::1]:22')}\r\n`,
].map((t) => Buffer.from(t));

test('known_hosts: mutated files parse (bad lines skipped) and look up without throwing', () => {
  fuzz(
    'known_hosts',
    bytesFrom(knownHostsFiles, 600),
    (b) => {
      const kh = new KnownHosts(b.toString('latin1'));
      for (const [h, p] of [
        ['example.com', 22],
        ['example.com', 2222],
        ['hashed.example', 22],
        ['x.example.org', 22],
        ['host.example', 22],
        ['::1', 22],
      ] as const) {
        kh.lookup(h, p, ed);
        kh.lookup(h, p, ec);
        kh.knownKeyTypes(h, p);
      }
      assert.ok(kh.entries.length <= b.length);
    },
    { numRuns: runs(1500, 2), allowed: () => false },
  );
  const kh = new KnownHosts((knownHostsFiles[0] as Buffer).toString());
  assert.equal(kh.lookup('hashed.example', 22, ed).status, 'match');
  assert.equal(kh.lookup('example.com', 2222, ec).status, 'revoked');
});

test('pattern lists: arbitrary patterns and names match in bounded time', () => {
  const patternChar = fc.constantFrom('a', 'b', '*', '?', '!', ',', '.');
  fuzz(
    'pattern list',
    fc.tuple(
      fc.string({ unit: patternChar, maxLength: 200 }),
      fc.string({ unit: fc.constantFrom('a', 'b', '.'), maxLength: 200 }),
    ),
    ([list, name]) => matchPatternList(name, list),
    { numRuns: runs(2000), allowed: () => false, maxMs: 200 },
  );
});

let home = '';
before(() => {
  home = mkdtempSync(join(tmpdir(), 'secsh-fuzz-config-'));
  mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
  writeFileSync(join(home, '.ssh', 'inc.conf'), 'Host inc\n  Port 2200\n  User included\n');
  writeFileSync(join(home, '.ssh', 'conf.d', 'a.conf'), 'Host *\n  ServerAliveInterval 30\n');
});
after(() => rmSync(home, { recursive: true, force: true }));

const sshConfigSeeds = [
  `# user config
Include inc.conf conf.d/*.conf
Host web web.internal !nope
  HostName %h.example.com
  Port 2222
  User deploy
  IdentityFile ~/.ssh/id_%r@%h
  IdentitiesOnly yes
  LocalForward 8080 localhost:80
  RemoteForward [::1]:9000 127.0.0.1:9000
  DynamicForward 1080
  Ciphers +aes128-cbc
  MACs -hmac-sha1
  KexAlgorithms ^curve25519-sha256
  HostKeyAlgorithms ssh-ed25519,rsa-sha2-512
  ServerAliveInterval 15
  ServerAliveCountMax 3
  ConnectTimeout 10s
  RekeyLimit 1G 1h
  StrictHostKeyChecking accept-new
  UserKnownHostsFile ~/.ssh/known_hosts2 "/tmp/with space"
  ProxyJump jump@bastion:22,other
Match host *.internal user deploy
  Compression yes
Match canonical final exec "true" originalhost web
  ForwardAgent no
Host = "quoted host"
  ProxyCommand ssh -W %h:%p gateway
Host *
  SendEnv LANG LC_*
  SetEnv FOO=bar
`,
  'Host a\nHostname=b\nPort=22\nUser "u v"\nCertificateFile %d/.ssh/c\nGlobalKnownHostsFile none\n',
].map((t) => Buffer.from(t));

test('ssh_config: mutated files resolve or throw InvalidArgumentError', () => {
  fuzz(
    'ssh_config',
    fc.tuple(
      bytesFrom(sshConfigSeeds, 800),
      fc.constantFrom('web', 'inc', 'x.internal', 'quoted host'.replace(' ', '')),
      fc.boolean(),
    ),
    ([b, host, withUser]) => {
      resolveSshConfig(host, {
        text: b.toString('latin1'),
        homeDir: home,
        localUser: 'me',
        localHostname: 'here',
        ...(withUser ? { user: 'caller', port: 2022 } : {}),
      });
    },
    { numRuns: runs(1500, 2), allowed: only(InvalidArgumentError) },
  );
  const r = resolveSshConfig('web', {
    text: (sshConfigSeeds[0] as Buffer).toString(),
    homeDir: home,
    localUser: 'me',
    localHostname: 'here',
  });
  assert.equal(r.hostname, 'web.example.com');
  assert.equal(r.port, 2222);
});

test('ssh_config: an Include of a path with a NUL byte, or through a regular file, names no file (was a TypeError / a raw ENOTDIR error)', () => {
  for (const inc of ['Include \0\0c', 'Include inc.conf/x', `Include ${join(home, '.ssh', 'inc.conf')}/y/*.conf`]) {
    const r = resolveSshConfig('inc', {
      text: `${inc}\nHost inc\n  Port 2201\n`,
      homeDir: home,
      localUser: 'me',
      localHostname: 'here',
    });
    assert.equal(r.port, 2201, inc);
  }
});

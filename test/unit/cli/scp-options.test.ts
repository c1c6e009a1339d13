/**
 * `secsh scp`'s command line: operands split as OpenSSH's scp splits them (colon(), scp:// URIs,
 * bracketed IPv6), its flags grouped or not, usage errors with exit 1, and the remote scp command
 * line of the legacy protocol.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOperand, parseScpArgs, remoteColon, ScpCliError } from '../../../src/cli/scp-options.js';
import { parseScpCommand, scpRemoteCommand } from '../../../src/scp/index.js';

test('scp operands: a colon before any slash makes a remote path, as scp decides', () => {
  assert.deepEqual(parseOperand('host:path'), { kind: 'remote', host: 'host', path: 'path' });
  assert.deepEqual(parseOperand('bob@host:/a/b'), { kind: 'remote', user: 'bob', host: 'host', path: '/a/b' });
  assert.deepEqual(parseOperand('host:'), { kind: 'remote', host: 'host', path: '' });
  assert.deepEqual(parseOperand('a@b@host:x'), { kind: 'remote', user: 'a@b', host: 'host', path: 'x' });
  assert.deepEqual(parseOperand('[::1]:/tmp/x'), { kind: 'remote', host: '::1', path: '/tmp/x' });
  assert.deepEqual(parseOperand('u@[fe80::1]:f'), { kind: 'remote', user: 'u', host: 'fe80::1', path: 'f' });
  // Local: a slash first, a leading colon, no colon.
  assert.deepEqual(parseOperand('./a:b'), { kind: 'local', path: './a:b' });
  assert.deepEqual(parseOperand('dir/x:y'), { kind: 'local', path: 'dir/x:y' });
  assert.deepEqual(parseOperand(':name'), { kind: 'local', path: ':name' });
  assert.deepEqual(parseOperand('plain'), { kind: 'local', path: 'plain' });
  assert.equal(remoteColon('/abs:x'), -1);
});

test('scp operands: scp:// URIs with user, port and path', () => {
  assert.deepEqual(parseOperand('scp://bob@host:2222/dir/f'), {
    kind: 'remote',
    user: 'bob',
    host: 'host',
    port: 2222,
    path: 'dir/f',
  });
  assert.deepEqual(parseOperand('scp://host//abs'), { kind: 'remote', host: 'host', path: '/abs' });
  assert.deepEqual(parseOperand('scp://[::1]:22'), { kind: 'remote', host: '::1', port: 22, path: '' });
  assert.throws(() => parseOperand('scp://host:99999/x'), ScpCliError);
  assert.throws(() => parseOperand('@host:x'), ScpCliError);
});

test('scp flags: grouped, with separate or attached values; usage errors exit 1', () => {
  const a = parseScpArgs(['-rpq3', '-P2222', '-i', 'k1', '-ik2', '-o', 'A=b', '-l', '800', '-O', 'src', 'h:dst']);
  assert.equal(a.recursive && a.preserve && a.quiet && a.throughLocal && a.legacy, true);
  assert.equal(a.port, 2222);
  assert.deepEqual(a.identityFiles, ['k1', 'k2']);
  assert.deepEqual(a.options, ['A=b']);
  assert.equal(a.limit, 800);
  assert.deepEqual(a.sources, [{ kind: 'local', path: 'src' }]);
  assert.deepEqual(a.target, { kind: 'remote', host: 'h', path: 'dst' });
  assert.equal(parseScpArgs(['-O', '-s', 'a', 'b']).legacy, false, '-s after -O picks SFTP again');
  assert.deepEqual(parseScpArgs(['--', '-file', 'h:']).sources, [{ kind: 'local', path: '-file' }]);
  for (const bad of [['only-one'], ['-Z', 'a', 'b'], ['-P'], ['-l', 'x', 'a', 'b']]) {
    assert.throws(
      () => parseScpArgs(bad),
      (e: unknown) => e instanceof ScpCliError && e.exitCode === 1 && /usage: scp/.test(e.message),
      bad.join(' '),
    );
  }
});

test('legacy protocol: the remote command as OpenSSH builds it, and the server parses it back', () => {
  const up = scpRemoteCommand({
    direction: 'to',
    paths: ['/tmp/d'],
    recursive: true,
    preserve: true,
    targetIsDirectory: true,
  });
  assert.equal(up, 'scp -r -p -d -t /tmp/d');
  assert.deepEqual(parseScpCommand(up), {
    mode: 't',
    recursive: true,
    preserve: true,
    targetIsDirectory: true,
    paths: ['/tmp/d'],
  });
  assert.equal(scpRemoteCommand({ direction: 'from', paths: ['-x'] }), 'scp -f -- -x');
  assert.deepEqual(parseScpCommand("scp -pf 'a b' c")?.paths, ['a b', 'c']);
  // Not scp's: other programs, shell syntax, two targets, unknown flags — left to other handlers.
  for (const other of ['ls -t x', 'scp -t a; rm -rf /', 'scp -t a b', 'scp -z -t a', 'scp -t', 'scp -f $(id)']) {
    assert.equal(parseScpCommand(other), undefined, other);
  }
});

/** Self-tests of the OpenSSH argv builders and the spawn-and-collect helper. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSsh, runSshRaw, sftpArgs, sshArgs } from './openssh.js';

/** The values given with `-o`, in order. */
function oValues(args: readonly string[]): string[] {
  return args.flatMap((a, i) => (i > 0 && args[i - 1] === '-o' ? [a] : []));
}

test('sshArgs: no host checking by default, strict against a known_hosts file when given', () => {
  const loose = sshArgs({ port: 2222, keyPath: '/k', logLevel: 'ERROR' }, ['-v'], 'true');
  assert.deepEqual(oValues(loose), [
    'StrictHostKeyChecking=no',
    'UserKnownHostsFile=/dev/null',
    'BatchMode=yes',
    'IdentitiesOnly=yes',
    'LogLevel=ERROR',
  ]);
  assert.deepEqual(loose.slice(0, 2), ['-F', 'none']);
  assert.deepEqual(loose.slice(-7), ['-i', '/k', '-p', '2222', '-v', 'tester@127.0.0.1', 'true']);
  const strict = sshArgs({ port: 1, keyPath: '/k', user: 'u', knownHosts: '/kh' });
  assert.deepEqual(oValues(strict), [
    'StrictHostKeyChecking=yes',
    'UserKnownHostsFile=/kh',
    'GlobalKnownHostsFile=/dev/null',
    'BatchMode=yes',
    'IdentitiesOnly=yes',
  ]);
  assert.deepEqual(strict.slice(-5), ['-i', '/k', '-p', '1', 'u@127.0.0.1']);
});

test('sftpArgs: -P for the port, then extra, then batch commands from stdin', () => {
  const a = sftpArgs({ port: 22, keyPath: '/k' }, ['-c', 'aes128-ctr']);
  assert.deepEqual(a.slice(a.indexOf('-P')), ['-P', '22', '-c', 'aes128-ctr', '-b', '-', 'tester@127.0.0.1']);
  assert.ok(!a.includes('-p'));
});

test('runSsh: exit code, stdout and stderr; input to stdin; no input is /dev/null', async () => {
  const r = await runSsh(['-c', 'cat; echo err >&2; exit 3'], { bin: '/bin/sh', input: 'in\n' });
  assert.deepEqual(r, { code: 3, stdout: 'in\n', stderr: 'err\n' });
  const none = await runSsh(['-c', 'cat; echo done'], { bin: '/bin/sh' });
  assert.deepEqual(none, { code: 0, stdout: 'done\n', stderr: '' });
  const raw = await runSshRaw(['-c', 'head -c 3'], {
    bin: '/bin/sh',
    input: (w) => {
      w.write(Buffer.from([0xff, 0x00]));
      w.end(Buffer.from([0x80, 0x41]));
    },
  });
  assert.deepEqual(raw.stdout, Buffer.from([0xff, 0x00, 0x80]));
});

test('runSsh: timeoutMs kills a process that does not exit', async () => {
  const start = Date.now();
  await assert.rejects(
    runSsh(['-c', 'echo hung >&2; exec sleep 10'], { bin: '/bin/sh', timeoutMs: 300 }),
    /within 300 ms/,
  );
  assert.ok(Date.now() - start < 5000);
  await assert.rejects(runSsh([], { bin: '/nonexistent/ssh' }), { code: 'ENOENT' });
});

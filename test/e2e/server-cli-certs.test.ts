/** `secsh server --host-certificate --trusted-user-ca-keys`: certificates both ways through the CLI. */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey, issueCertificate } from '../../src/keys/index.js';

function startCli(args: string[]) {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  p.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (/host certificate .*\n/.test(out)) resolve(out);
    });
    p.once('exit', () => reject(new Error(`exited: ${err}`)));
  });
  return { p, ready, exited, stderr: () => err };
}

test('secsh server CLI presents a host certificate and logs in a user certificate (force-command enforced)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-cli-cert-'));
  const hostCa = generatePrivateKey('ed25519');
  const userCa = generatePrivateKey('ed25519');
  const hostKey = generatePrivateKey('ed25519');
  const user = generatePrivateKey('ed25519');
  try {
    const hostKeyPath = join(dir, 'host_key');
    await writeFile(hostKeyPath, hostKey.toOpenSSH(), { mode: 0o600 });
    const hostCert = await issueCertificate(hostCa, hostKey.publicKey, {
      type: 'host',
      keyId: 'cli-host',
      principals: ['127.0.0.1'],
    });
    await writeFile(`${hostKeyPath}-cert.pub`, `${hostCert.toString()}\n`);
    await writeFile(join(dir, 'user_ca.pub'), `${userCa.publicKey.toString()}\n`);
    const cli = startCli([
      '--host-key',
      hostKeyPath,
      '--host-certificate',
      `${hostKeyPath}-cert.pub`,
      '--trusted-user-ca-keys',
      join(dir, 'user_ca.pub'),
    ]);
    const out = await cli.ready;
    const port = Number(/port (\d+)/.exec(out)?.[1]);
    assert.match(out, /host certificate ssh-ed25519-cert-v01@openssh\.com SHA256:\S+ id "cli-host"/);
    await writeFile(join(dir, 'known_hosts'), `@cert-authority [127.0.0.1]:${port} ${hostCa.publicKey.toString()}\n`);
    const connect = async (criticalOptions: Record<string, string>) => {
      const cert = await issueCertificate(userCa, user.publicKey, {
        type: 'user',
        keyId: 'cli-user',
        principals: ['alice'],
        criticalOptions,
      });
      return Client.connect({
        host: '127.0.0.1',
        port,
        username: 'alice',
        privateKey: user,
        certificate: cert.toString(),
        knownHosts: join(dir, 'known_hosts'),
      });
    };
    try {
      const c = await connect({ 'force-command': 'echo forced' });
      try {
        assert.match(c.algorithms.hostKey, /^ssh-ed25519-cert-v01@openssh\.com$/);
        assert.equal((await c.exec('echo asked')).stdout, 'forced\n');
      } finally {
        await c.close();
      }
      await assert.rejects(connect({ 'source-address': '192.0.2.0/24' }), { code: 'ERR_SSH_AUTH' });
    } finally {
      process.kill(cli.p.pid as number, 'SIGINT'); // not p.kill: Deno then reports code null
      assert.equal(await cli.exited, 0);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('secsh server CLI refuses a host certificate for a key it does not have', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-cli-cert-'));
  try {
    const ca = generatePrivateKey('ed25519');
    const cert = await issueCertificate(ca, generatePrivateKey('ed25519').publicKey, { type: 'host', keyId: 'x' });
    await writeFile(join(dir, 'c-cert.pub'), cert.toString());
    await writeFile(join(dir, 'pw'), 'x\n');
    const cli = startCli(['--password-file', join(dir, 'pw'), '--host-certificate', join(dir, 'c-cert.pub')]);
    cli.ready.catch(() => {});
    assert.equal(await cli.exited, 2);
    assert.match(cli.stderr(), /not one of hostKeys/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Self-tests of the Python peers, driven by the ssh2 package (dev dependency) as a known-good client. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type ConnectConfig, Client as Ssh2Client } from 'ssh2';
import { startAsyncSsh } from './asyncssh.js';
import { requirePeer } from './peers.js';
import { startSshd } from './sshd.js';

function ssh2Exec(cfg: ConnectConfig, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new Ssh2Client();
    c.on('error', reject);
    c.on('ready', () => {
      c.exec(command, (err, stream) => {
        if (err) return reject(err);
        let out = '';
        stream.on('data', (d: Buffer) => {
          out += d.toString();
        });
        stream.on('close', () => {
          c.end();
          resolve(out);
        });
      });
    });
    c.connect({ readyTimeout: 10_000, ...cfg });
  });
}

test('asyncssh peer: password mode accepts alice/secret and rejects a wrong one', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const peer = await startAsyncSsh({ mode: 'password' });
  try {
    assert.match(peer.hostKeyFingerprint, /^SHA256:/);
    const base = { host: peer.host, port: peer.port, username: 'alice', tryKeyboard: false };
    assert.equal(await ssh2Exec({ ...base, password: 'secret' }, 'echo x'), 'ok echo x\n');
    await assert.rejects(ssh2Exec({ ...base, password: 'wrong' }, 'echo x'), /authentication methods failed/);
  } finally {
    await peer.stop();
  }
});

test('asyncssh peer: kbdint mode asks Password (no echo) then Code (echo)', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const peer = await startAsyncSsh({ mode: 'kbdint' });
  try {
    const seen: { prompt: string; echo?: boolean }[] = [];
    const out = await new Promise<string>((resolve, reject) => {
      const c = new Ssh2Client();
      c.on('error', reject);
      c.on('keyboard-interactive', (_n, _i, _l, prompts, finish) => {
        seen.push(...prompts);
        finish(['secret', '123']);
      });
      c.on('ready', () => {
        c.exec('id', (err, s) => {
          if (err) return reject(err);
          let o = '';
          s.on('data', (d: Buffer) => {
            o += d.toString();
          });
          s.on('close', () => {
            c.end();
            resolve(o);
          });
        });
      });
      c.connect({ host: peer.host, port: peer.port, username: 'alice', tryKeyboard: true });
    });
    assert.equal(out, 'ok id\n');
    assert.deepEqual(seen, [
      { prompt: 'Password: ', echo: false },
      { prompt: 'Code: ', echo: true },
    ]);
  } finally {
    await peer.stop();
  }
});

test('paramiko peer: pubkey-then-password needs both steps', async (t) => {
  if (!requirePeer(t, 'paramiko', 'ssh-keygen', 'sshd')) return;
  const sshd = await startSshd({ hostKeyTypes: ['ed25519'] }); // only for its generated user keys
  const peer = await startAsyncSsh({
    mode: 'pubkey-then-password',
    authorizedKeysPath: `${sshd.userKeys.ed25519.privatePath}.pub`,
  });
  try {
    const privateKey = readFileSync(sshd.userKeys.ed25519.privatePath);
    const base = { host: peer.host, port: peer.port, username: 'alice' };
    const steps: ConnectConfig['authHandler'] = ['publickey', 'password'].map((type) =>
      type === 'publickey'
        ? { type: 'publickey', username: 'alice', key: privateKey }
        : { type: 'password', username: 'alice', password: 'secret' },
    ) as ConnectConfig['authHandler'];
    assert.equal(await ssh2Exec({ ...base, authHandler: steps }, 'hostname'), 'ok hostname\n');
    await assert.rejects(ssh2Exec({ ...base, password: 'secret' }, 'hostname'));
    await assert.rejects(ssh2Exec({ ...base, privateKey }, 'hostname'));
  } finally {
    await peer.stop();
    await sshd.stop();
  }
});

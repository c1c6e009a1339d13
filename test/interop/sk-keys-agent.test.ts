/**
 * Client authentication with a security key held by an agent: the agent (here a minimal ssh-agent protocol
 * server in front of the software authenticator, as ssh-agent fronts a token through its sk provider) signs,
 * and the secsh client relays the sk signature blob to sshd unchanged. OpenSSH's own ssh-agent cannot hold
 * an sk key without a token or a provider library, so it is not used here.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AgentClient } from '../../src/agent/client.js';
import { Client } from '../../src/index.js';
import { SshReader, SshWriter } from '../../src/wire/index.js';
import { installTripwire, sharedSshd } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';
import { SoftwareAuthenticator } from '../helpers/sk-authenticator.js';

installTripwire();
const shared = sharedSshd({ hostKeyTypes: ['ed25519'], extraConfig: ['LogLevel DEBUG1'] });
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** An agent holding one sk key: lists it and signs through the authenticator; everything else is FAILURE. */
async function skAgent(a: SoftwareAuthenticator): Promise<{ path: string; signs: number; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-sk-agent-'));
  dirs.push(dir);
  const path = join(dir, 'agent.sock');
  const state = { signs: 0 };
  const reply = (sock: Socket, body: Uint8Array) => {
    sock.write(Buffer.concat([new SshWriter(4).uint32(body.length).toBuffer(), body]));
  };
  const answer = (sock: Socket, msg: Buffer) => {
    const r = new SshReader(msg);
    const type = r.byte();
    if (type === 11) {
      reply(sock, new SshWriter(256).byte(12).uint32(1).string(a.publicKey.blob).string('sk key').toBuffer());
    } else if (type === 13) {
      const blob = r.string();
      const data = r.string();
      r.uint32();
      if (!blob.equals(a.publicKey.blob)) return reply(sock, Buffer.from([5]));
      state.signs++;
      reply(sock, new SshWriter(256).byte(14).string(a.signMessage(data)).toBuffer());
    } else reply(sock, Buffer.from([5]));
  };
  const open = new Set<Socket>();
  const server: NetServer = createServer((sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (buf.length < 4 + len) break;
        answer(sock, buf.subarray(4, 4 + len));
        buf = buf.subarray(4 + len);
      }
    });
    sock.on('error', () => sock.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    get signs() {
      return state.signs;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const sock of open) sock.destroy();
      }),
  };
}

for (const kind of ['ed25519', 'ecdsa'] as const) {
  test(`agent: an ${kind}-sk key listed by the agent logs in to sshd; an untouched signature is refused`, async (t) => {
    if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
    const sshd = await shared.get();
    const a = new SoftwareAuthenticator(kind);
    await writeFile(join(sshd.dir, 'authorized_keys'), `${a.publicKeyLine()}\n`, { mode: 0o600 });
    const agent = await skAgent(a);
    try {
      const agentClient = new AgentClient(agent.path);
      try {
        const ids = await agentClient.list();
        assert.deepEqual(
          ids.map((i) => i.key.type),
          [a.type],
          'the agent client lists the sk key',
        );
      } finally {
        agentClient.close();
      }
      const connect = () =>
        Client.connect({
          host: sshd.host,
          port: sshd.port,
          username: sshd.username,
          agent: agent.path,
          hostVerifier: () => true,
          readyTimeout: 20_000,
        });
      const before = sshd.logs().length;
      const client = await connect();
      try {
        assert.equal((await client.exec('echo sk')).stdout, 'sk\n');
      } finally {
        await client.close();
      }
      await new Promise((r) => setTimeout(r, 100));
      const log = sshd.logs().slice(before);
      assert.match(
        log,
        new RegExp(`Accepted publickey for \\S+ from .* ${a.type.startsWith('sk-ssh') ? 'ED25519-SK' : 'ECDSA-SK'}`),
      );
      assert.match(log, /sk_counter = 1, sk_flags = 0x01/);
      assert.equal(agent.signs, 1);
      a.signFlags = 0;
      await assert.rejects(connect(), (e: Error & { code?: string }) => e.code === 'ERR_SSH_AUTH');
      await new Promise((r) => setTimeout(r, 100));
      assert.match(sshd.logs().slice(before), /user presence \(authenticator touch\) requirement not met/);
    } finally {
      await agent.close();
    }
  });
}

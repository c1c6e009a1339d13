/**
 * tinysshd as a test peer. tinysshd serves one connection on its stdin/stdout (inetd style), so a
 * small node TCP server on a free 127.0.0.1 port spawns `tinysshd -v <keydir>` per connection with the
 * socket as its stdin and stdout (the server never reads the socket itself: pauseOnConnect), inside a
 * mount namespace where the login user exists (tinysshd is key-only: ~/.ssh/authorized_keys, ed25519).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTestUser, type PeerOffer, serverOffer, type TestUser } from './native-peers.js';
import { makeUserKeys, type UserKeys } from './native-peers-server.js';
import { fingerprintOf, stopChild } from './sshd.js';

const run = promisify(execFile);

export const TINYSSHD = '/usr/sbin/tinysshd';
const MAKEKEY = '/usr/sbin/tinysshd-makekey';
const PRINTKEY = '/usr/sbin/tinysshd-printkey';
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

export interface Tinysshd {
  port: number;
  dir: string;
  user: TestUser;
  userKeys: UserKeys;
  /** `SHA256:…` of its ed25519 host key. */
  hostKeyFingerprint: string;
  offer: PeerOffer;
  /** stderr of every tinysshd run so far. */
  logs(): string;
  stop(): Promise<void>;
}

/** Starts the per-connection launcher; tinysshd gets the `sftp` subsystem (OpenSSH's sftp-server). */
export async function startTinysshd(): Promise<Tinysshd> {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-tinysshd-'));
  const children = new Set<ChildProcess>();
  let server: Server | undefined;
  try {
    const user = await makeTestUser(dir);
    const keydir = join(dir, 'sshkeydir');
    await run(MAKEKEY, [keydir]);
    const { stdout: hostLine } = await run(PRINTKEY, [keydir]);
    await writeFile(join(dir, 'host.pub'), hostLine);
    const hostKeyFingerprint = await fingerprintOf(join(dir, 'host.pub'));
    const keys = join(dir, 'keys');
    await mkdir(keys);
    const userKeys = await makeUserKeys(keys);
    await user.authorize([userKeys.ed25519.publicLine]);
    let log = '';
    const srv = createServer({ pauseOnConnect: true }, (sock: Socket) => {
      const [cmd, args] = user.wrap(TINYSSHD, ['-v', '-x', `sftp=${SFTP_SERVER}`, keydir]);
      const child = spawn(cmd, args, { stdio: [sock, sock, 'pipe'] });
      children.add(child);
      child.on('error', (e) => {
        log += `spawn: ${e.message}\n`;
      });
      child.stderr?.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.length > 4_000_000) log = log.slice(-2_000_000);
      });
      child.once('exit', () => children.delete(child));
      sock.destroy(); // the child has its own copy of the descriptor
    });
    server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve());
    });
    srv.unref();
    const addr = srv.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const offer = await serverOffer(port);
    let stopped: Promise<void> | undefined;
    return {
      port,
      dir,
      user,
      userKeys,
      hostKeyFingerprint,
      offer,
      logs: () => log,
      stop: () => {
        stopped ??= (async () => {
          await new Promise<void>((r) => srv.close(() => r()));
          await Promise.all([...children].map((c) => stopChild(c, 1000)));
          await rm(dir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  } catch (e) {
    server?.close();
    await Promise.all([...children].map((c) => stopChild(c, 1000)));
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

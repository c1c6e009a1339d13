/**
 * A secsh Server whose next connection can be cut after its Nth packet (see `cutAfter`), serving
 * exec ('hello', 'cat'), shell, an 'echo' subsystem and SFTP from a scratch directory; and the
 * bookkeeping to run a client scenario against it and check that every promise it made settled.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../src/client/client.js';
import { SshError } from '../../src/errors.js';
import { generatePrivateKey, type PrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import type { SftpClient } from '../../src/sftp/client.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { serveSftp } from '../../src/sftp/server.js';
import { type Cut, type CutMode, cutAfter } from '../helpers/hostile-server.js';

export interface CutServer {
  port: number;
  fingerprint: string;
  /** The key user 'pk' logs in with. */
  userKey: PrivateKey;
  /** Served over SFTP: a.txt (100 bytes), a.bin (64 KiB). */
  root: string;
  /** Client-side scratch: up.bin (64 KiB) to upload; downloads land here. */
  local: string;
  /** The next connection is cut after `n` packets (Infinity: only counted). */
  arm(n: number, mode: CutMode): void;
  /** The cut of the latest connection. */
  readonly cut: Cut | undefined;
  stop(): Promise<void>;
}

function onSession(session: Session, backend: LocalFsBackend): void {
  session.on('exec', (req: { command: string; accept(): void; reject(): void }) => {
    req.accept();
    const ch = session.channel;
    if (req.command === 'cat') {
      ch.on('data', (d: Buffer) => ch.write(d));
      ch.on('end', () => session.exit(0));
      return;
    }
    ch.stderrOut.write('err\n');
    ch.write(`${req.command}-out\n`);
    session.exit(0);
  });
  session.on('shell', (req: { accept(): void }) => {
    req.accept();
    const ch = session.channel;
    ch.write('$ ');
    ch.on('data', (d: Buffer) => ch.write(d));
    ch.on('end', () => session.exit(0));
  });
  session.on('subsystem', (req: { name: string; accept(): void; reject(): void }) => {
    const ch = session.channel;
    if (req.name === 'sftp') {
      req.accept();
      serveSftp(ch, backend).then(
        () => session.exit(0),
        () => session.exit(1),
      );
    } else if (req.name === 'echo') {
      req.accept();
      ch.on('data', (d: Buffer) => ch.write(d));
      ch.on('end', () => session.exit(0));
    } else {
      req.reject();
    }
  });
}

export async function startCutServer(): Promise<CutServer> {
  const root = await mkdtemp(join(tmpdir(), 'secsh-cut-root-'));
  const local = await mkdtemp(join(tmpdir(), 'secsh-cut-local-'));
  await writeFile(join(root, 'a.txt'), 'a'.repeat(100));
  await writeFile(join(root, 'a.bin'), Buffer.alloc(64 * 1024, 0x61));
  await writeFile(join(local, 'up.bin'), Buffer.alloc(64 * 1024, 0x62));
  const backend = new LocalFsBackend(root);
  const hostKey = generatePrivateKey('ed25519');
  const userKey = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [hostKey],
    authMethods: ['publickey', 'keyboard-interactive', 'password'],
    authFailureDelay: 0,
    authenticate: async (ctx) => {
      if (ctx.username === 'u') return ctx.method === 'password' && ctx.password === 'pw';
      if (ctx.username === 'pk') return ctx.method === 'publickey' && !!ctx.key?.equals(userKey.publicKey);
      if (ctx.username === 'kbd' && ctx.method === 'keyboard-interactive') {
        const [a] = await ctx.prompt([{ prompt: 'Password: ', echo: false }]);
        const [b] = await ctx.prompt([{ prompt: 'Code: ', echo: true }]);
        return a === 'pw' && b === '42';
      }
      return false;
    },
  });
  server.on('session', (s: Session) => onSession(s, backend));
  let armed: { n: number; mode: CutMode } = { n: Number.POSITIVE_INFINITY, mode: 'destroy' };
  let cut: Cut | undefined;
  let socket: Socket | undefined;
  server.on('connection', (conn: { transport: Parameters<typeof cutAfter>[0] }) => {
    if (socket) cut = cutAfter(conn.transport, socket, armed.n, armed.mode);
  });
  const sockets = new Set<Socket>();
  const net = createServer({ noDelay: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    socket = sock;
    server.handle(sock);
    socket = undefined;
  });
  await new Promise<void>((r) => net.listen(0, '127.0.0.1', r));
  const addr = net.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    fingerprint: hostKey.publicKey.fingerprint(),
    userKey,
    root,
    local,
    arm(n, mode) {
      armed = { n, mode };
    },
    get cut() {
      return cut;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => net.close(() => r()));
      await rm(root, { recursive: true, force: true });
      await rm(local, { recursive: true, force: true });
    },
  };
}

/** How a scenario logs in: password (one round), publickey (query, PK_OK, signature), keyboard-interactive (two rounds). */
export type Login = 'password' | 'publickey' | 'keyboard-interactive';

export function connectTo(srv: CutServer, login: Login = 'password'): Promise<Client> {
  const creds =
    login === 'password'
      ? { username: 'u', password: 'pw' }
      : login === 'publickey'
        ? { username: 'pk', privateKey: srv.userKey }
        : {
            username: 'kbd',
            onKeyboardInteractive: (req: { prompts: { prompt: string }[] }) =>
              req.prompts.map((p) => (p.prompt.startsWith('Code') ? '42' : 'pw')),
          };
  return Client.connect({
    host: '127.0.0.1',
    port: srv.port,
    ...creds,
    hostKeyFingerprint: srv.fingerprint,
    // The cheapest key exchange: the cases run hundreds of them, and the method does not matter here.
    algorithms: { kex: ['curve25519-sha256'] },
  });
}

/** What a scenario records while it runs. */
export class Tracker {
  readonly promises: { label: string; p: Promise<unknown>; settledAt: number | undefined }[] = [];
  /** Clients the scenario connected (closed at the end of a case; their stats checked). */
  readonly clients: Client[] = [];
  /** SFTP sessions the scenario started (their stats checked). */
  readonly sftps: SftpClient[] = [];
  /** Packets the server had sent when Client.connect resolved. */
  connectedAt: number | undefined;

  /** Records `p` (a promise of the API) and returns it. */
  track<T>(label: string, p: Promise<T>): Promise<T> {
    const rec = { label, p: p as Promise<unknown>, settledAt: undefined as number | undefined };
    const done = () => {
      rec.settledAt = performance.now();
    };
    p.then(done, done);
    this.promises.push(rec);
    return p;
  }
}

/** One failure of the invariant, for the report. */
export interface Violation {
  label: string;
  problem: string;
}

/**
 * Waits until every tracked promise has settled, at most until `deadline` (performance.now()), and
 * lists the violations: a promise still pending, one that settled more than `limitMs` after `cutAt`,
 * one that rejected with anything but a typed SshError (an SshError with a code).
 */
export async function checkSettled(
  t: Tracker,
  cutAt: number | undefined,
  limitMs: number,
  deadline: number,
): Promise<{ violations: Violation[]; rejected: number; codes: string[] }> {
  const violations: Violation[] = [];
  const codes: string[] = [];
  let rejected = 0;
  const left = Math.max(0, deadline - performance.now());
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((r) => {
    timer = setTimeout(r, left);
  });
  await Promise.race([Promise.allSettled(t.promises.map((x) => x.p)), expired]);
  clearTimeout(timer);
  await new Promise((r) => setImmediate(r)); // the settle timestamps' callbacks ran by now
  for (const rec of t.promises) {
    if (rec.settledAt === undefined) {
      violations.push({ label: rec.label, problem: 'still pending' });
      continue;
    }
    if (cutAt !== undefined && rec.settledAt - cutAt > limitMs)
      violations.push({ label: rec.label, problem: `settled ${Math.round(rec.settledAt - cutAt)} ms after the cut` });
    const o = await rec.p.then(
      () => undefined,
      (e: unknown) => ({ e }),
    );
    if (o === undefined) continue;
    rejected++;
    if (!(o.e instanceof SshError) || typeof o.e.code !== 'string' || o.e.code.length === 0) {
      violations.push({ label: rec.label, problem: `rejected with an untyped error: ${String(o.e)}` });
    } else {
      codes.push(o.e.code);
    }
  }
  return { violations, rejected, codes };
}

/**
 * The secsh server the soak test drives, in its own process so that its memory and descriptors are
 * measured alone. Password auth; exec answers `ok <command>` in-process (no child process, so the
 * soak measures secsh, not fork); a shell echoes its input until EOF or close. Prints
 * `{"port":N}` when listening; each `stats` line on stdin is answered with one JSON line of its
 * RSS, JS heap, open descriptors, connections and sessions; stdin EOF stops it.
 */
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import type { ExecRequest, SessionRequestBase } from '../../src/server/session.js';

const server = new Server({
  hostKeys: [generatePrivateKey('ed25519')],
  authMethods: ['password'],
  authenticate: (ctx) => ctx.method === 'password' && ctx.username === 'soak' && ctx.password === 'soak',
  maxUnauthenticated: 2000,
});
let sessions = 0;
let sessionsEver = 0;
server.on('session', (session) => {
  sessions++;
  sessionsEver++;
  session.once('close', () => sessions--);
  session.on('exec', (req: ExecRequest) => {
    req.accept();
    session.channel.end(`ok ${req.command}\n`);
    session.exit(0);
  });
  session.on('shell', (req: SessionRequestBase) => {
    req.accept();
    session.channel.pipe(session.channel);
  });
});

const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port })}\n`);

const gc = (globalThis as { gc?: () => void }).gc;
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() !== 'stats') return;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      fds: readdirSync('/proc/self/fd').length,
      connections: server.connectionCount,
      sessions,
      sessionsEver,
    })}\n`,
  );
});
rl.on('close', () => {
  void server.close().then(() => process.exit(0));
});

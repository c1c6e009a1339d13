/**
 * An SSH server: password and public-key logins, commands and shells run as local processes (as the
 * user running this script), and SFTP confined to one folder. Runs until Ctrl-C.
 *
 *   SERVER_PASSWORD=secret AUTHORIZED_KEYS=$HOME/.ssh/authorized_keys SFTP_ROOT=/tmp/share \
 *     PORT=2222 npx tsx examples/server.ts
 *   ssh -p 2222 $USER@127.0.0.1 uname -a;  sftp -P 2222 $USER@127.0.0.1
 *
 * PORT (default 2222; 0 picks a free port), LISTEN (default 127.0.0.1), SERVER_USER (the one user
 * name accepted; default yours), SERVER_PASSWORD (unset: no password logins), AUTHORIZED_KEYS (an
 * authorized_keys file), SFTP_ROOT (default the current folder), HOST_KEY (an OpenSSH private key
 * file; unset: a new ed25519 key for this run, so its fingerprint changes each time).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import {
  generatePrivateKey,
  LocalFsBackend,
  localProcessHandler,
  parseAuthorizedKeys,
  parsePrivateKey,
  Server,
  sftpSubsystemHandler,
} from 'secsh';

const env = process.env;
const user = env.SERVER_USER ?? userInfo().username;
const hostKey = env.HOST_KEY ? parsePrivateKey(await readFile(env.HOST_KEY)) : generatePrivateKey('ed25519');
const authorized = env.AUTHORIZED_KEYS ? parseAuthorizedKeys(await readFile(env.AUTHORIZED_KEYS, 'utf8')) : [];
const digest = (s: string) => createHash('sha256').update(s).digest();
const password = env.SERVER_PASSWORD === undefined ? undefined : digest(env.SERVER_PASSWORD);

const server = new Server({
  hostKeys: [hostKey],
  authMethods: password ? ['publickey', 'password'] : ['publickey'],
  authenticate: (ctx) => {
    if (ctx.username !== user) return false;
    if (ctx.method === 'publickey') {
      // Asked twice: first "would you take this key?" (ctx.signed false), then with the signature
      // checked (ctx.signed true). Only the second lets anyone in.
      const key = ctx.key;
      return key !== undefined && authorized.some((a) => a.key.equals(key));
    }
    if (ctx.method === 'password' && password && ctx.password !== undefined) {
      return timingSafeEqual(digest(ctx.password), password); // same time whatever the guess
    }
    return false;
  },
});
// SFTP from SFTP_ROOT only: `..`, absolute paths and symlinks cannot leave it.
server.on('session', sftpSubsystemHandler(new LocalFsBackend(env.SFTP_ROOT ?? process.cwd())));
// exec and shell as local processes (a pty through script(1) when the client asks for one).
server.on('session', localProcessHandler());
server.on('auth', (a) => {
  if (a.method !== 'none' && a.result !== 'pk-ok')
    console.log(`auth: ${a.username} ${a.method} ${a.result} from ${a.remoteAddress}`);
});

const { address, port } = await server.listen({ host: env.LISTEN ?? '127.0.0.1', port: Number(env.PORT ?? 2222) });
console.log(`listening on ${address}:${port}`);
console.log(`host key ${hostKey.publicKey.fingerprint()}`);

const stop = async () => {
  await server.close(); // stops listening and disconnects everyone
  console.log('stopped');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

/**
 * `secsh server`: a small sshd for development and tests. Runs commands as the current user.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { authorizedKeyOptionsRefusal, normaliseMappedAddress } from '../auth/restrictions.js';
import type { AuthContext, AuthMethod, Certificate, PrivateKey, PublicKey, Session } from '../index.js';
import {
  authorizedKeyFromAllows,
  authorizedKeyRestrictions,
  generatePrivateKey,
  LocalFsBackend,
  localProcessHandler,
  parseAuthorizedKeys,
  parseCertificate,
  parsePrivateKey,
  parsePublicKey,
  Server,
  scpExecHandler,
  serveSftp,
} from '../index.js';
import type { Command } from './command.js';
import { expandUserPath, loadSshdSettings, parseListenAddress, type SshdSettings } from './sshd-config.js';

const HELP = `usage: secsh server [options]

  --port N               port to listen on (default 2222; 0 picks a free port)
  --host ADDR            address to bind (default 127.0.0.1)
  --host-key FILE        OpenSSH private host key; generated (ed25519) and kept if absent
                         (default: an in-memory key for this run). Repeat for several keys.
  --host-certificate FILE
                         OpenSSH host certificate (-cert.pub) for one of the host keys, presented
                         to clients that trust its CA (@cert-authority). Repeatable.
  --authorized-keys FILE public keys allowed to log in (authorized_keys format)
  --password-file FILE   lines of 'user:password' (or just 'password' for any user)
  --trusted-user-ca-keys FILE
                         CA public keys (one a line) whose user certificates log in users listed
                         as principals; source-address and force-command are enforced
  --user NAME            only this user name may log in (default: any name)
  --banner TEXT          pre-authentication banner
  --sftp-root DIR        directory the sftp subsystem (and scp -t/-f, the legacy scp protocol)
                         serves, confined to it (default: / , starting in your home directory,
                         like sshd)
  --sftp-read-only       sftp and scp refuse every modification
  --no-sftp              no sftp subsystem (scp -t/-f then run the scp program, if any)
  -o Keyword=value       an sshd_config keyword (repeatable; the first value of a keyword wins,
                         -o before -f): AllowTcpForwarding, AllowStreamLocalForwarding,
                         AllowAgentForwarding, X11Forwarding, GatewayPorts, PermitOpen, PermitListen,
                         StreamLocalBindMask, StreamLocalBindUnlink, DisableForwarding, Port,
                         ListenAddress, HostKey, HostCertificate, AuthorizedKeysFile,
                         TrustedUserCAKeys, Banner (a file), MaxAuthTries, MaxSessions, MaxStartups,
                         LoginGraceTime, ClientAliveInterval, ClientAliveCountMax, KexAlgorithms,
                         Ciphers, MACs, HostKeyAlgorithms, PubkeyAuthentication, PubkeyAuthOptions,
                         PasswordAuthentication, KbdInteractiveAuthentication, X11DisplayOffset,
                         XAuthLocation. Unknown keywords, Match and Include are errors (exit 255).
  -f FILE                an sshd_config file with those keywords
  --quiet                no connection log
  -h, --help             this text

Commands run as the user running secsh. At least one of --authorized-keys, --password-file and
--trusted-user-ca-keys (or AuthorizedKeysFile / TrustedUserCAKeys) is required. Flags win over
keywords. Defaults are sshd's: TCP, Unix-socket and agent forwarding allowed, GatewayPorts no,
X11Forwarding no. authorized_keys options are applied as sshd does: from=, command=, restrict,
no-pty, no-agent-forwarding, no-port-forwarding, no-X11-forwarding (and their positive forms),
permitopen= and permitlisten=.
`;

/** Reads an authorized_keys file: one key per line, options before the key type are skipped. */
export function readAuthorizedKeys(text: string): PublicKey[] {
  const keys: PublicKey[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const m = /(?:^|\s)((?:ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa|ssh-dss)\s+[A-Za-z0-9+/]+={0,2}(?:\s.*)?)$/.exec(
      line,
    );
    if (!m?.[1]) continue;
    try {
      keys.push(parsePublicKey(m[1]));
    } catch {
      // unsupported or malformed line: ignored, like sshd
    }
  }
  return keys;
}

/** Reads a password file: `user:password` lines, or a bare `password` for any user. */
export function readPasswords(text: string): { user: string | undefined; digest: Buffer }[] {
  const out: { user: string | undefined; digest: Buffer }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.length === 0 || raw.startsWith('#')) continue;
    const i = raw.indexOf(':');
    const user = i >= 0 ? raw.slice(0, i) : undefined;
    const pw = i >= 0 ? raw.slice(i + 1) : raw;
    out.push({ user, digest: createHash('sha256').update(pw).digest() });
  }
  return out;
}

/** The IP of `ip:port` / `[v6]:port` (AuthContext.remoteAddress), `::ffff:a.b.c.d` as `a.b.c.d`. */
function clientIp(remote: string | undefined): string | undefined {
  if (remote === undefined) return undefined;
  const b = /^\[([^\]]+)\]:\d+$/.exec(remote);
  if (b) return normaliseMappedAddress(b[1] as string);
  const m = /^([^:]+):\d+$/.exec(remote);
  return normaliseMappedAddress(m ? (m[1] as string) : remote);
}

function loadHostKey(path: string, log: (m: string) => void): PrivateKey {
  if (existsSync(path)) return parsePrivateKey(readFileSync(path));
  const key = generatePrivateKey('ed25519');
  writeFileSync(path, key.toOpenSSH('secsh-server host key'), { mode: 0o600, flag: 'wx' });
  log(`generated host key ${path}`);
  return key;
}

async function run(args: string[]): Promise<number> {
  let v: ReturnType<typeof parse>['values'];
  try {
    v = parse(args).values;
  } catch (e) {
    process.stderr.write(`secsh server: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let cfg: SshdSettings;
  try {
    cfg = await loadSshdSettings(v.option ?? [], v.config);
  } catch (e) {
    // As sshd: one line naming the problem, exit 255.
    process.stderr.write(`secsh server: ${(e as Error).message}\n`);
    return 255;
  }
  for (const w of cfg.warnings) process.stderr.write(`secsh server: ${w}\n`);
  const quiet = v.quiet === true;
  const log = (m: string) => {
    if (!quiet) process.stderr.write(`${new Date().toISOString()} ${m}\n`);
  };
  const authorizedPath =
    v['authorized-keys'] ?? (cfg.authorizedKeysFile === undefined ? undefined : expandUserPath(cfg.authorizedKeysFile));
  const caPath =
    v['trusted-user-ca-keys'] ??
    (cfg.trustedUserCAKeys === undefined ? undefined : expandUserPath(cfg.trustedUserCAKeys));
  if (!authorizedPath && !v['password-file'] && !caPath) {
    process.stderr.write(
      `secsh server: give --authorized-keys, --password-file and/or --trusted-user-ca-keys\n${HELP}`,
    );
    return 2;
  }
  const listen = cfg.listenAddresses[0] === undefined ? undefined : parseListenAddress(cfg.listenAddresses[0]);
  const port = v.port === undefined ? (listen?.port ?? cfg.ports[0] ?? 2222) : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('secsh server: --port must be 0..65535\n');
    return 2;
  }
  const hostKeyPaths = v['host-key']?.length ? v['host-key'] : cfg.hostKeys;
  const hostKeys = hostKeyPaths.length ? hostKeyPaths.map((p) => loadHostKey(p, log)) : [generatePrivateKey('ed25519')];
  let hostCertificates: Certificate[];
  let userCAs: PublicKey[] = [];
  let banner = v.banner === undefined ? undefined : `${v.banner}\n`;
  try {
    const certPaths = v['host-certificate']?.length ? v['host-certificate'] : cfg.hostCertificates;
    hostCertificates = certPaths.map((p) => parseCertificate(readFileSync(p, 'utf8')));
    if (caPath) {
      userCAs = readAuthorizedKeys(readFileSync(caPath, 'utf8'));
      if (userCAs.length === 0) throw new Error(`no CA keys in ${caPath}`);
    }
    if (banner === undefined && cfg.banner !== undefined) banner = readFileSync(cfg.banner, 'utf8');
  } catch (e) {
    process.stderr.write(`secsh server: ${(e as Error).message}\n`);
    return 2;
  }
  const passwordPath = v['password-file'];
  const onlyUser = v.user;
  // Files read on each attempt must be readable now: a typo would otherwise start a server nobody can log in to.
  for (const [flag, path] of [
    ['--authorized-keys', authorizedPath],
    ['--password-file', passwordPath],
  ] as const) {
    if (path === undefined) continue;
    try {
      await readFile(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
      process.stderr.write(`secsh server: cannot read ${flag} ${path}: ${why}\n`);
      return 2;
    }
  }

  const methods: AuthMethod[] = [];
  if ((authorizedPath || userCAs.length > 0) && cfg.pubkeyAuthentication) methods.push('publickey');
  if (passwordPath && cfg.kbdInteractiveAuthentication) methods.push('keyboard-interactive');
  if (passwordPath && cfg.passwordAuthentication) methods.push('password');

  // The files are re-read on each attempt (edits take effect at once), asynchronously: an attempt is
  // a client's message, and must not block the server.
  const checkPassword = async (user: string, pw: string): Promise<boolean> => {
    if (!passwordPath) return false;
    const entries = readPasswords(await readFile(passwordPath, 'utf8'));
    const d = createHash('sha256').update(pw).digest();
    let ok = false;
    for (const e of entries) {
      // Compare every entry, in constant time each, so timing does not depend on which matched.
      const match = timingSafeEqual(e.digest, d) && (e.user === undefined || e.user === user);
      ok = ok || match;
    }
    return ok;
  };

  const authenticate = async (ctx: AuthContext) => {
    if (onlyUser !== undefined && ctx.username !== onlyUser) return false;
    // Verified by the server for this user name, CA, validity and critical options.
    if (ctx.method === 'publickey' && ctx.certificate) return true;
    if (ctx.method === 'publickey' && ctx.key && authorizedPath) {
      // Re-read on each attempt, like sshd, so edits take effect at once. The first line of this key
      // whose from= admits the client decides, its options limiting the login (no-pty, permitopen=, …).
      const key = ctx.key;
      const ip = clientIp(ctx.remoteAddress);
      // As sshd, a line with options it does not know, or whose expiry-time has passed, is not used.
      const entry = parseAuthorizedKeys(await readFile(authorizedPath, 'utf8')).find((e) => {
        if (!e.key.equals(key) || e.options.some((o) => o.name === 'cert-authority')) return false;
        const refusal = authorizedKeyOptionsRefusal(e.options);
        if (refusal !== undefined) {
          log(`authorized_keys line ${e.line} not used for ${JSON.stringify(ctx.username)}: ${refusal}`);
          return false;
        }
        return authorizedKeyFromAllows(e.options, ip);
      });
      if (!entry) return false;
      const restrict = authorizedKeyRestrictions(entry.options);
      return Object.keys(restrict).length > 0 ? { accept: true as const, restrict } : true;
    }
    if (ctx.method === 'password' && ctx.password !== undefined) {
      if (ctx.newPassword !== undefined) return false;
      return checkPassword(ctx.username, ctx.password);
    }
    if (ctx.method === 'keyboard-interactive' && passwordPath) {
      const [answer] = await ctx.prompt([{ prompt: 'Password: ', echo: false }]);
      return checkPassword(ctx.username, answer ?? '');
    }
    return false;
  };

  let server: Server;
  try {
    server = new Server({
      hostKeys,
      hostCertificates,
      ...(userCAs.length > 0 ? { trustedUserCAKeys: userCAs } : {}),
      securityKeys: cfg.pubkeyAuthOptions,
      authenticate,
      authMethods: methods,
      ...(banner !== undefined ? { banner } : {}),
      ...(cfg.maxAuthTries !== undefined ? { maxAuthTries: cfg.maxAuthTries } : {}),
      ...(cfg.maxSessions !== undefined ? { maxSessions: cfg.maxSessions } : {}),
      ...(cfg.maxStartups !== undefined ? { maxUnauthenticated: cfg.maxStartups } : {}),
      ...(cfg.loginGraceTime !== undefined ? { loginGraceTime: cfg.loginGraceTime } : {}),
      ...(cfg.clientAliveInterval !== undefined ? { keepaliveInterval: cfg.clientAliveInterval } : {}),
      ...(cfg.clientAliveCountMax !== undefined ? { keepaliveCountMax: cfg.clientAliveCountMax } : {}),
      algorithms: cfg.algorithms,
      forwarding: cfg.forwarding,
    });
  } catch (e) {
    process.stderr.write(`secsh server: ${(e as Error).message}\n`);
    return 2;
  }
  const subsystems: Record<string, (session: Session) => void> = {};
  if (!v['no-sftp']) {
    const root = resolve(v['sftp-root'] ?? '/');
    // Start in the home directory when it lies under the root, like sshd's sftp-server.
    const rel = relative(root, homedir());
    const cwd = rel.startsWith('..') || resolve(root, rel) !== homedir() ? '/' : `/${rel.split(sep).join('/')}`;
    const backend = new LocalFsBackend(root, { readOnly: v['sftp-read-only'] === true, cwd });
    subsystems.sftp = (session) => {
      log(`sftp for ${session.username}`);
      const exit = (code: number) => {
        try {
          session.exit(code);
        } catch {
          // channel already closed
        }
      };
      serveSftp(session.channel, backend, { endStream: false }).then(
        () => exit(0),
        () => exit(1),
      );
    };
    // scp -t / scp -f (scp -O) are answered from the same files, before a local process could take them.
    server.on('session', scpExecHandler(backend));
  }
  server.on(
    'session',
    localProcessHandler({
      subsystems,
      agentForwarding: cfg.agentForwarding,
      x11Forwarding: cfg.x11Forwarding
        ? {
            ...(cfg.x11DisplayOffset !== undefined ? { displayOffset: cfg.x11DisplayOffset } : {}),
            ...(cfg.xauthLocation !== undefined ? { xauthPath: cfg.xauthLocation } : {}),
          }
        : false,
    }),
  );
  server.on('connection', (conn) => {
    log(`connection from ${conn.remoteAddress ?? '?'}`);
    conn.on('close', (err?: Error) => log(`closed ${conn.remoteAddress ?? '?'}${err ? `: ${err.message}` : ''}`));
  });
  server.on('auth', (a) => {
    if (a.result === 'pk-ok') return;
    const key = a.fingerprint ? ` key ${a.fingerprint}` : '';
    log(`auth ${a.result} for ${JSON.stringify(a.username)} method ${a.method}${key} from ${a.remoteAddress ?? '?'}`);
  });
  server.on('session', (session, conn) => {
    session.on('exec', (req: { command: string }) => log(`exec for ${conn.username}: ${JSON.stringify(req.command)}`));
    session.on('shell', () => log(`shell for ${conn.username}`));
  });

  let addr: Awaited<ReturnType<Server['listen']>>;
  try {
    addr = await server.listen({ port, host: v.host ?? listen?.host ?? '127.0.0.1' });
  } catch (e) {
    process.stderr.write(`secsh server: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`secsh server listening on ${addr.address} port ${addr.port}\n`);
  for (const k of server.hostKeys) process.stdout.write(`host key ${k.publicKey.type} ${k.publicKey.fingerprint()}\n`);
  for (const c of server.hostCertificates) {
    process.stdout.write(`host certificate ${c.certType} ${c.publicKey.fingerprint()} id ${JSON.stringify(c.keyId)}\n`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      log(`${sig}: stopping`);
      // Whatever still holds the event loop (a lingering child, a half-closed socket) must not keep us up.
      const exitSoon = (code: number) => {
        setTimeout(() => process.exit(code), 300).unref();
        resolve(code);
      };
      server.close().then(
        () => exitSoon(0),
        () => exitSoon(1),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'host-key': { type: 'string', multiple: true },
      'host-certificate': { type: 'string', multiple: true },
      'authorized-keys': { type: 'string' },
      'trusted-user-ca-keys': { type: 'string' },
      'password-file': { type: 'string' },
      user: { type: 'string' },
      banner: { type: 'string' },
      'sftp-root': { type: 'string' },
      'sftp-read-only': { type: 'boolean' },
      'no-sftp': { type: 'boolean' },
      option: { type: 'string', short: 'o', multiple: true },
      config: { type: 'string', short: 'f' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

/** The `server` subcommand. */
export const serverCommand: Command = { summary: 'run a small SSH server (commands run as you)', run };

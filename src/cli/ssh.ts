/**
 * `secsh ssh`: OpenSSH's ssh — flags (ssh-options.ts), `-G` (ssh-config-print.ts), forwards
 * (ssh-forwards.ts) and the session (ssh-session.ts). Exit status: the remote command's, else 255.
 */
import type { Command } from './command.js';
import type { SshOptions } from './ssh-options.js';
import { parseEscapeChar, parseSshArgs, SSH_USAGE, SshUsageError } from './ssh-options.js';
import { packageVersion } from './version.js';

/** The -o lines the flags stand for, ahead of the user's -o lines (ssh's command line wins over files). */
function flagOptions(o: SshOptions): string[] {
  const out: string[] = [];
  for (const f of o.identityFiles) out.push(`IdentityFile ${f}`);
  if (o.compression) out.push('Compression yes');
  if (o.ciphers !== undefined) out.push(`Ciphers ${o.ciphers}`);
  if (o.macs !== undefined) out.push(`MACs ${o.macs}`);
  if (o.forwardAgent !== undefined) out.push(`ForwardAgent ${o.forwardAgent ? 'yes' : 'no'}`);
  if (o.gatewayPorts) out.push('GatewayPorts yes');
  if (o.jump !== undefined) out.push(`ProxyJump ${o.jump}`);
  if (o.stdioForward !== undefined) out.push('ClearAllForwardings yes', 'ExitOnForwardFailure yes');
  return out;
}

function isYes(v: string | undefined): boolean {
  return v !== undefined && /^(yes|true)$/i.test(v);
}

/** `-Q`: the algorithms secsh supports, one a line, as ssh -Q lists its own. */
async function query(what: string): Promise<number> {
  const { CERTIFICATE_HOST_KEY_ALGORITHMS, supportedAlgorithms } = await import('../index.js');
  const keys = supportedAlgorithms('hostKey');
  // key types (what -Q key lists), not signature algorithms: rsa-sha2-* sign with ssh-rsa keys
  const certs = [...new Set(CERTIFICATE_HOST_KEY_ALGORITHMS.map((c) => c.replace(/^rsa-sha2-\d+-/, 'ssh-rsa-')))];
  const ciphers = supportedAlgorithms('cipher');
  const lists: Record<string, string[]> = {
    cipher: ciphers,
    'cipher-auth': ciphers.filter((c) => /gcm|chacha20-poly1305/.test(c)),
    compression: supportedAlgorithms('compression'),
    kex: supportedAlgorithms('kex'),
    key: [...keys.filter((k) => !k.startsWith('rsa-sha2-')), ...certs],
    'key-plain': keys.filter((k) => !k.startsWith('rsa-sha2-')),
    'key-cert': certs,
    'key-sig': [...keys, ...CERTIFICATE_HOST_KEY_ALGORITHMS],
    sig: keys,
    mac: supportedAlgorithms('mac'),
    'protocol-version': ['2'],
  };
  if (what === 'help') {
    process.stdout.write(`${Object.keys(lists).sort().join('\n')}\n`);
    return 0;
  }
  const list = lists[what.toLowerCase()];
  if (!list) {
    process.stderr.write(`Unsupported query "${what}"\n`);
    return 255;
  }
  process.stdout.write(`${list.join('\n')}\n`);
  return 0;
}

async function run(args: string[]): Promise<number> {
  if (args[0] === '--help') {
    process.stderr.write(SSH_USAGE);
    return 0;
  }
  let o: SshOptions;
  try {
    o = parseSshArgs(args);
  } catch (e) {
    if (e instanceof SshUsageError) {
      process.stderr.write(e.message.endsWith('\n') ? e.message : `${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
  if (o.version) {
    process.stderr.write(
      `secsh_${await packageVersion()}, Node.js ${process.version}, OpenSSL ${process.versions.openssl}\n`,
    );
    return 0;
  }
  if (o.query !== undefined) return query(o.query);
  if (o.destination === undefined) {
    process.stderr.write(SSH_USAGE);
    return 255;
  }
  if (o.subsystem && o.command.length === 0) {
    process.stderr.write(`You must specify a subsystem to invoke.\n${SSH_USAGE}`);
    return 255;
  }
  if (o.subsystem && (o.noCommand || o.stdioForward !== undefined)) {
    process.stderr.write('Cannot specify -s with -N/SessionType\n');
    return 255;
  }
  const { CliError, parseDestination, reportError } = await import('./connect.js');
  // ssh drops an -i file it cannot stat, with a warning, and uses the others (or the defaults)
  const { access } = await import('node:fs/promises');
  const kept: string[] = [];
  for (const f of o.identityFiles) {
    const path = f.startsWith('~/') ? `${process.env.HOME ?? ''}${f.slice(1)}` : f;
    try {
      await access(path);
      kept.push(f);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : code;
      process.stderr.write(`Warning: Identity file ${f} not accessible: ${why}.\n`);
    }
  }
  o.identityFiles = kept;
  try {
    const dest = parseDestination(o.destination);
    const user = o.user ?? dest.user;
    const port = o.port ?? dest.port;
    const options = [...flagOptions(o), ...o.options];
    const { ForwardSet } = await import('./ssh-forwards.js');
    const fwdSpecs = [
      ...o.localForwards.map((spec) => ({ kind: 'L' as const, spec })),
      ...o.remoteForwards.map((spec) => ({ kind: 'R' as const, spec })),
      ...o.dynamicForwards.map((spec) => ({ kind: 'D' as const, spec })),
    ];
    const parsedForwards = fwdSpecs.map((f) => ({ ...f, parsed: ForwardSet.parse(f.kind, f.spec) }));
    let stdioTarget: { host?: string; port?: number; path?: string } | undefined;
    if (o.stdioForward !== undefined) {
      const { parseForwardSpec } = await import('./ssh-options.js');
      const w = parseForwardSpec(o.stdioForward, 'D');
      const path = o.stdioForward.includes('/') && !o.stdioForward.includes(':') ? o.stdioForward : undefined;
      if (path !== undefined) stdioTarget = { path };
      else if (w?.listen.host) stdioTarget = { host: w.listen.host, port: w.listen.port as number };
      else throw new CliError(`Bad stdio forwarding specification '${o.stdioForward}'`);
    }
    const { resolveSshConfig } = await import('../index.js');
    const configPath = o.configFile === 'none' ? undefined : o.configFile;
    const resolved = resolveSshConfig(dest.host, {
      ...(o.configFile === 'none' ? { text: '' } : configPath !== undefined ? { path: configPath } : {}),
      ...(user !== undefined ? { user } : {}),
      ...(port !== undefined ? { port } : {}),
      options,
      ...(o.configFile === undefined ? { systemPath: true } : {}),
    });
    if (o.printConfig) {
      const { formatSshConfig } = await import('./ssh-config-print.js');
      const toSsh = (kind: 'L' | 'R' | 'D') =>
        parsedForwards
          .filter((f) => f.kind === kind)
          .map((f) => ({ listen: f.parsed.listen, ...(f.parsed.connect ? { connect: f.parsed.connect } : {}) }));
      process.stdout.write(
        formatSshConfig(resolved, {
          opts: o,
          cliForwards: { local: toSsh('L'), remote: toSsh('R'), dynamic: toSsh('D') },
        }),
      );
      return 0;
    }
    if (o.fork) throw new CliError('secsh ssh: -f is not supported');

    // What kind of session, and whether it gets a pty (ssh.c's rules).
    const { otherValue, requestTtyMode } = await import('./ssh-config-print.js');
    const cfg = (k: string) => otherValue(resolved, k);
    const quiet = o.quiet || /^(quiet|fatal|error)$/i.test(cfg('LogLevel') ?? '');
    const noSession = o.noCommand || o.stdioForward !== undefined || /^none$/i.test(cfg('SessionType') ?? '');
    const stdinNull = o.stdinNull || isYes(cfg('StdinNull'));
    const mode = requestTtyMode(o, resolved);
    let pty =
      !noSession && (mode === 'force' || mode === 'yes' || (mode === 'auto' && o.command.length === 0 && !o.subsystem));
    if (pty && (!process.stdin.isTTY || stdinNull) && mode !== 'force') {
      if (!quiet) process.stderr.write('Pseudo-terminal will not be allocated because stdin is not a terminal.\r\n');
      pty = false;
    }
    const escapeText = o.escapeChar ?? cfg('EscapeChar') ?? '~';
    const escapeChar = parseEscapeChar(escapeText);
    if (escapeChar === undefined) throw new CliError(`Bad escape character '${escapeText}'.`);

    const { connectCli } = await import('./connect.js');
    const { client, log } = await connectCli({
      program: 'ssh',
      host: dest.host,
      ...(user !== undefined ? { user } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(o.identityFiles.length > 0 ? { identityFiles: o.identityFiles } : {}),
      ...(o.configFile !== undefined ? { configFile: o.configFile } : {}),
      options: [...(o.gatewayPorts ? ['GatewayPorts yes'] : []), ...o.options],
      ...(o.jump !== undefined ? { jump: o.jump } : {}),
      verbose: o.verbose,
      quiet,
      ...(o.logFile !== undefined ? { logFile: o.logFile } : {}),
      ...(o.family !== undefined ? { family: o.family } : {}),
      ...(o.ciphers !== undefined ? { ciphers: o.ciphers } : {}),
      ...(o.macs !== undefined ? { macs: o.macs } : {}),
      ...(o.compression ? { compression: true } : {}),
      ...(o.forwardAgent !== undefined ? { forwardAgent: o.forwardAgent } : {}),
      configForwards: o.stdioForward === undefined,
    });
    try {
      const forwards = new ForwardSet(client, {
        gatewayPorts: resolved.gatewayPorts,
        quiet,
        warn: (m) => log.info(m),
      });
      await forwards.startAll(
        parsedForwards.map((f) => ({ kind: f.kind, spec: f.spec })),
        resolved.exitOnForwardFailure || o.stdioForward !== undefined,
      );
      const env: Record<string, string> = {};
      for (const [k, v] of resolved.setEnv) env[k] = v;
      const { sendEnvNames } = await import('./ssh-session-env.js');
      for (const name of sendEnvNames(resolved.sendEnv, process.env)) env[name] ??= process.env[name] as string;
      const x11 = o.forwardX11 ?? isYes(cfg('ForwardX11'));
      const { runSession } = await import('./ssh-session.js');
      return await runSession(
        client,
        {
          host: resolved.hostname,
          command: o.command.join(' '),
          subsystem: o.subsystem,
          noSession,
          ...(stdioTarget ? { stdioForward: stdioTarget } : {}),
          pty,
          stdinNull,
          escapeChar: pty ? escapeChar : null,
          // OpenSSH 9.2 defaults EnableEscapeCommandline to no; secsh keeps ~C on unless it is set to no
          commandLine: !/^(no|false)$/i.test(cfg('EnableEscapeCommandline') ?? ''),
          env,
          ...(o.forwardAgent !== undefined ? { forwardAgent: o.forwardAgent } : {}),
          ...(x11 ? { x11: { trusted: o.trustedX11 } } : {}),
          quiet,
        },
        forwards,
      );
    } finally {
      await client.close().catch(() => {});
      await log.close();
    }
  } catch (e) {
    if (e instanceof SshUsageError) {
      process.stderr.write(`${e.message}\n`);
      return e.exitCode;
    }
    return reportError('ssh', e);
  }
}

/** `secsh ssh`. */
export const sshCommand: Command = {
  summary: 'ssh',
  run,
};

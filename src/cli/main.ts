#!/usr/bin/env node
/**
 * The `secsh` command line. Each subcommand lives in its own file and is loaded only when it runs,
 * so that a command starts without parsing the code of the others.
 */
import type { Command } from './command.js';
import { packageVersion } from './version.js';

export type { Command } from './command.js';

/** A registered subcommand: its summary (for `secsh help`) and how to load it. */
interface Entry {
  summary: string;
  load(): Promise<Command>;
}

const COMMANDS: Record<string, Entry> = {
  ssh: {
    summary: 'log in and run commands on a remote host (like ssh)',
    load: async () => (await import('./ssh.js')).sshCommand,
  },
  sftp: {
    summary: 'interactive and batch file transfer over SFTP (like sftp)',
    load: async () => (await import('./sftp.js')).sftpCommand,
  },
  scp: {
    summary: 'copy files between hosts (like scp)',
    load: async () => (await import('./scp.js')).scpCommand,
  },
  keygen: {
    summary: 'generate, inspect and convert keys, certificates and signatures (like ssh-keygen)',
    load: async () => (await import('./keygen.js')).keygenCommand,
  },
  agent: {
    summary: 'hold keys and sign with them for other programs (like ssh-agent)',
    load: async () => (await import('./agent.js')).agentCommand,
  },
  add: {
    summary: 'add, list and remove keys in an agent (like ssh-add)',
    load: async () => (await import('./add.js')).addCommand,
  },
  server: {
    summary: 'run an SSH server (sessions, SFTP, forwarding)',
    load: async () => (await import('./server.js')).serverCommand,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: secsh <command> [options]\n       secsh --version\n\ncommands:\n${lines.join('\n')}\n\nRun 'secsh <command> --help' for a command's options.\n`;
}

/** Runs the CLI with `argv` (without node and the script path); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && COMMANDS[topic]) return (await COMMANDS[topic].load()).run(['--help']);
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`secsh ${await packageVersion()} (node ${process.versions.node})\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`secsh: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  return (await entry.load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`secsh: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);

#!/usr/bin/env node
/**
 * The `secsh` command line. Subcommands live in their own files and register here.
 */
import { addCommand } from './add.js';
import { agentCommand } from './agent.js';
import type { Command } from './command.js';
import { serverCommand } from './server.js';

export type { Command } from './command.js';

const COMMANDS: Record<string, Command> = {
  add: addCommand,
  agent: agentCommand,
  server: serverCommand,
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: secsh <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'secsh <command> --help' for a command's options.\n`;
}

/** Runs the CLI with `argv` (without node and the script path); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`secsh: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  return cmd.run(rest);
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

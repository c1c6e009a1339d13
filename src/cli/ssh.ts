/**
 * `secsh ssh`: placeholder until the command lands.
 */
import type { Command } from './command.js';

/** `secsh ssh`. */
export const sshCommand: Command = {
  summary: 'ssh',
  async run(): Promise<number> {
    process.stderr.write('secsh ssh: not yet implemented\n');
    return 2;
  },
};

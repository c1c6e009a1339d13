/**
 * `secsh keygen`: placeholder until the command lands.
 */
import type { Command } from './command.js';

/** `secsh keygen`. */
export const keygenCommand: Command = {
  summary: 'keygen',
  async run(): Promise<number> {
    process.stderr.write('secsh keygen: not yet implemented\n');
    return 2;
  },
};

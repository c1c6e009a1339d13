/**
 * `secsh scp`: placeholder until the command lands.
 */
import type { Command } from './command.js';

/** `secsh scp`. */
export const scpCommand: Command = {
  summary: 'scp',
  async run(): Promise<number> {
    process.stderr.write('secsh scp: not yet implemented\n');
    return 2;
  },
};

/**
 * `secsh sftp`: placeholder until the command lands.
 */
import type { Command } from './command.js';

/** `secsh sftp`. */
export const sftpCommand: Command = {
  summary: 'sftp',
  async run(): Promise<number> {
    process.stderr.write('secsh sftp: not yet implemented\n');
    return 2;
  },
};

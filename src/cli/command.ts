/** The shape of one `secsh` subcommand. */
/** A subcommand: its one-line summary and its entry point (returns the exit code, or never resolves for daemons). */
export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

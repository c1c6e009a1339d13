/**
 * Option parsing as getopt(3) does it for OpenSSH's tools: letters grouped after one `-` (`-tt`,
 * `-vvv`), a value attached (`-p22`) or in the next argument (`-p 22`), `--` ending the options, and
 * the first operand ending them too.
 */

/** What a tool's options are, and what to do with each. */
export interface GetoptSpec {
  /** Letters that take a value. */
  withValue: ReadonlySet<string>;
  /** Letters that take none. */
  flags: ReadonlySet<string>;
  /** Called for each option in order (`value` for a letter of `withValue`); true stops parsing at once. */
  onOption(letter: string, value: string | undefined): boolean | undefined;
  /** The error to throw for `unknown option -- x` or `option requires an argument -- x`. */
  error(message: string): Error;
}

/** Where parsing stopped: the index of the first operand, and why. */
export interface GetoptResult {
  /** Index in `args` of the first argument that is not an option. */
  next: number;
  /** `--` ended the options. */
  terminated: boolean;
  /** `onOption` asked to stop. */
  stopped: boolean;
}

/** Parses options from `args[start]` on; throws `spec.error(…)` for an unknown letter or a missing value. */
export function getopt(args: readonly string[], spec: GetoptSpec, start = 0): GetoptResult {
  let i = start;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') return { next: i + 1, terminated: true, stopped: false };
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const f = a[j] as string;
      if (spec.withValue.has(f)) {
        let v = a.slice(j + 1);
        if (v === '') {
          i++;
          if (i >= args.length) throw spec.error(`option requires an argument -- ${f}`);
          v = args[i] as string;
        }
        if (spec.onOption(f, v)) return { next: i + 1, terminated: false, stopped: true };
        break;
      }
      if (!spec.flags.has(f)) throw spec.error(`unknown option -- ${f}`);
      if (spec.onOption(f, undefined)) return { next: i + 1, terminated: false, stopped: true };
    }
  }
  return { next: i, terminated: false, stopped: false };
}

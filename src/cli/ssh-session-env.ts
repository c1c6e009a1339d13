/** SendEnv for `secsh ssh`: which local environment variables the resolved SendEnv patterns name. */
import { matchPattern } from '../config/index.js';

/**
 * The names of `env` that SendEnv's patterns select, in the environment's order. TERM is not among
 * them: it goes in the pty request, as ssh sends it.
 */
export function sendEnvNames(patterns: readonly string[], env: NodeJS.ProcessEnv): string[] {
  if (patterns.length === 0) return [];
  return Object.keys(env).filter(
    (name) => name !== 'TERM' && env[name] !== undefined && patterns.some((p) => matchPattern(name, p)),
  );
}

/** SendEnv for `secsh ssh`: which local environment variables the resolved SendEnv patterns name. */

/** ssh's match_pattern: `*` and `?` wildcards over the whole name. */
function globMatch(name: string, pattern: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(name);
}

/**
 * The names of `env` that SendEnv's patterns select, in the environment's order. TERM is not among
 * them: it goes in the pty request, as ssh sends it.
 */
export function sendEnvNames(patterns: readonly string[], env: NodeJS.ProcessEnv): string[] {
  if (patterns.length === 0) return [];
  return Object.keys(env).filter(
    (name) => name !== 'TERM' && env[name] !== undefined && patterns.some((p) => globMatch(name, p)),
  );
}

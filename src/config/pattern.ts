/** OpenSSH wildcard patterns (`*`, `?`) and comma pattern lists with `!` negation (match.c semantics). */

/** Longest pattern or subject considered; anything longer does not match. */
const MAX_PATTERN = 4096;

/** True when `s` matches the glob `pattern` (`*` any run, `?` one character; everything else literal). */
export function matchPattern(s: string, pattern: string): boolean {
  if (s.length > MAX_PATTERN || pattern.length > MAX_PATTERN) return false;
  // Iterative glob with single-star backtracking: linear-ish, no recursion blow-up.
  let si = 0;
  let pi = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const pc = pattern[pi];
    if (pc === '*') {
      starP = pi++;
      starS = si;
    } else if (pc !== undefined && (pc === '?' || pc === s[si])) {
      pi++;
      si++;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (pattern[pi] === '*') pi++;
  return pi === pattern.length;
}

/**
 * Matches `s` against a comma-separated pattern list: 1 when some pattern matches and no negated
 * (`!pattern`) one does, -1 when a negated pattern matches, 0 otherwise. With `lower`, both sides
 * are compared lowercased (host names).
 */
export function matchPatternList(s: string, list: string, lower = true): 1 | 0 | -1 {
  const subject = lower ? s.toLowerCase() : s;
  let positive = false;
  for (const raw of list.split(',')) {
    let p = lower ? raw.toLowerCase() : raw;
    const negated = p.startsWith('!');
    if (negated) p = p.slice(1);
    if (p === '') continue;
    if (matchPattern(subject, p)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

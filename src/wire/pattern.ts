/** OpenSSH's wildcard match (match.c's match_pattern): `*` any run, `?` one character. */

/** Longest pattern or subject considered; anything longer does not match. */
const MAX_PATTERN = 8192;

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

/** OpenSSH wildcard patterns (`*`, `?`) and comma pattern lists with `!` negation (match.c semantics). */

import { matchPattern } from '../keys/pattern.js';

export { matchPattern } from '../keys/pattern.js';

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

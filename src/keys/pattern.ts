/** OpenSSH's wildcard match, for the key layers (the matcher itself is in wire/, which every layer may use). */
export { matchPattern } from '../wire/pattern.js';

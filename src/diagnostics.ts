/**
 * Observability: `node:diagnostics_channel` channels secsh publishes to. Subscribing costs nothing
 * when nobody listens. Messages never carry secrets (no keys, passwords or session data).
 *
 * @example
 * import diagnostics_channel from 'node:diagnostics_channel';

export type { ClientAuthEvent } from './auth/client.js';
 * diagnostics_channel.subscribe('secsh:transport:kex', (m) => console.log(m));
 */
import diagnostics_channel from 'node:diagnostics_channel';

export type { ClientAuthEvent } from './auth/client.js';

/** Published when a key exchange completes: `{ role, first, algorithms }`. */
export const kexChannel = diagnostics_channel.channel('secsh:transport:kex');
/** Published when a transport closes: `{ role, error?: { code, message } }`. */
export const closeChannel = diagnostics_channel.channel('secsh:transport:close');
/**
 * Published at each step of a client's user authentication: a {@link ClientAuthEvent}
 * `{ role: 'client', username, method, result, key?, methodsLeft? }` — the reply to `none`, each key
 * offered (`pk-ok`, then `accepted`/`partial`/`refused` after its signature, or `skipped`), and each
 * keyboard-interactive or password attempt. No secrets.
 */
export const authChannel = diagnostics_channel.channel('secsh:auth');

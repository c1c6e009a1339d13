/**
 * Observability: `node:diagnostics_channel` channels secsh publishes to. Subscribing costs nothing
 * when nobody listens. Messages never carry secrets (no keys, passwords or session data).
 *
 * @example
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.subscribe('secsh:transport:kex', (m) => console.log(m));
 */
import diagnostics_channel from 'node:diagnostics_channel';

/** Published when a key exchange completes: `{ role, first, algorithms }`. */
export const kexChannel = diagnostics_channel.channel('secsh:transport:kex');
/** Published when a transport closes: `{ role, error?: { code, message } }`. */
export const closeChannel = diagnostics_channel.channel('secsh:transport:close');
/** Published after each user authentication attempt by a client: `{ method, result }`. */
export const authChannel = diagnostics_channel.channel('secsh:auth');

/**
 * Observability: `node:diagnostics_channel` channels secsh publishes to. Subscribing costs nothing
 * when nobody listens. Messages never carry secrets (no keys, passwords or session data).
 *
 * @example
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.subscribe('secsh:transport:kex', (m) => console.log(m));
 */

import diagnostics_channel from 'node:diagnostics_channel';

/**
 * One step of the client's user authentication, as published on the `secsh:auth` diagnostics channel
 * (and printed under NODE_DEBUG=secsh). Never carries a secret: no password, answer or signature.
 */
export interface ClientAuthEvent {
  role: 'client';
  username: string;
  method: string;
  /**
   * `pk-ok`: the server would accept the key (the query, before signing); `accepted`: logged in;
   * `partial`: this step passed and more are needed (`methodsLeft`); `refused`; `skipped`: a key not
   * offered (no signature algorithm the server accepts).
   */
  result: 'pk-ok' | 'accepted' | 'partial' | 'refused' | 'skipped';
  /** publickey: the key offered (for a certificate, its type and the certified key's fingerprint). */
  key?: { type: string; fingerprint: string; algorithm?: string };
  /** After a refusal or partial success: what the server says may continue. */
  methodsLeft?: readonly string[];
}

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

/**
 * Which message numbers a peer may send in which phase. The transport consults this table for
 * every incoming payload before any handler runs.
 */
import { MSG } from '../wire/index.js';

/** Where the connection is, from the receiver's point of view. */
export type Phase =
  /** First key exchange, before the peer's NEWKEYS. */
  | 'initial-kex'
  /** Keys in place, user authentication not yet successful. */
  | 'auth'
  /** Authenticated: the connection protocol runs. */
  | 'connected';

/** What to do with a message. */
export type Verdict =
  /** Handled by the transport (generic transport messages, KEX). */
  | 'transport'
  /** Passed to the upper layer (auth or connection). */
  | 'deliver'
  /** Answer with SSH_MSG_UNIMPLEMENTED and go on. */
  | 'unimplemented'
  /** A protocol violation: disconnect. */
  | 'fatal';

/**
 * Decides what to do with message `n` from a peer of role `peer` in `phase`. `inKex` is true
 * between the peer's KEXINIT and its NEWKEYS during a re-exchange (only transport and KEX messages
 * are allowed then); `strict` is strict-KEX during the initial exchange (no generic messages either).
 */
export function classify(n: number, peer: 'client' | 'server', phase: Phase, inKex: boolean, strict: boolean): Verdict {
  const kexWindow = phase === 'initial-kex' || inKex;
  if (n === MSG.DISCONNECT) return 'transport';
  if (n === MSG.IGNORE || n === MSG.DEBUG || n === MSG.UNIMPLEMENTED) {
    return phase === 'initial-kex' && strict ? 'fatal' : 'transport';
  }
  if (n === MSG.KEXINIT || n === MSG.NEWKEYS || (n >= 30 && n <= 49)) return 'transport';
  if (kexWindow) return 'fatal';
  if (n === MSG.SERVICE_REQUEST) return peer === 'client' && phase === 'auth' ? 'deliver' : 'fatal';
  if (n === MSG.SERVICE_ACCEPT) return peer === 'server' && phase === 'auth' ? 'deliver' : 'fatal';
  if (n === MSG.EXT_INFO) return 'transport';
  if (n >= 8 && n <= 19) return 'unimplemented';
  if (n >= 22 && n <= 29) return 'unimplemented';
  if (n >= 50 && n <= 79) {
    if (phase !== 'auth') return 'fatal';
    // A client never sends SUCCESS/FAILURE/BANNER; a server never sends USERAUTH_REQUEST.
    if (peer === 'client' && n !== MSG.USERAUTH_REQUEST && n !== MSG.USERAUTH_INFO_RESPONSE) return 'fatal';
    if (peer === 'server' && n === MSG.USERAUTH_REQUEST) return 'fatal';
    return 'deliver';
  }
  if (n >= 80 && n <= 127) return phase === 'connected' ? 'deliver' : 'fatal';
  return phase === 'connected' ? 'unimplemented' : 'fatal';
}

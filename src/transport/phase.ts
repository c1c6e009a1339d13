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
 * Decides what to do with message `n` from a peer of role `peer` in `phase`. `strict` is strict
 * KEX during the initial exchange (no generic messages either).
 *
 * A re-exchange does not change the verdict: RFC 4253 §7.1 asks a sender to send nothing but
 * transport and KEX messages between its KEXINIT and NEWKEYS, but peers do (asyncssh sends channel
 * data after its own KEXINIT) and OpenSSH accepts them, so upper-layer messages are delivered as
 * usual after the first exchange.
 *
 * PING and PONG (OpenSSH's ping, numbers from the local range) are the transport's once keys are in
 * place; it answers a PING only after authentication.
 *
 * After authentication a client's SERVICE_REQUEST (and a server's SERVICE_ACCEPT) is answered with
 * UNIMPLEMENTED, as sshd does: Twisted Conch's client asks for its service again after every key
 * exchange.
 */
export function classify(n: number, peer: 'client' | 'server', phase: Phase, strict: boolean): Verdict {
  if (n === MSG.DISCONNECT) return 'transport';
  if (n === MSG.IGNORE || n === MSG.DEBUG || n === MSG.UNIMPLEMENTED) {
    return phase === 'initial-kex' && strict ? 'fatal' : 'transport';
  }
  if (n === MSG.KEXINIT || n === MSG.NEWKEYS || (n >= 30 && n <= 49)) return 'transport';
  if (phase === 'initial-kex') return 'fatal';
  if (n === MSG.SERVICE_REQUEST) {
    if (peer !== 'client') return 'fatal';
    return phase === 'auth' ? 'deliver' : 'unimplemented';
  }
  if (n === MSG.SERVICE_ACCEPT) {
    if (peer !== 'server') return 'fatal';
    return phase === 'auth' ? 'deliver' : 'unimplemented';
  }
  if (n === MSG.EXT_INFO || n === MSG.PING || n === MSG.PONG) return 'transport';
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

/** SSH_MSG_DISCONNECT (RFC 4253 §11.1): the payload we send and the error a received one becomes. */

import { DisconnectError } from '../errors.js';
import { MSG, SshReader, SshWriter } from '../wire/index.js';

/** The payload of a DISCONNECT with `reason` and `description` (no language tag). */
export function disconnectPayload(reason: number, description: string): Buffer {
  return new SshWriter(64).byte(MSG.DISCONNECT).uint32(reason).string(description).string('').toBuffer();
}

/** The error a peer's DISCONNECT payload stands for; its text is reduced to printable ASCII. */
export function peerDisconnect(p: Buffer): DisconnectError {
  const r = new SshReader(p, 1);
  const code = r.uint32();
  const desc = r.string(8192).toString('utf8');
  return new DisconnectError(code, desc.replace(/[^\x20-\x7e]/g, '?'));
}

/**
 * Wire pieces of OpenSSH's host key rotation (draft-miller-sshm-hostkey-update, formerly PROTOCOL
 * §2.5), shared by the server (server/hostkeys.ts) and the client (client/hostkey-update.ts): the two
 * global request names, the list-of-strings data both requests and the proof reply carry, and the
 * bytes a proof signs.
 */
import { ProtocolError } from '../errors.js';
import { SshReader, SshWriter } from '../wire/index.js';

/** The server's announcement of all its host keys (want-reply false), sent after authentication. */
export const HOSTKEYS_REQUEST = 'hostkeys-00@openssh.com';
/** The client's request that the server prove it holds the private halves of some of those keys. */
export const HOSTKEYS_PROVE_REQUEST = 'hostkeys-prove-00@openssh.com';

/**
 * The data every proof signs: string "hostkeys-prove-00@openssh.com" || string session identifier
 * || string host key blob.
 */
export function hostKeyProofData(sessionId: Buffer, blob: Buffer): Buffer {
  return new SshWriter(64 + sessionId.length + blob.length)
    .string(HOSTKEYS_PROVE_REQUEST)
    .string(sessionId)
    .string(blob)
    .toBuffer();
}

/** Strings one after another, to the end of the data (key blobs, or signatures in a proof reply). */
export function encodeStrings(items: readonly Buffer[]): Buffer {
  const w = new SshWriter(64 + items.reduce((n, b) => n + b.length + 4, 0));
  for (const b of items) w.string(b);
  return w.toBuffer();
}

/**
 * Reads strings to the end of `data`: at most `maxCount` of at most `maxLength` bytes each. More, a
 * longer one or a cut one is a ProtocolError (WireError), checked before anything is copied.
 */
export function decodeStrings(data: Buffer, maxCount: number, maxLength: number): Buffer[] {
  const r = new SshReader(data);
  const out: Buffer[] = [];
  while (r.remaining > 0) {
    if (out.length >= maxCount) throw new ProtocolError(`more than ${maxCount} entries`);
    out.push(r.string(maxLength));
  }
  return out;
}

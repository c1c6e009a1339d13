/**
 * The server side of OpenSSH's host key rotation (draft-miller-sshm-hostkey-update, formerly
 * PROTOCOL §2.5): once the user is authenticated the server tells the client every host key it has
 * (`hostkeys-00@openssh.com`, no reply wanted), and proves it holds the private half of those the
 * client asks about (`hostkeys-prove-00@openssh.com`). Host certificates are not announced.
 */
import { debuglog } from 'node:util';
import {
  decodeStrings,
  encodeStrings,
  HOSTKEYS_PROVE_REQUEST,
  HOSTKEYS_REQUEST,
  hostKeyProofData,
} from '../connection/hostkeys.js';
import type { Connection } from '../connection/index.js';
import { type PrivateKey, plainSignatureAlgorithm, type SignatureAlgorithm } from '../keys/index.js';

const debug = debuglog('secsh');

export { HOSTKEYS_PROVE_REQUEST, HOSTKEYS_REQUEST, hostKeyProofData };

/**
 * Client versions that cannot cope with the announcement (OpenSSH's SSH_BUG_HOSTKEYS list): sshd
 * does not send it to them.
 */
const CANNOT_COPE = /^SSH-2\.0-(Cisco-1\.|TTSSH\/2\.([1-6]|7[012]))/;

/** The request data of `hostkeys-00@openssh.com`: each host key's public blob, one string each. */
export function encodeHostKeys(keys: readonly PrivateKey[]): Buffer {
  const blobs: Buffer[] = [];
  for (const k of keys) if (!blobs.some((b) => b.equals(k.publicKey.blob))) blobs.push(k.publicKey.blob);
  return encodeStrings(blobs);
}

/** Sends `hostkeys-00@openssh.com` to an authenticated client unless its version is known not to cope. */
export function announceHostKeys(connection: Connection, keys: readonly PrivateKey[], clientVersion?: string): void {
  if (keys.length === 0 || (clientVersion !== undefined && CANNOT_COPE.test(clientVersion))) return;
  connection.globalRequest(HOSTKEYS_REQUEST, encodeHostKeys(keys), false).catch(() => {});
}

/** The signature algorithm of a proof by `key`, as sshd chooses it. */
function proofAlgorithm(key: PrivateKey, negotiatedHostKey: string | undefined): SignatureAlgorithm {
  if (key.type !== 'ssh-rsa') return key.publicKey.signatureAlgorithms[0] as SignatureAlgorithm;
  // RSA: the algorithm the key exchange used when that was RSA (a certificate algorithm names its
  // plain one), else rsa-sha2-512 — never SHA-1, which OpenSSH 8.9+ clients disregard in a proof.
  const plain = negotiatedHostKey === undefined ? undefined : plainSignatureAlgorithm(negotiatedHostKey);
  return plain === 'rsa-sha2-256' || plain === 'rsa-sha2-512' || plain === 'ssh-rsa' ? plain : 'rsa-sha2-512';
}

/**
 * Proof requests answered per connection. ssh asks once per connection; signing runs on the event
 * loop every connection shares (sshd signs in each connection's own process), so a client asking
 * again and again must not buy the server's CPU with a few hundred bytes a request.
 */
export const MAX_PROOF_REQUESTS = 4;
const proofRequests = new WeakMap<object, number>();

/**
 * Answers `hostkeys-prove-00@openssh.com`: for each key blob requested, in order, a signature over
 * {@link hostKeyProofData} by the matching host key; the reply data is those signatures as strings.
 * Returns false (REQUEST_FAILURE) for malformed data, a key the server does not hold, or more keys
 * than it has — so the work is at most one signature per host key — and, when `asker` (the
 * connection) is given, for every request after the first {@link MAX_PROOF_REQUESTS} it answered. Certificates
 * are never proven.
 */
export async function proveHostKeys(
  data: Buffer,
  keys: readonly PrivateKey[],
  sessionId: Buffer | undefined,
  negotiatedHostKey: string | undefined,
  asker?: object,
): Promise<Buffer | false> {
  if (!sessionId) return false;
  let blobs: Buffer[];
  try {
    // No more keys than the server has (a client asks only for those it was told of): one signature each at most.
    blobs = decodeStrings(data, keys.length, data.length);
  } catch {
    debug('hostkeys-prove: malformed request, or more keys than the server has');
    return false;
  }
  const wanted: PrivateKey[] = [];
  for (const blob of blobs) {
    const key = keys.find((k) => k.publicKey.blob.equals(blob));
    if (!key) {
      debug('hostkeys-prove: a key the server does not hold');
      return false;
    }
    wanted.push(key);
  }
  if (wanted.length === 0) return false;
  if (asker) {
    const n = proofRequests.get(asker) ?? 0;
    if (n >= MAX_PROOF_REQUESTS) {
      debug('hostkeys-prove: more than %d requests on one connection', MAX_PROOF_REQUESTS);
      return false;
    }
    proofRequests.set(asker, n + 1);
  }
  const sigs: Buffer[] = [];
  for (const key of wanted) {
    sigs.push(await key.sign(hostKeyProofData(sessionId, key.publicKey.blob), proofAlgorithm(key, negotiatedHostKey)));
  }
  return encodeStrings(sigs);
}

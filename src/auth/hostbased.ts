/**
 * Hostbased user authentication (RFC 4252 §9), both roles: the client signs the request with a host
 * key; the server reads the request, checks the key against the algorithms it accepts and verifies
 * the signature before its policy decides (known host key for the client host name, client user).
 */
import {
  Certificate,
  certificateAlgorithmFor,
  certificateOf,
  PublicKey,
  plainSignatureAlgorithm,
  type Signer,
} from '../keys/index.js';
import type { SignatureAlgorithm } from '../keys/types.js';
import { SshReader, SshWriter } from '../wire/index.js';

/** What the client signs hostbased requests with. */
export interface HostbasedCredentials {
  /** The host key (a certificate signer offers its host certificate under the certificate algorithm). */
  signer: Signer;
  /** The client host's name as the server knows it; sent with a trailing dot, as OpenSSH's ssh-keysign requires. */
  localHostname: string;
  /** The user's name on the client host. */
  localUsername: string;
}

/** Longest client host name read (NI_MAXHOST). */
const MAX_HOSTNAME = 1025;
/** Longest client user name read. */
const MAX_USERNAME = 256;
const MAX_KEY_BLOB = 16 * 1024;
const MAX_SIGNATURE = 16 * 1024;

/** The host name as hostbased requests carry it: fully qualified, with one trailing dot. */
export function hostbasedHostname(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/**
 * The client's signed hostbased USERAUTH_REQUEST: `header` is the request up to the method name
 * (user name and service written), `alg` the signature algorithm chosen for the key. The signature
 * covers string(session id) followed by the request without the signature (RFC 4252 §9).
 */
export async function signedHostbasedRequest(
  header: () => SshWriter,
  sessionId: Buffer,
  cred: HostbasedCredentials,
  alg: SignatureAlgorithm,
): Promise<{ payload: Buffer; keyAlgorithm: string }> {
  const cert = certificateOf(cred.signer);
  const blob = cert ? cert.blob : cred.signer.publicKey.blob;
  const keyAlgorithm = cert ? certificateAlgorithmFor(alg) : alg;
  const body = header()
    .string('hostbased')
    .string(keyAlgorithm)
    .string(blob)
    .string(hostbasedHostname(cred.localHostname))
    .string(cred.localUsername)
    .toBuffer();
  const data = new SshWriter(sessionId.length + body.length + 8).string(sessionId).raw(body).toBuffer();
  const sig = await cred.signer.sign(data, alg);
  return { payload: new SshWriter(body.length + sig.length + 8).raw(body).string(sig).toBuffer(), keyAlgorithm };
}

/** A hostbased request whose signature verified. */
export interface VerifiedHostbased {
  /** The key algorithm as sent (a `*-cert-v01@openssh.com` name for a certificate). */
  algorithm: string;
  /** The host key that signed (for a certificate, the certified key). */
  key: PublicKey;
  /** The host certificate, when one was sent; its CA signature is not checked here. */
  certificate?: Certificate;
  /** The client host name as sent, without its trailing dot. */
  clientHostname: string;
  /** The user name on the client host. */
  clientUsername: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A name decoded as UTF-8 with no control characters (C0, DEL or C1), or undefined. */
function cleanName(b: Buffer): string | undefined {
  let s: string;
  try {
    s = strictUtf8.decode(b);
  } catch {
    return undefined;
  }
  return /\p{Cc}/u.test(s) ? undefined : s;
}

/**
 * The client host name a request names, as the policy and `knownClientHost` both see it: printable
 * ASCII without spaces (host names on the wire are ASCII; other characters could fold to another
 * name when known_hosts is matched case-insensitively, e.g. U+212A KELVIN SIGN to `k`), one trailing
 * dot removed and no second one. Undefined when the name is not one.
 */
function clientHostName(b: Buffer): string | undefined {
  const s = b.toString('latin1');
  if (!/^[\x21-\x7e]+$/.test(s)) return undefined;
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  return name === '' || name.endsWith('.') ? undefined : name;
}

/**
 * Reads the rest of a hostbased USERAUTH_REQUEST from `r` (positioned after the method name) and
 * verifies it. `payload` is the whole message, `sessionId` the first exchange hash, `accepted` the
 * signature algorithms the server takes. Short or over-long fields and trailing bytes throw
 * WireError (a ProtocolError); a request that is well framed but not acceptable (unknown algorithm, key not of
 * the algorithm's type, a name with control characters, a bad signature) returns `{ refused }` with
 * the reason for the server's debug log.
 */
export function verifyHostbasedRequest(
  r: SshReader,
  payload: Buffer,
  sessionId: Buffer,
  accepted: readonly string[],
): { ok: VerifiedHostbased } | { refused: string } {
  const algorithm = r.ascii(64);
  const blob = r.string(MAX_KEY_BLOB);
  const chost = r.string(MAX_HOSTNAME);
  const cuser = r.string(MAX_USERNAME);
  const signedEnd = r.offset;
  const sig = r.string(MAX_SIGNATURE);
  r.ensureEnd('USERAUTH_REQUEST hostbased');

  const sigAlg = plainSignatureAlgorithm(algorithm);
  if (!accepted.includes(sigAlg)) return { refused: `algorithm ${JSON.stringify(algorithm)} not accepted` };
  let key: PublicKey;
  let certificate: Certificate | undefined;
  try {
    if (sigAlg !== algorithm) {
      certificate = Certificate.fromBlob(blob);
      if (certificate.type !== 'host') return { refused: 'not a host certificate' };
      key = certificate.publicKey;
    } else {
      key = PublicKey.fromBlob(blob);
    }
  } catch (e) {
    return { refused: `unusable key: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!key.signatureAlgorithms.includes(sigAlg as SignatureAlgorithm)) {
    return { refused: `key type ${key.type} does not match algorithm ${JSON.stringify(algorithm)}` };
  }
  const clientHostname = clientHostName(chost);
  if (clientHostname === undefined) return { refused: 'client host name is not a printable ASCII host name' };
  const user = cleanName(cuser);
  if (user === undefined) return { refused: 'client user name is not UTF-8 without control characters' };

  const data = new SshWriter(sessionId.length + signedEnd + 8)
    .string(sessionId)
    .raw(payload.subarray(0, signedEnd))
    .toBuffer();
  let valid = false;
  try {
    valid = signatureAlgorithmOf(sig) === sigAlg && key.verify(data, sig, sigAlg as SignatureAlgorithm);
  } catch {
    valid = false;
  }
  if (!valid) return { refused: 'signature does not verify' };
  return {
    ok: { algorithm, key, ...(certificate ? { certificate } : {}), clientHostname, clientUsername: user },
  };
}

/** The algorithm name at the start of a signature blob, or undefined if malformed. */
export function signatureAlgorithmOf(sig: Buffer): string | undefined {
  try {
    return new SshReader(sig).ascii(64);
  } catch {
    return undefined;
  }
}

/** The client facade's side of hostbased authentication: the auth layer's credentials from {@link HostbasedOptions}. */
import { readFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { hostname, userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import type { HostbasedCredentials } from '../auth/hostbased.js';
import { InvalidArgumentError } from '../errors.js';
import { PrivateKey, PublicKey, parsePublicKey, type Signer } from '../keys/index.js';
import { DEFAULT_KEYSIGN_PATH, HOST_PUBLIC_KEY_FILES, KeysignSigner, keysignHostname } from './keysign.js';
import type { ConnectOptions, HostbasedOptions } from './options.js';
import { toSigner } from './support.js';

/** A host name as servers take it (secsh's refuses others): printable ASCII, at most one trailing dot. */
const HOST_NAME = /^[\x21-\x7e]*[\x21-\x2d\x2f-\x7e]\.?$/;
const debug = debuglog('secsh');

/**
 * The signer and names hostbased authentication uses over `stream`, with the defaults filled in:
 * the host name (with `keysign`, the name of the socket's local address, as ssh-keysign checks it)
 * and the user running the process. Undefined when ssh-keysign cannot be used here (no TCP socket to
 * hand it, no host public key to read): hostbased is then not tried, as ssh skips host keys it cannot
 * use, so HostbasedAuthentication in ssh_config never stops a connection other methods can make.
 */
export async function hostbasedCredentials(
  opts: Pick<ConnectOptions, 'hostbased' | 'passphrase'>,
  stream: Duplex,
): Promise<HostbasedCredentials | undefined> {
  const o = opts.hostbased as HostbasedOptions;
  let signer: Signer;
  let localHostname = o.localHostname;
  if (o.keysign) {
    if (o.certificate !== undefined)
      throw new InvalidArgumentError('hostbased.keysign signs with plain host keys only');
    if (!(stream instanceof Socket)) {
      debug('auth: hostbased not tried: ssh-keysign needs a TCP socket to name the host by');
      return undefined;
    }
    const publicKey = o.key === undefined ? await readableHostKey() : publicKeyOf(o.key);
    if (!publicKey) {
      debug('auth: hostbased not tried: none of %s can be read', HOST_PUBLIC_KEY_FILES.join(', '));
      return undefined;
    }
    signer = new KeysignSigner(publicKey, stream, o.keysign === true ? DEFAULT_KEYSIGN_PATH : o.keysign);
    localHostname ??= await keysignHostname(stream, hostname());
  } else {
    if (o.key === undefined) throw new InvalidArgumentError('hostbased needs key (the host private key) or keysign');
    if (o.key instanceof PublicKey)
      throw new InvalidArgumentError(
        'hostbased.key must be a private key or a Signer (a public key only with keysign)',
      );
    signer = toSigner(o.key, opts.passphrase, o.certificate);
    localHostname ??= hostname();
  }
  const localUsername = o.localUsername ?? userInfo().username;
  if (!HOST_NAME.test(localHostname))
    throw new InvalidArgumentError(
      'hostbased.localHostname must be a host name (printable ASCII, one trailing dot at most)',
    );
  if (localUsername === '' || /\p{Cc}/u.test(localUsername))
    throw new InvalidArgumentError('hostbased.localUsername must be a non-empty user name');
  return { signer, localHostname, localUsername };
}

function publicKeyOf(key: NonNullable<HostbasedOptions['key']>): PublicKey {
  if (key instanceof PublicKey) return key;
  if (key instanceof PrivateKey) return key.publicKey;
  if (typeof key === 'string' || Buffer.isBuffer(key)) return parsePublicKey(key);
  return key.publicKey;
}

/** The first host public key ssh would offer that this process can read, if any. */
async function readableHostKey(): Promise<PublicKey | undefined> {
  for (const path of HOST_PUBLIC_KEY_FILES) {
    try {
      return parsePublicKey(await readFile(path, 'utf8'));
    } catch {
      // missing or unreadable: the next one
    }
  }
  return undefined;
}

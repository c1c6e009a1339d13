/** sk-ssh-ed25519@openssh.com (PROTOCOL.u2f): an Ed25519 key held by a FIDO authenticator. */
import { ed25519 } from './ed25519.js';
import type { KeyKind, PublicMaterial } from './kind.js';
import { onTheToken, readApplication } from './sk.js';

export const skEd25519: KeyKind = {
  readPublic(_type, r): PublicMaterial {
    const material = ed25519.readPublic('ssh-ed25519', r);
    return { ...material, application: readApplication(r) };
  },

  /** `data` is already what the authenticator signed (`skSignedData`): Ed25519 verifies it as it is. */
  verify(pub, _type, _alg, data, sig) {
    return ed25519.verify(pub, 'ssh-ed25519', 'ssh-ed25519', data, sig);
  },

  readPrivate: () => onTheToken('be loaded as a private key (parse the file with parseSecurityKeyFile)'),
  writePrivate: () => onTheToken('be written as a private key'),
  publicBlob: () => onTheToken('be derived from a node KeyObject'),
  sign: () => onTheToken('sign without its authenticator'),
};

/** sk-ecdsa-sha2-nistp256@openssh.com (PROTOCOL.u2f): a P-256 ECDSA key held by a FIDO authenticator. */
import { ecdsa } from './ecdsa.js';
import type { KeyKind, PublicMaterial } from './kind.js';
import { onTheToken, readApplication } from './sk.js';

export const skEcdsa: KeyKind = {
  readPublic(_type, r): PublicMaterial {
    const material = ecdsa.readPublic('ecdsa-sha2-nistp256', r);
    return { ...material, application: readApplication(r) };
  },

  /** `data` is what the authenticator signed (`skSignedData`); the ECDSA signature is over its SHA-256. */
  verify(pub, _type, _alg, data, sig) {
    return ecdsa.verify(pub, 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256', data, sig);
  },

  readPrivate: () => onTheToken('be loaded as a private key (parse the file with parseSecurityKeyFile)'),
  writePrivate: () => onTheToken('be written as a private key'),
  publicBlob: () => onTheToken('be derived from a node KeyObject'),
  sign: () => onTheToken('sign without its authenticator'),
};

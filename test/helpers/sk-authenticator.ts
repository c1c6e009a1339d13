/**
 * A software FIDO authenticator for tests: it holds an Ed25519 or P-256 key and signs what a security key
 * signs (PROTOCOL.u2f: SHA256(application) || flags || counter || SHA256(message)), with flags the test
 * chooses and a counter that goes up with each signature. It writes the public key and the private key
 * file in the form ssh-keygen writes for `-t ed25519-sk` / `-t ecdsa-sk` (the file holds a key handle, not
 * the secret; here the handle is random and the secret stays in this object).
 */
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import {
  PublicKey,
  type SecurityKeyType,
  type SignatureAlgorithm,
  type Signer,
  SK_USER_PRESENT,
  skSignedData,
} from '../../src/keys/index.js';
import { SshWriter } from '../../src/wire/index.js';

export interface SoftwareAuthenticatorOptions {
  /** FIDO application (default `ssh:`). */
  application?: string;
  /** Flags stored in the key file at enrolment (default 0x01: user presence required). */
  enrolFlags?: number;
  /** Flags each signature reports (default 0x01: the user touched the key). */
  signFlags?: number;
  /** First counter value minus one (default 0: the first signature has counter 1). */
  counter?: number;
  /** Comment of the key files. */
  comment?: string;
}

export class SoftwareAuthenticator {
  readonly type: SecurityKeyType;
  readonly application: string;
  readonly keyHandle: Buffer;
  readonly enrolFlags: number;
  /** Flags the next signatures report; tests change it (0 = no touch, 0x05 = touch and PIN). */
  signFlags: number;
  /** The last counter value used. */
  counter: number;
  readonly comment: string;
  readonly publicKey: PublicKey;
  readonly #key: KeyObject;

  constructor(kind: 'ed25519' | 'ecdsa', opts: SoftwareAuthenticatorOptions = {}) {
    this.type = kind === 'ed25519' ? 'sk-ssh-ed25519@openssh.com' : 'sk-ecdsa-sha2-nistp256@openssh.com';
    this.application = opts.application ?? 'ssh:';
    this.enrolFlags = opts.enrolFlags ?? SK_USER_PRESENT;
    this.signFlags = opts.signFlags ?? SK_USER_PRESENT;
    this.counter = opts.counter ?? 0;
    this.comment = opts.comment ?? `sk-${kind}-test`;
    this.keyHandle = randomBytes(kind === 'ed25519' ? 64 : 80);
    const pair =
      kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#key = pair.privateKey;
    this.publicKey = PublicKey.fromBlob(this.#publicBlob(pair.publicKey), this.comment);
  }

  #publicFields(pub: KeyObject, w: SshWriter): SshWriter {
    const jwk = pub.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x ?? '', 'base64url');
    if (this.type === 'sk-ssh-ed25519@openssh.com') w.string(x);
    else w.string('nistp256').string(Buffer.concat([Buffer.from([4]), x, Buffer.from(jwk.y ?? '', 'base64url')]));
    return w.string(this.application);
  }

  #publicBlob(pub: KeyObject): Buffer {
    return Buffer.from(this.#publicFields(pub, new SshWriter(256).string(this.type)).toBuffer());
  }

  /** The `sk-… AAAA… comment` line of the `.pub` file. */
  publicKeyLine(): string {
    return this.publicKey.toString();
  }

  /**
   * What the token returns for `message`, in the SSH wire form: string alg || string sig || byte flags ||
   * uint32 counter. `flags` defaults to {@link SoftwareAuthenticator.signFlags}; the counter goes up by one.
   */
  signMessage(message: Uint8Array, flags: number = this.signFlags): Buffer {
    this.counter = (this.counter + 1) >>> 0;
    const signed = skSignedData(Buffer.from(this.application, 'utf8'), flags, this.counter, message);
    let inner: Buffer;
    if (this.type === 'sk-ssh-ed25519@openssh.com') inner = sign(null, signed, this.#key);
    else {
      const rs = sign('sha256', signed, { key: this.#key, dsaEncoding: 'ieee-p1363' });
      inner = Buffer.from(
        new SshWriter(80).mpintFromUnsigned(rs.subarray(0, 32)).mpintFromUnsigned(rs.subarray(32)).toBuffer(),
      );
    }
    return Buffer.from(
      new SshWriter(inner.length + 64).string(this.type).string(inner).byte(flags).uint32(this.counter).toBuffer(),
    );
  }

  /**
   * A `webauthn-sk-ecdsa-sha2-nistp256@openssh.com` signature (P-256 only), as a browser's WebAuthn API returns it
   * in OpenSSH's encoding: the token signs SHA256(application) || flags || counter || SHA256(clientData), where
   * clientData is the JSON holding base64url(message) as its challenge. `clientData` overrides that JSON.
   */
  signWebauthn(message: Uint8Array, origin: string, opts: { flags?: number; clientData?: string } = {}): Buffer {
    if (this.type !== 'sk-ecdsa-sha2-nistp256@openssh.com') throw new Error('webauthn signatures are P-256 only');
    const flags = opts.flags ?? this.signFlags;
    this.counter = (this.counter + 1) >>> 0;
    const clientData = Buffer.from(
      opts.clientData ??
        `{"type":"webauthn.get","challenge":"${Buffer.from(message).toString('base64url')}","origin":"${origin}","crossOrigin":false}`,
    );
    const signed = skSignedData(Buffer.from(this.application, 'utf8'), flags, this.counter, message, {
      clientData,
      extensions: Buffer.alloc(0),
    });
    const rs = sign('sha256', signed, { key: this.#key, dsaEncoding: 'ieee-p1363' });
    const inner = Buffer.from(
      new SshWriter(80).mpintFromUnsigned(rs.subarray(0, 32)).mpintFromUnsigned(rs.subarray(32)).toBuffer(),
    );
    return Buffer.from(
      new SshWriter(inner.length + clientData.length + 256)
        .string('webauthn-sk-ecdsa-sha2-nistp256@openssh.com')
        .string(inner)
        .byte(flags)
        .uint32(this.counter)
        .string(origin)
        .string(clientData)
        .string(Buffer.alloc(0))
        .toBuffer(),
    );
  }

  /** A {@link Signer} that signs through this authenticator (what an agent holding the sk key would return). */
  signer(): Signer {
    return {
      publicKey: this.publicKey,
      sign: async (data: Uint8Array, algorithm: SignatureAlgorithm) => {
        if (algorithm !== this.type) throw new Error(`the authenticator cannot sign ${algorithm}`);
        return this.signMessage(data);
      },
    };
  }

  /** The private key file ssh-keygen writes for an sk key (unencrypted `openssh-key-v1`, with the key handle). */
  privateKeyFile(comment: string = this.comment): string {
    const check = randomBytes(4);
    const priv = new SshWriter(512).raw(check).raw(check).string(this.type);
    this.#publicFields(this.publicKey.toKeyObject(), priv)
      .byte(this.enrolFlags)
      .string(this.keyHandle)
      .string(Buffer.alloc(0))
      .string(comment);
    let section = Buffer.from(priv.toBuffer());
    const pad = (8 - (section.length % 8)) % 8;
    section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
    const body = new SshWriter(section.length + 512)
      .raw(Buffer.from('openssh-key-v1\0', 'latin1'))
      .string('none')
      .string('none')
      .string(Buffer.alloc(0))
      .uint32(1)
      .string(this.publicKey.blob)
      .string(section);
    const b64 = Buffer.from(body.toBuffer()).toString('base64');
    const lines = b64.match(/.{1,70}/g) ?? [];
    return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
  }
}

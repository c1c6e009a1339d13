/**
 * Interfaces between the transport and the crypto layer. The transport never touches a cipher
 * directly: it asks the table for a sealer/opener pair and works on whole packets.
 */

/** Hash names as node:crypto spells them. */
export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** One direction's negotiated keys, as derived by RFC 4253 §7.2. */
export interface DirectionKeys {
  /** Cipher name, e.g. `aes128-gcm@openssh.com`. */
  cipher: string;
  /** MAC name; ignored (may be `''`) when the cipher is an AEAD. */
  mac: string;
  iv: Buffer;
  key: Buffer;
  macKey: Buffer;
}

/**
 * Encrypts outgoing packets. The transport builds the plaintext packet
 * `uint32 packet_length || byte padding_length || payload || padding` and calls `seal`.
 */
export interface PacketSealer {
  /** Padding makes the padded region a multiple of this (8 for stream ciphers/none, 16 for AES). */
  readonly blockSize: number;
  /** Bytes of MAC/tag appended after the packet. */
  readonly macLength: number;
  /**
   * True when the 4-byte length field is not part of the block-aligned region
   * (AEAD and encrypt-then-MAC modes: aes-gcm, chacha20-poly1305, *-etm@openssh.com).
   */
  readonly lengthExcludedFromPadding: boolean;
  /**
   * Encrypts and authenticates one packet. `packet` holds the plaintext packet (4 + packet_length
   * bytes); the result is the bytes to send (ciphertext followed by the MAC/tag).
   */
  seal(seq: number, packet: Buffer): Buffer;
  /**
   * Optional scatter form of {@link seal}, which saves joining the packet first: the plaintext packet
   * is the concatenation of `parts` (the first holds at least the 4-byte length). Returns the bytes to
   * send, in order. Reads `parts` only during the call.
   */
  sealParts?(seq: number, parts: readonly Buffer[]): Buffer[];
}

/** Decrypts incoming packets in two steps: the length, then the whole packet. */
export interface PacketOpener {
  /** Bytes needed before the packet length can be read (4, or the cipher block size for classic MAC modes). */
  readonly headerLength: number;
  readonly macLength: number;
  /** Padded region alignment, for checking the packet length is well formed. */
  readonly blockSize: number;
  readonly lengthExcludedFromPadding: boolean;
  /**
   * True for CBC in classic MAC mode, where packet_length is decrypted from blocks a man in the middle
   * can choose (the plaintext-recovery attack of Albrecht, Paterson and Watson, 2009): the decoder then
   * reads a corrupt packet on to a fixed size before failing, so neither the error nor the number of
   * bytes read before it tells whether the length decrypted to something valid.
   */
  readonly discardCorrupt?: boolean;
  /**
   * With {@link discardCorrupt}: does with bytes read past a corrupt packet the work a packet of that
   * size costs (decrypt and MAC), so the time to fail does not depend on the length either.
   */
  discard?(seq: number, data: Buffer): void;
  /**
   * Returns packet_length from the first `headerLength` bytes. May decrypt and remember them;
   * the next `open` call is for the same packet.
   */
  packetLength(seq: number, header: Buffer): number;
  /**
   * Verifies and decrypts one whole packet: `data` is exactly 4 + packet_length + macLength bytes as
   * received. Returns the plaintext `padding_length || payload || padding` (packet_length bytes) in
   * a buffer of its own: `data` may be reused memory (a read buffer, the decoder's join buffer), valid
   * only during the call, so the result is never a view of it.
   * Throws MacError on a bad MAC or tag (comparisons are constant-time).
   */
  open(seq: number, data: Buffer): Buffer;
}

/** A row in the cipher table. */
export interface CipherInfo {
  name: string;
  keyLength: number;
  ivLength: number;
  blockSize: number;
  /** AEAD ciphers carry their own tag; the negotiated MAC is not used. */
  aead: boolean;
  /** Off unless asked for. */
  insecure: boolean;
  /** Bytes this cipher may safely process under one key before a rekey (RFC 4344 §3.2 style). */
  rekeyBytes: number;
}

/** A row in the MAC table. */
export interface MacInfo {
  name: string;
  hash: HashName;
  keyLength: number;
  /** Bytes of MAC on the wire. */
  length: number;
  etm: boolean;
  insecure: boolean;
}

/**
 * A key-agreement keypair for one KEX. `publicValue` is what we send (Q_C/Q_S raw bytes for ECDH
 * and X25519; the unsigned big-endian value of e/f for finite-field DH).
 */
export interface KexKeyPair {
  readonly publicValue: Buffer;
  /**
   * Computes the shared secret from the peer's public value, range-checking it first
   * (throws ProtocolError on a bad value). Returns K **encoded as it enters the exchange hash and the
   * key derivation**: an mpint with its uint32 length prefix (a string for the hybrid KEM methods).
   */
  agree(peerPublic: Buffer): Buffer;
}

/** A finite-field group. */
export interface DhGroup {
  p: bigint;
  g: bigint;
}

/** What a KEM method's server sends back, and the shared secret it computed. */
export interface KemResponse {
  /** S_REPLY, sent as a string. */
  readonly publicValue: Buffer;
  /** K encoded as it enters the exchange hash and key derivation (a string for the hybrid methods). */
  readonly k: Buffer;
}

/** A row in the KEX table. */
export interface KexInfo {
  name: string;
  hash: HashName;
  /**
   * `ecdh`: Q_C/Q_S as strings (curve25519, nistp*); `dh`: fixed group, e/f as mpints; `gex`: group
   * exchange (RFC 4419); `kem`: a key-encapsulation method (mlkem768x25519-sha256): C_INIT/S_REPLY as
   * strings, the server answers with {@link KexInfo.respond}.
   */
  type: 'ecdh' | 'dh' | 'gex' | 'kem';
  insecure: boolean;
  /** For `dh`: the fixed group. */
  group?: DhGroup;
  /**
   * Creates our ephemeral keypair; for `gex` the group comes from the server. For `kem`, the client's
   * keypair: `publicValue` is C_INIT and `agree(S_REPLY)` returns K.
   */
  generate(group?: DhGroup): KexKeyPair;
  /**
   * `kem` only: the server's side, from the client's C_INIT (throws a KEY_EXCHANGE_FAILED ProtocolError
   * on a bad value).
   */
  respond?(clientPublic: Buffer): KemResponse;
}

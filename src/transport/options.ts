/** The options and results of a {@link Transport}, kept apart from its machinery. */
import type { AlgorithmLists } from '../crypto/algorithms.js';
import type { Certificate, PrivateKey, PublicKey } from '../keys/index.js';
import type { GexSizes } from './kex-exchange.js';
import type { SlabInput } from './slab-input.js';

/** Re-exchange thresholds. */
export interface RekeyLimit {
  /** Bytes in either direction under one key (default: the cipher's safe limit, at most 1 GiB). */
  bytes?: number;
  /** Packets in either direction (default 2^31). */
  packets?: number;
  /** Seconds between exchanges (default 3600; 0 disables). */
  seconds?: number;
}

/** Settings of a {@link Transport}: the role, the algorithms offered, keys and host key checking. */
export interface TransportOptions {
  /** Which side of the key exchange this is. */
  role: 'client' | 'server';
  /**
   * @internal The stream's input when it is read through `onread` into a reused buffer (see SlabInput) rather
   * than through 'data' events.
   */
  input?: SlabInput;
  /** The algorithms to offer, per kind, in preference order (see {@link resolveAlgorithms}). */
  algorithms: AlgorithmLists;
  /** Server: host keys; the host key algorithms offered are derived from them. */
  hostKeys?: readonly PrivateKey[];
  /** Server: host certificates (type host) for keys in `hostKeys`; enables their `*-cert-v01@openssh.com` algorithms. */
  hostCertificates?: readonly Certificate[];
  /**
   * Client: called with the server's host key after its signature is checked; throw (or reject) to refuse.
   * For a host certificate `key` is the certified key and `certificate` the certificate, not yet checked
   * against any CA (the verifier must do that, e.g. with known_hosts `@cert-authority`).
   */
  verifyHostKey?: (key: PublicKey, certificate?: Certificate) => void | Promise<void>;
  /** When to re-exchange keys (defaults in {@link RekeyLimit}). */
  rekeyLimit?: RekeyLimit;
  /** Client: DH group exchange sizes (default 2048, 3072, 8192 bits). */
  gex?: GexSizes;
  /** Replaces `secsh_<version>` in our identification string. */
  softwareVersion?: string;
  /** Server: signature algorithms to announce in server-sig-algs. */
  serverSigAlgs?: readonly string[];
  /** Strict KEX (default true). */
  strictKex?: boolean;
  /**
   * The description sent in the DISCONNECT that a local error closing the connection causes (default:
   * the error's message). A client passes generic texts, so local detail (paths, fingerprints) stays local.
   */
  disconnectText?: (err: Error) => string;
}

/** Names negotiated by the last key exchange. */
export interface NegotiatedAlgorithms {
  /** Key exchange method, e.g. `mlkem768x25519-sha256`. */
  kex: string;
  /** Host key (signature) algorithm, e.g. `ssh-ed25519`. */
  hostKey: string;
  /** Cipher for what we send. */
  cipher: string;
  /** MAC for what we send (`''` under an AEAD cipher, which needs none). */
  mac: string;
  /** Compression for what we send (`none`, `zlib@openssh.com`, `zlib`). */
  compression: string;
  /** The other direction (server to client for a client). */
  inbound: {
    /** Cipher for what we receive. */
    cipher: string;
    /** MAC for what we receive (`''` under an AEAD cipher). */
    mac: string;
    /** Compression for what we receive. */
    compression: string;
  };
}

/** SSH_MSG_KEXINIT (RFC 4253 §7.1): codec and algorithm negotiation. */
import { randomBytes } from 'node:crypto';
import type { AlgorithmLists } from '../crypto/algorithms.js';
import { NegotiationError, WireError } from '../errors.js';
import { MSG, SshReader, SshWriter } from '../wire/index.js';

export interface KexInitMessage {
  cookie: Buffer;
  kex: string[];
  hostKey: string[];
  cipherCS: string[];
  cipherSC: string[];
  macCS: string[];
  macSC: string[];
  compressionCS: string[];
  compressionSC: string[];
  languagesCS: string[];
  languagesSC: string[];
  firstKexPacketFollows: boolean;
  reserved: number;
}

/**
 * Our KEXINIT: the configured lists, with `hostKey` given (a server offers only what it can sign);
 * on the first exchange the pseudo-algorithms ext-info-c (client) and, unless `strict` is off, the
 * strict-KEX marker of our role are added to the KEX list.
 */
export function buildKexInit(
  role: 'client' | 'server',
  a: AlgorithmLists,
  hostKey: readonly string[],
  o: { first: boolean; strict: boolean },
): Buffer {
  const kex = [...a.kex];
  if (o.first) {
    if (role === 'client') kex.push('ext-info-c');
    if (o.strict) kex.push(role === 'client' ? 'kex-strict-c-v00@openssh.com' : 'kex-strict-s-v00@openssh.com');
  }
  return encodeKexInit({
    kex,
    hostKey: [...hostKey],
    cipherCS: a.cipher,
    cipherSC: a.cipher,
    macCS: a.mac,
    macSC: a.mac,
    compressionCS: a.compression,
    compressionSC: a.compression,
    languagesCS: [],
    languagesSC: [],
    firstKexPacketFollows: false,
  });
}

export function encodeKexInit(m: Omit<KexInitMessage, 'cookie' | 'reserved'> & { cookie?: Buffer }): Buffer {
  return new SshWriter(1024)
    .byte(MSG.KEXINIT)
    .raw(m.cookie ?? randomBytes(16))
    .nameList(m.kex)
    .nameList(m.hostKey)
    .nameList(m.cipherCS)
    .nameList(m.cipherSC)
    .nameList(m.macCS)
    .nameList(m.macSC)
    .nameList(m.compressionCS)
    .nameList(m.compressionSC)
    .nameList(m.languagesCS)
    .nameList(m.languagesSC)
    .bool(m.firstKexPacketFollows)
    .uint32(0)
    .toBuffer();
}

/**
 * A KEXINIT name-list. Empty names are skipped, as OpenSSH's negotiation skips them: libssh 0.10
 * servers end their cipher lists with a comma. Names longer than 64 characters are still refused.
 */
function kexNameList(r: SshReader): string[] {
  const names = r
    .ascii(64 * 1024)
    .split(',')
    .filter((n) => n.length > 0);
  for (const n of names) if (n.length > 64) throw new WireError('invalid name in name-list');
  return names;
}

export function decodeKexInit(payload: Buffer): KexInitMessage {
  const r = new SshReader(payload);
  r.byte();
  const m: KexInitMessage = {
    cookie: r.raw(16),
    kex: kexNameList(r),
    hostKey: kexNameList(r),
    cipherCS: kexNameList(r),
    cipherSC: kexNameList(r),
    macCS: kexNameList(r),
    macSC: kexNameList(r),
    compressionCS: kexNameList(r),
    compressionSC: kexNameList(r),
    languagesCS: kexNameList(r),
    languagesSC: kexNameList(r),
    firstKexPacketFollows: r.bool(),
    reserved: r.uint32(),
  };
  r.ensureEnd('KEXINIT');
  return m;
}

/** The negotiated algorithms for one key exchange. */
export interface Negotiated {
  kex: string;
  hostKey: string;
  cipherCS: string;
  cipherSC: string;
  macCS: string;
  macSC: string;
  compressionCS: string;
  compressionSC: string;
  /** The peer's first KEX packet guess was wrong and must be ignored. */
  ignoreGuess: boolean;
}

/** Pseudo-algorithms that signal extensions, never chosen. */
const PSEUDO = /^(ext-info-[cs]|kex-strict-[cs]-v00@openssh\.com)$/;

function choose(kind: string, client: string[], server: string[], filter?: (n: string) => boolean): string {
  for (const c of client) {
    if (PSEUDO.test(c)) continue;
    if (filter && !filter(c)) continue;
    if (server.includes(c)) return c;
  }
  throw new NegotiationError(
    kind,
    client.filter((n) => !PSEUDO.test(n)),
    server.filter((n) => !PSEUDO.test(n)),
  );
}

/**
 * Chooses algorithms per RFC 4253 §7.1: for each kind, the first of the client's list that the server
 * also has. `isAead(cipher)` skips MAC negotiation for AEAD ciphers, as OpenSSH does.
 */
export function negotiate(
  client: KexInitMessage,
  server: KexInitMessage,
  isAead: (cipher: string) => boolean,
): Negotiated {
  const kex = choose('key exchange', client.kex, server.kex);
  const hostKey = choose('host key', client.hostKey, server.hostKey);
  const cipherCS = choose('cipher (client to server)', client.cipherCS, server.cipherCS);
  const cipherSC = choose('cipher (server to client)', client.cipherSC, server.cipherSC);
  const macCS = isAead(cipherCS) ? '' : choose('MAC (client to server)', client.macCS, server.macCS);
  const macSC = isAead(cipherSC) ? '' : choose('MAC (server to client)', client.macSC, server.macSC);
  const compressionCS = choose('compression (client to server)', client.compressionCS, server.compressionCS);
  const compressionSC = choose('compression (server to client)', client.compressionSC, server.compressionSC);
  // A guess is right when both sides' first kex and host key algorithms are what was chosen.
  const firstReal = (l: string[]) => l.find((n) => !PSEUDO.test(n));
  const guessRight = firstReal(client.kex) === firstReal(server.kex) && client.hostKey[0] === server.hostKey[0];
  return {
    kex,
    hostKey,
    cipherCS,
    cipherSC,
    macCS,
    macSC,
    compressionCS,
    compressionSC,
    ignoreGuess: !guessRight,
  };
}

/** The "drunken bishop" randomart picture of `ssh-keygen -lv` (OpenSSH sshkey.c fingerprint_randomart). */
import { createHash } from 'node:crypto';

const WIDTH = 17;
const HEIGHT = 9;
/** Visit counts map to these characters; the last two mark the start and end squares. */
const SYMBOLS = ' .o+=*BOX@%&#/^SE';
const END = SYMBOLS.length - 1;

/** The short type name ssh-keygen prints: `ED25519`, `ECDSA`, `RSA`, `DSA` (with `-CERT` for certificates). */
export function shortTypeName(type: string): string {
  const cert = type.includes('-cert-v01@openssh.com');
  const base = type.replace(/-cert-v01@openssh\.com$/, '');
  const name =
    base === 'sk-ssh-ed25519@openssh.com' || base === 'sk-ssh-ed25519'
      ? 'ED25519-SK'
      : base.startsWith('sk-ecdsa-sha2-')
        ? 'ECDSA-SK'
        : base === 'ssh-ed25519'
          ? 'ED25519'
          : base.startsWith('ecdsa-sha2-')
            ? 'ECDSA'
            : base === 'ssh-rsa'
              ? 'RSA'
              : base === 'ssh-dss'
                ? 'DSA'
                : base.toUpperCase();
  return cert ? `${name}-CERT` : name;
}

function framed(label: string): string {
  const start = Math.floor((WIDTH - label.length) / 2);
  return `+${'-'.repeat(start)}${label}${'-'.repeat(WIDTH - start - label.length)}+`;
}

/** The digests ssh-keygen's `-E` accepts for fingerprints and randomart. */
export type FingerprintHash = 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512';

/**
 * Draws the randomart of a key blob exactly as `ssh-keygen -lv` (and `-E md5`) prints it: 11 lines joined by
 * `\n`, without a trailing newline. `typeName` is the short name (`ED25519`, `RSA`, …) and `bits` the key size.
 */
export function randomart(blob: Uint8Array, typeName: string, bits: number, hash: FingerprintHash = 'sha256'): string {
  const digest = createHash(hash).update(blob).digest();
  const field: number[] = new Array(WIDTH * HEIGHT).fill(0);
  let x = Math.floor(WIDTH / 2);
  let y = Math.floor(HEIGHT / 2);
  for (const byte of digest) {
    let input = byte;
    for (let step = 0; step < 4; step++) {
      x += input & 1 ? 1 : -1;
      y += input & 2 ? 1 : -1;
      x = Math.max(0, Math.min(x, WIDTH - 1));
      y = Math.max(0, Math.min(y, HEIGHT - 1));
      const i = y * WIDTH + x;
      if ((field[i] as number) < END - 2) field[i] = (field[i] as number) + 1;
      input = Math.floor(input / 4);
    }
  }
  field[Math.floor(HEIGHT / 2) * WIDTH + Math.floor(WIDTH / 2)] = END - 1;
  field[y * WIDTH + x] = END;
  let title = `[${typeName} ${bits}]`;
  if (title.length > WIDTH) title = `[${typeName}]`;
  const lines = [framed(title.slice(0, WIDTH))];
  for (let row = 0; row < HEIGHT; row++) {
    let line = '|';
    for (let col = 0; col < WIDTH; col++) line += SYMBOLS[Math.min(field[row * WIDTH + col] as number, END)];
    lines.push(`${line}|`);
  }
  lines.push(framed(`[${hash.toUpperCase()}]`));
  return lines.join('\n');
}

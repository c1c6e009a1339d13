/** The Bubble Babble encoding (Antti Huima's spec) that `ssh-keygen -B` prints for a key's SHA-1 digest. */

const VOWELS = 'aeiouy';
const CONSONANTS = 'bcdfghklmnprstvzx';

/**
 * Encodes bytes as Bubble Babble: `x`, then one 5-character tuple (vowel, consonant, vowel, consonant, `-`,
 * consonant) per byte pair with a running checksum, a final partial tuple, and `x`.
 */
export function bubblebabble(data: Uint8Array): string {
  const rounds = Math.floor(data.length / 2) + 1;
  let seed = 1;
  let out = 'x';
  for (let i = 0; i < rounds; i++) {
    const last = i + 1 === rounds;
    if (!last || data.length % 2 !== 0) {
      const b0 = data[2 * i] as number;
      out += VOWELS[((b0 >> 6) + seed) % 6];
      out += CONSONANTS[(b0 >> 2) & 15];
      out += VOWELS[((b0 & 3) + Math.floor(seed / 6)) % 6];
      if (!last) {
        const b1 = data[2 * i + 1] as number;
        out += `${CONSONANTS[b1 >> 4]}-${CONSONANTS[b1 & 15]}`;
        seed = (seed * 5 + b0 * 7 + b1) % 36;
      }
    } else {
      out += `${VOWELS[seed % 6]}${CONSONANTS[16]}${VOWELS[Math.floor(seed / 6)]}`;
    }
  }
  return `${out}x`;
}

/**
 * Encoded terminal modes (RFC 4254 §8, RFC 8160): `byte opcode || uint32 value` pairs ended by
 * TTY_OP_END (0). Opcodes 160–255 are undefined and stop parsing.
 */
import { InvalidArgumentError, ProtocolError } from '../errors.js';

/** Terminal mode opcodes by name. */
export const TERMINAL_MODES: Readonly<Record<string, number>> = Object.freeze({
  VINTR: 1,
  VQUIT: 2,
  VERASE: 3,
  VKILL: 4,
  VEOF: 5,
  VEOL: 6,
  VEOL2: 7,
  VSTART: 8,
  VSTOP: 9,
  VSUSP: 10,
  VDSUSP: 11,
  VREPRINT: 12,
  VWERASE: 13,
  VLNEXT: 14,
  VFLUSH: 15,
  VSWTCH: 16,
  VSTATUS: 17,
  VDISCARD: 18,
  IGNPAR: 30,
  PARMRK: 31,
  INPCK: 32,
  ISTRIP: 33,
  INLCR: 34,
  IGNCR: 35,
  ICRNL: 36,
  IUCLC: 37,
  IXON: 38,
  IXANY: 39,
  IXOFF: 40,
  IMAXBEL: 41,
  IUTF8: 42,
  ISIG: 50,
  ICANON: 51,
  XCASE: 52,
  ECHO: 53,
  ECHOE: 54,
  ECHOK: 55,
  ECHONL: 56,
  NOFLSH: 57,
  TOSTOP: 58,
  IEXTEN: 59,
  ECHOCTL: 60,
  ECHOKE: 61,
  PENDIN: 62,
  OPOST: 70,
  OLCUC: 71,
  ONLCR: 72,
  OCRNL: 73,
  ONOCR: 74,
  ONLRET: 75,
  CS7: 90,
  CS8: 91,
  PARENB: 92,
  PARODD: 93,
  TTY_OP_ISPEED: 128,
  TTY_OP_OSPEED: 129,
});

const NAMES_BY_OPCODE = new Map<number, string>(Object.entries(TERMINAL_MODES).map(([k, v]) => [v, k]));

/** Largest number of mode pairs accepted when decoding. */
const MAX_MODES = 256;

/**
 * Encodes modes given by name (or by decimal opcode 1–159 as a string) into the RFC 4254 §8 byte
 * string, ending with TTY_OP_END. Throws InvalidArgumentError on unknown names or out-of-range values.
 */
export function encodeTerminalModes(modes: Record<string, number> = {}): Buffer {
  const entries = Object.entries(modes);
  const out = Buffer.alloc(entries.length * 5 + 1);
  let pos = 0;
  for (const [name, value] of entries) {
    let opcode = TERMINAL_MODES[name];
    if (opcode === undefined && /^[0-9]{1,3}$/.test(name)) opcode = Number(name);
    if (opcode === undefined || opcode < 1 || opcode > 159) {
      throw new InvalidArgumentError(`unknown terminal mode: ${name}`);
    }
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new InvalidArgumentError(`terminal mode ${name} value out of range`);
    }
    out[pos] = opcode;
    out.writeUInt32BE(value, pos + 1);
    pos += 5;
  }
  out[pos] = 0;
  return out;
}

/**
 * Decodes an encoded terminal-modes string. Known opcodes are keyed by name, others by their decimal
 * opcode. Parsing stops at TTY_OP_END or an opcode of 160 or more; a truncated pair is a ProtocolError.
 */
export function decodeTerminalModes(data: Uint8Array): Record<string, number> {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const modes: Record<string, number> = {};
  let pos = 0;
  let count = 0;
  while (pos < buf.length) {
    const opcode = buf[pos] as number;
    if (opcode === 0 || opcode >= 160) break;
    if (pos + 5 > buf.length) throw new ProtocolError('truncated terminal mode');
    if (++count > MAX_MODES) throw new ProtocolError('too many terminal modes');
    modes[NAMES_BY_OPCODE.get(opcode) ?? String(opcode)] = buf.readUInt32BE(pos + 1);
    pos += 5;
  }
  return modes;
}

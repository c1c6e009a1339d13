import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeSessionRequest,
  decodeTcpipOpen,
  decodeTerminalModes,
  encodePtyRequest,
  encodeTcpipOpen,
  encodeTerminalModes,
  TERMINAL_MODES,
} from '../../../src/connection/index.js';
import { InvalidArgumentError, ProtocolError } from '../../../src/errors.js';

test('terminal modes encode as opcode || uint32, ending with TTY_OP_END (RFC 4254 §8)', () => {
  const enc = encodeTerminalModes({ VINTR: 3, ECHO: 1, ICANON: 0, TTY_OP_ISPEED: 38400, TTY_OP_OSPEED: 38400 });
  assert.equal(enc.toString('hex'), '0100000003' + '3500000001' + '3300000000' + '8000009600' + '8100009600' + '00');
  assert.equal(encodeTerminalModes({}).toString('hex'), '00');
});

test('terminal mode opcodes match RFC 4254 §8 / RFC 8160', () => {
  const expect: Record<string, number> = {
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
  };
  assert.deepEqual({ ...TERMINAL_MODES }, expect);
});

test('terminal modes decode: names, numeric unknowns, stop at END or opcode >= 160, truncation rejected', () => {
  const modes = { VINTR: 3, ECHO: 0, '99': 7, TTY_OP_OSPEED: 9600 };
  assert.deepEqual(decodeTerminalModes(encodeTerminalModes(modes)), modes);
  assert.deepEqual(decodeTerminalModes(Buffer.from('0100000003a0ffffffff3500000001', 'hex')), { VINTR: 3 });
  assert.deepEqual(decodeTerminalModes(Buffer.alloc(0)), {});
  assert.throws(() => decodeTerminalModes(Buffer.from('01000000', 'hex')), ProtocolError);
  assert.throws(() => encodeTerminalModes({ NOPE: 1 }), InvalidArgumentError);
  assert.throws(() => encodeTerminalModes({ ECHO: -1 }), InvalidArgumentError);
  assert.throws(() => encodeTerminalModes({ '200': 1 }), InvalidArgumentError);
});

test('pty-req round-trips with defaults; malformed requests are ProtocolErrors', () => {
  assert.deepEqual(decodeSessionRequest('pty-req', encodePtyRequest()), {
    type: 'pty-req',
    term: 'vt100',
    cols: 80,
    rows: 24,
    width: 0,
    height: 0,
    modes: {},
  });
  assert.throws(() => decodeSessionRequest('exec', Buffer.from([0, 0, 0, 5, 1])), ProtocolError);
  assert.throws(() => decodeSessionRequest('shell', Buffer.from([0])), ProtocolError);
  assert.equal(decodeSessionRequest('whatever@example.com', Buffer.from([1, 2])), undefined);
});

test('tcpip open tails round-trip and follow RFC 4254 §7.2 layout', () => {
  const t = { host: 'example.com', port: 22, originHost: '127.0.0.1', originPort: 50000 };
  const enc = encodeTcpipOpen(t);
  assert.equal(
    enc.toString('hex'),
    '0000000b' +
      Buffer.from('example.com').toString('hex') +
      '00000016' +
      '00000009' +
      Buffer.from('127.0.0.1').toString('hex') +
      '0000c350',
  );
  assert.deepEqual(decodeTcpipOpen(enc), t);
  assert.throws(() => decodeTcpipOpen(Buffer.concat([enc, Buffer.from([0])])), ProtocolError);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError, WireError } from '../../../src/errors.js';
import { decodeAttrs, encodeAttrs } from '../../../src/sftp/attrs.js';
import {
  buildData,
  buildPacket,
  buildWrite,
  decodeLimits,
  decodeResponse,
  decodeStatvfs,
  decodeUsersGroups,
  decodeVersion,
  encodeLimits,
  encodeNames,
  encodeVersion,
  PacketFramer,
} from '../../../src/sftp/codec.js';
import { FX, FXP, MAX_PACKET } from '../../../src/sftp/constants.js';
import { nodeCodeToStatus, SftpError, statusToNodeCode } from '../../../src/sftp/errors.js';
import { SshReader, SshWriter } from '../../../src/wire/index.js';

test('attrs round-trip, every field', () => {
  const a = {
    size: 2 ** 40 + 3,
    uid: 1000,
    gid: 0xffffffff,
    mode: 0o100644,
    atime: 1,
    mtime: 0xfffffffe,
    extended: [{ type: 'x@y', data: Buffer.from('z') }],
  };
  const w = new SshWriter();
  encodeAttrs(w, a);
  const r = new SshReader(w.toBuffer());
  assert.deepEqual(decodeAttrs(r), a);
  r.ensureEnd();
});

test('attrs: exact bytes for size+mode (draft-02 layout)', () => {
  const w = new SshWriter();
  encodeAttrs(w, { size: 5, mode: 0o644 });
  assert.equal(w.toBuffer().toString('hex'), '00000005' + '0000000000000005' + '000001a4');
  const empty = new SshWriter();
  encodeAttrs(empty, {});
  assert.equal(empty.toBuffer().toString('hex'), '00000000');
});

test('attrs: unknown flags, size beyond 2^53 and huge extension counts are refused', () => {
  assert.throws(() => decodeAttrs(new SshReader(Buffer.from('00000010', 'hex'))), ProtocolError);
  const big = new SshWriter()
    .uint32(1)
    .uint64(2n ** 60n)
    .toBuffer();
  assert.throws(() => decodeAttrs(new SshReader(big)), ProtocolError);
  const ext = new SshWriter().uint32(0x80000000).uint32(1_000_000).toBuffer();
  assert.throws(() => decodeAttrs(new SshReader(ext)), ProtocolError);
  assert.throws(() => encodeAttrs(new SshWriter(), { uid: -1 }), RangeError);
});

test('framer: packets split at every byte boundary and coalesced', () => {
  const pkts = [
    buildPacket(FXP.STATUS, 7, (w) => w.uint32(FX.EOF).string('eof').string('')),
    buildData(8, Buffer.alloc(70000, 1)),
    encodeVersion(3, new Map([['a', '1']])),
  ];
  const all = Buffer.concat(pkts);
  for (const step of [1, 3, 4, 5, 1000, all.length]) {
    const f = new PacketFramer();
    const got: Buffer[] = [];
    for (let i = 0; i < all.length; i += step) got.push(...f.push(all.subarray(i, i + step)));
    assert.equal(got.length, 3);
    for (let i = 0; i < 3; i++) assert.deepEqual(got[i], (pkts[i] as Buffer).subarray(4));
    assert.equal(f.pending, 0);
  }
});

test('framer: length 0 and over 256 KiB are refused from the header alone', () => {
  assert.throws(() => new PacketFramer().push(Buffer.from('00000000', 'hex')), ProtocolError);
  const h = Buffer.alloc(4);
  h.writeUInt32BE(MAX_PACKET + 1);
  assert.throws(() => new PacketFramer().push(h), ProtocolError);
  h.writeUInt32BE(0xffffffff);
  assert.throws(() => new PacketFramer().push(h), ProtocolError);
  h.writeUInt32BE(MAX_PACKET);
  assert.deepEqual(new PacketFramer().push(h), []);
});

test('decodeResponse: each reply type; STATUS without message; trailing bytes refused', () => {
  const dec = (b: Buffer) => decodeResponse(b.subarray(4));
  assert.deepEqual(dec(buildPacket(FXP.STATUS, 1, (w) => w.uint32(2).string('no such file').string('en'))), {
    type: FXP.STATUS,
    id: 1,
    code: 2,
    message: 'no such file',
  });
  assert.deepEqual(dec(buildPacket(FXP.STATUS, 0xffffffff, (w) => w.uint32(0))), {
    type: FXP.STATUS,
    id: 0xffffffff,
    code: 0,
    message: '',
  });
  const h = dec(buildPacket(FXP.HANDLE, 2, (w) => w.string('abc')));
  assert.ok(h.type === FXP.HANDLE && h.handle.toString() === 'abc');
  assert.throws(() => dec(buildPacket(FXP.HANDLE, 2, (w) => w.string(Buffer.alloc(257)))), WireError);
  const d = dec(buildData(3, Buffer.from('hello')));
  assert.ok(d.type === FXP.DATA && d.data?.toString() === 'hello');
  const names = [
    { filename: 'a', longname: '-rw a', attrs: { size: 1 } },
    { filename: 'ü', longname: '', attrs: {} },
  ];
  const n = dec(buildPacket(FXP.NAME, 4, (w) => encodeNames(w, names)));
  assert.ok(n.type === FXP.NAME);
  assert.deepEqual(n.names, names);
  assert.throws(() => dec(buildPacket(FXP.NAME, 4, (w) => w.uint32(1_000_000))), ProtocolError);
  assert.throws(() => dec(buildPacket(FXP.ATTRS, 5, (w) => w.uint32(0).byte(0))), WireError);
  assert.throws(() => dec(buildPacket(77, 5, () => {})), ProtocolError);
});

test('WRITE is built byte-exact', () => {
  const b = buildWrite(0x01020304, Buffer.from('hh'), 2 ** 33, Buffer.from('xyz'));
  const r = new SshReader(b);
  assert.equal(r.uint32(), b.length - 4);
  assert.equal(r.byte(), FXP.WRITE);
  assert.equal(r.uint32(), 0x01020304);
  assert.equal(r.string().toString(), 'hh');
  assert.equal(r.uint64(), 2n ** 33n);
  assert.equal(r.string().toString(), 'xyz');
  r.ensureEnd();
});

test('VERSION with extensions; limits, statvfs and users-groups bodies', () => {
  const v = decodeVersion(
    encodeVersion(
      3,
      new Map([
        ['posix-rename@openssh.com', '1'],
        ['limits@openssh.com', '1'],
      ]),
    ).subarray(4),
  );
  assert.equal(v.version, 3);
  assert.equal(v.extensions.get('limits@openssh.com'), '1');
  assert.throws(() => decodeVersion(encodeVersion(3, new Map(), FXP.INIT).subarray(4)), ProtocolError);
  const lw = new SshWriter();
  encodeLimits(lw, { maxPacketLength: 262144, maxReadLength: 261120, maxWriteLength: 261120, maxOpenHandles: 0 });
  assert.deepEqual(decodeLimits(lw.toBuffer()), {
    maxPacketLength: 262144,
    maxReadLength: 261120,
    maxWriteLength: 261120,
    maxOpenHandles: 0,
  });
  const sw = new SshWriter();
  for (let i = 1; i <= 11; i++) sw.uint64(BigInt(i));
  const s = decodeStatvfs(sw.toBuffer());
  assert.equal(s.bsize, 1n);
  assert.equal(s.namemax, 11n);
  assert.throws(() => decodeStatvfs(sw.toBuffer().subarray(0, 80)), WireError);
  const inner = (xs: string[]) => {
    const w = new SshWriter();
    for (const x of xs) w.string(x);
    return w.toBuffer();
  };
  const ug = new SshWriter()
    .string(inner(['root', '']))
    .string(inner(['wheel']))
    .toBuffer();
  assert.deepEqual(decodeUsersGroups(ug), { users: ['root', ''], groups: ['wheel'] });
});

test('status codes map to Node codes and back', () => {
  assert.equal(statusToNodeCode(FX.NO_SUCH_FILE), 'ENOENT');
  assert.equal(statusToNodeCode(FX.PERMISSION_DENIED), 'EACCES');
  assert.equal(statusToNodeCode(FX.OP_UNSUPPORTED), 'ENOSYS');
  assert.equal(nodeCodeToStatus('ENOENT'), FX.NO_SUCH_FILE);
  assert.equal(nodeCodeToStatus('EROFS'), FX.PERMISSION_DENIED);
  assert.equal(nodeCodeToStatus('EEXIST'), FX.FAILURE);
  const e = new SftpError(FX.NO_SUCH_FILE, 'No such file', '/x');
  assert.equal(e.code, 'ERR_SSH_SFTP');
  assert.equal(e.nodeCode, 'ENOENT');
  assert.equal(e.path, '/x');
});

test('framer: pushScattered leaves a split DATA reply in its pieces, other packets whole', () => {
  const data = Buffer.alloc(100_000, 7);
  for (let i = 0; i < data.length; i++) data[i] = i % 251;
  const stream = Buffer.concat([
    buildData(5, data),
    buildPacket(FXP.STATUS, 6, (w) => w.uint32(0).string('ok').string('')),
    buildData(7, Buffer.from('tiny')),
  ]);
  const f = new PacketFramer();
  const out: ReturnType<PacketFramer['pushScattered']> = [];
  for (let off = 0; off < stream.length; off += 32_768)
    out.push(...f.pushScattered(stream.subarray(off, off + 32_768)));
  assert.equal(out.length, 3);
  const [big, status, tiny] = out;
  assert.ok(big && !Buffer.isBuffer(big), 'the 100 kB reply spans chunks: scattered');
  assert.equal(big.head.readUInt32BE(1), 5);
  assert.equal(big.length, data.length);
  assert.ok(big.parts.length > 1);
  assert.ok(Buffer.concat(big.parts).equals(data));
  assert.ok(Buffer.isBuffer(status) && decodeResponse(status).type === FXP.STATUS);
  assert.ok(Buffer.isBuffer(tiny));
  const t = decodeResponse(tiny);
  assert.ok(t.type === FXP.DATA && t.data?.toString() === 'tiny');
});

test('framer: a 250 kB DATA reply in 1-byte pieces comes out whole, joined or scattered', { timeout: 10_000 }, () => {
  const data = Buffer.alloc(250_000, 3);
  const pkt = buildData(9, data);
  for (const scattered of [false, true]) {
    const f = new PacketFramer();
    const out: ReturnType<PacketFramer['pushScattered']> = [];
    for (let i = 0; i < pkt.length; i++) {
      const piece = pkt.subarray(i, i + 1);
      out.push(...(scattered ? f.pushScattered(piece) : f.push(piece)));
    }
    assert.equal(out.length, 1);
    const p = out[0];
    let bytes: Buffer | undefined;
    if (p !== undefined && Buffer.isBuffer(p)) {
      const r = decodeResponse(p);
      bytes = r.type === FXP.DATA ? r.data : undefined;
    } else if (p !== undefined) {
      bytes = Buffer.concat(p.parts);
    }
    assert.ok(bytes?.equals(data), scattered ? 'scattered' : 'joined');
  }
});

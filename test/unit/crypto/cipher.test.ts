import assert from 'node:assert/strict';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { CIPHERS, cipherInfo, createOpener, createSealer } from '../../../src/crypto/cipher.js';
import { MACS, macInfo } from '../../../src/crypto/mac.js';
import type { CipherInfo, DirectionKeys, MacInfo, PacketOpener, PacketSealer } from '../../../src/crypto/types.js';
import { InvalidArgumentError, MacError } from '../../../src/errors.js';

/** Builds a plaintext packet the way the transport does (RFC 4253 §6), for a given sealer. */
function buildPacket(s: PacketSealer, payload: Buffer): Buffer {
  const base = 1 + payload.length + (s.lengthExcludedFromPadding ? 0 : 4);
  let pad = s.blockSize - (base % s.blockSize);
  if (pad < 4) pad += s.blockSize;
  const len = 1 + payload.length + pad;
  const p = Buffer.alloc(4 + len);
  p.writeUInt32BE(len, 0);
  p[4] = pad;
  payload.copy(p, 5);
  randomBytes(pad).copy(p, 5 + payload.length);
  return p;
}

/** Opens one wire packet the way the transport does: header first, then the whole packet. */
function openWire(o: PacketOpener, seq: number, wire: Buffer): Buffer {
  const len = o.packetLength(seq, wire.subarray(0, o.headerLength));
  assert.equal(wire.length, 4 + len + o.macLength);
  return o.open(seq, wire);
}

function keysFor(c: CipherInfo, m: MacInfo | undefined): DirectionKeys {
  return {
    cipher: c.name,
    mac: m?.name ?? '',
    key: randomBytes(c.keyLength),
    iv: randomBytes(c.ivLength),
    macKey: m ? randomBytes(m.keyLength) : Buffer.alloc(0),
  };
}

function combinations(): { c: CipherInfo; m: MacInfo | undefined }[] {
  const out: { c: CipherInfo; m: MacInfo | undefined }[] = [];
  for (const c of CIPHERS) {
    if (c.aead) out.push({ c, m: undefined });
    else for (const m of MACS) out.push({ c, m });
  }
  return out;
}

test('tables: default order, insecure rows, lookups', () => {
  assert.deepEqual(
    CIPHERS.filter((c) => !c.insecure).map((c) => c.name),
    [
      'chacha20-poly1305@openssh.com',
      'aes128-gcm@openssh.com',
      'aes256-gcm@openssh.com',
      'aes128-ctr',
      'aes192-ctr',
      'aes256-ctr',
    ],
  );
  assert.deepEqual(
    CIPHERS.filter((c) => c.insecure).map((c) => c.name),
    ['aes128-cbc', 'aes192-cbc', 'aes256-cbc', '3des-cbc'],
  );
  assert.deepEqual(
    MACS.filter((m) => !m.insecure).map((m) => m.name),
    ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  );
  assert.deepEqual(
    MACS.filter((m) => m.insecure).map((m) => m.name),
    ['hmac-sha1-etm@openssh.com', 'hmac-sha1'],
  );
  assert.equal(cipherInfo('aes256-ctr')?.keyLength, 32);
  assert.equal(cipherInfo('3des-cbc')?.rekeyBytes, 512 * 1024);
  assert.equal(cipherInfo('aes128-gcm@openssh.com')?.rekeyBytes, 2 ** 30);
  assert.equal(macInfo('hmac-sha2-512')?.length, 64);
  assert.equal(cipherInfo('arcfour'), undefined);
  assert.equal(macInfo('hmac-md5'), undefined);
});

test('every cipher x MAC round-trips many packets, sequence numbers wrapping', () => {
  for (const { c, m } of combinations()) {
    const keys = keysFor(c, m);
    const s = createSealer(keys);
    const o = createOpener(keys);
    assert.equal(s.blockSize, c.blockSize);
    assert.equal(o.blockSize, c.blockSize);
    assert.equal(s.macLength, o.macLength);
    let seq = 0xfffffff0;
    for (let i = 0; i < 40; i++) {
      const payload = randomBytes(i === 39 ? 35000 : (i * 37) % 300);
      const packet = buildPacket(s, payload);
      const wire = s.seal(seq, packet);
      assert.equal(wire.length, packet.length + s.macLength, `${c.name}/${m?.name}`);
      const plain = openWire(o, seq, wire);
      assert.deepEqual(plain, packet.subarray(4), `${c.name}/${m?.name} packet ${i}`);
      seq = (seq + 1) % 0x100000000;
    }
  }
});

test('tampering any byte is detected (MacError, or a changed length the transport rejects)', () => {
  for (const { c, m } of combinations()) {
    const keys = keysFor(c, m);
    const packet = buildPacket(createSealer(keys), randomBytes(40));
    const wire = createSealer(keys).seal(7, packet);
    for (let i = 0; i < wire.length; i++) {
      const bad = Buffer.from(wire);
      bad[i] = (bad[i] as number) ^ (1 << (i % 8));
      const o = createOpener(keys);
      const len = o.packetLength(7, bad.subarray(0, o.headerLength));
      if (len !== packet.length - 4) continue; // framing changed: the transport sees a different packet
      assert.throws(() => o.open(7, bad), MacError, `${c.name}/${m?.name} byte ${i}`);
    }
    // A wrong sequence number fails too (AES-GCM ignores it: its nonce is its own counter).
    if (c.name.includes('-gcm@')) continue;
    const o = createOpener(keys);
    if (o.packetLength(8, wire.subarray(0, o.headerLength)) === packet.length - 4) {
      assert.throws(() => o.open(8, wire), MacError, `${c.name}/${m?.name} seq`);
    }
  }
});

test('aes-ctr + hmac: keystream continues across packets and MAC = HMAC(seq || plaintext)', () => {
  const c = cipherInfo('aes128-ctr') as CipherInfo;
  const m = macInfo('hmac-sha2-256') as MacInfo;
  const keys = keysFor(c, m);
  const s = createSealer(keys);
  const packets = [0, 1, 2].map((i) => buildPacket(s, randomBytes(20 + i * 50)));
  const wires = packets.map((p, i) => s.seal(100 + i, p));
  // Independent: keystream block n = AES-ECB(K, IV + n).
  const all = Buffer.concat(packets);
  const ks = Buffer.alloc(all.length + 16);
  const ctr = Buffer.from(keys.iv);
  const ecb = createCipheriv('aes-128-ecb', keys.key, null).setAutoPadding(false);
  for (let off = 0; off < ks.length - 16; off += 16) {
    ecb.update(ctr).copy(ks, off);
    for (let j = 15; j >= 0; j--) {
      ctr[j] = ((ctr[j] as number) + 1) % 256;
      if (ctr[j] !== 0) break;
    }
  }
  let off = 0;
  packets.forEach((p, i) => {
    const w = wires[i] as Buffer;
    const expectCt = Buffer.alloc(p.length);
    for (let j = 0; j < p.length; j++) expectCt[j] = (p[j] as number) ^ (ks[off + j] as number);
    off += p.length;
    assert.deepEqual(w.subarray(0, p.length), expectCt);
    const seq = Buffer.alloc(4);
    seq.writeUInt32BE(100 + i);
    assert.deepEqual(w.subarray(p.length), createHmac('sha256', keys.macKey).update(seq).update(p).digest());
  });
});

test('etm: length in clear, MAC = HMAC(seq || length || ciphertext), body aligned without the length', () => {
  const c = cipherInfo('aes256-ctr') as CipherInfo;
  const m = macInfo('hmac-sha2-512-etm@openssh.com') as MacInfo;
  const keys = keysFor(c, m);
  const s = createSealer(keys);
  assert.equal(s.lengthExcludedFromPadding, true);
  const p = buildPacket(s, randomBytes(77));
  assert.equal((p.length - 4) % 16, 0);
  const w = s.seal(5, p);
  assert.deepEqual(w.subarray(0, 4), p.subarray(0, 4));
  const ct = createCipheriv('aes-256-ctr', keys.key, keys.iv).update(p.subarray(4));
  assert.deepEqual(w.subarray(4, p.length), ct);
  const seq = Buffer.from([0, 0, 0, 5]);
  assert.deepEqual(
    w.subarray(p.length),
    createHmac('sha512', keys.macKey).update(seq).update(w.subarray(0, p.length)).digest(),
  );
});

test('aes-gcm: nonce = fixed || counter (incremented per packet, wrapping), length is AAD, 16-byte tag', () => {
  const c = cipherInfo('aes256-gcm@openssh.com') as CipherInfo;
  const keys = keysFor(c, undefined);
  keys.iv = Buffer.from('01020304fffffffffffffffe', 'hex');
  const s = createSealer(keys);
  const o = createOpener(keys);
  const nonces = ['01020304fffffffffffffffe', '01020304ffffffffffffffff', '010203040000000000000000'];
  let first: Buffer | undefined;
  for (const [i, n] of nonces.entries()) {
    const p = buildPacket(s, randomBytes(30 + i));
    const w = s.seal(i, p);
    const g = createCipheriv('aes-256-gcm', keys.key, Buffer.from(n, 'hex'));
    g.setAAD(p.subarray(0, 4));
    const ct = g.update(p.subarray(4));
    g.final();
    assert.deepEqual(w, Buffer.concat([p.subarray(0, 4), ct, g.getAuthTag()]), `packet ${i}`);
    assert.deepEqual(openWire(o, i, w), p.subarray(4));
    first ??= w;
  }
  // A replayed packet meets a different nonce.
  assert.throws(() => openWire(o, 0, first as Buffer), MacError);
});

test('none state: clear packets, block size 8, no MAC', () => {
  const s = createSealer(null);
  const o = createOpener(null);
  assert.equal(s.blockSize, 8);
  assert.equal(s.macLength, 0);
  const p = buildPacket(s, Buffer.from('hello'));
  assert.equal(p.length % 8, 0);
  assert.deepEqual(s.seal(0, p), p);
  assert.deepEqual(openWire(o, 0, p), p.subarray(4));
});

test('packetLength returns the raw number even when it is not block aligned', () => {
  const keys = keysFor(cipherInfo('aes128-ctr') as CipherInfo, macInfo('hmac-sha2-256') as MacInfo);
  const header = createCipheriv('aes-128-ctr', keys.key, keys.iv).update(
    Buffer.from(`0000000d${'00'.repeat(12)}`, 'hex'),
  );
  assert.equal(createOpener(keys).packetLength(0, header), 13);
});

test('rejects unknown algorithms and short keys', () => {
  const good = keysFor(cipherInfo('aes128-ctr') as CipherInfo, macInfo('hmac-sha2-256') as MacInfo);
  assert.throws(() => createSealer({ ...good, cipher: 'rc4' }), InvalidArgumentError);
  assert.throws(() => createOpener({ ...good, mac: 'hmac-md5' }), InvalidArgumentError);
  assert.throws(() => createSealer({ ...good, key: Buffer.alloc(8) }), InvalidArgumentError);
  assert.throws(() => createSealer({ ...good, macKey: Buffer.alloc(8) }), InvalidArgumentError);
  assert.throws(
    () => createSealer({ ...good, cipher: 'chacha20-poly1305@openssh.com', key: Buffer.alloc(32) }),
    InvalidArgumentError,
  );
});

test('sealParts gives the bytes seal gives, for every cipher x MAC and any split of the packet', () => {
  for (const { c, m } of combinations()) {
    const keys = keysFor(c, m);
    const whole = createSealer(keys);
    const parted = createSealer(keys);
    assert.ok(parted.sealParts, `${c.name} has sealParts`);
    // Payload sizes on both sides of chacha's small-payload path, splits at odd offsets.
    for (const [i, size] of [0, 9, 100, 767, 769, 4096, 32777].entries()) {
      const packet = buildPacket(whole, randomBytes(size));
      const cuts = [5 + Math.min(size, 13), packet.length - (packet[4] as number)].sort((a, b) => a - b);
      const parts = [packet.subarray(0, cuts[0]), packet.subarray(cuts[0], cuts[1]), packet.subarray(cuts[1])];
      const seq = 0xfffffffe + i;
      const expected = whole.seal(seq % 0x100000000, packet);
      const got = Buffer.concat(parted.sealParts?.(seq % 0x100000000, parts) ?? []);
      assert.ok(got.equals(expected), `${c.name} ${m?.name ?? ''} payload ${size}`);
    }
  }
});

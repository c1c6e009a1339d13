#!/usr/bin/env node
/**
 * Dev-time generator for src/crypto/poly1305-wasm.ts: builds the Poly1305 WebAssembly module from
 * the WAT text below (compiled with the `wabt` devDependency) and writes its bytes as a base64
 * constant, with the memory layout constants the TypeScript wrapper needs. The library itself never
 * loads wabt. Run: node scripts/build-poly1305-wasm.mjs  (with --check: exit 1 if the checked-in file is stale)
 *
 * Arithmetic: 26-bit limbs held in i64 locals (products < 2^56, column sums < 2^59). Blocks are
 * processed four at a time as h' = (h + m1)·r^4 + m2·r^3 + m3·r^2 + m4·r, so the 100 products of a
 * group are independent and only one carry chain runs per 64 bytes; leftovers go one block at a time.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileWat, writeModuleFile } from './wasm-module.mjs';

// Memory layout (bytes). The state block [0, STATE_SIZE) is what the wrapper saves and restores
// when several Poly1305 objects share the one instance.
const H = 0; // h0..h4, i64 each
const POW = 40; // for k = 1..4: r^k limbs (5 × i64) then 5·r^k limbs (5 × i64): 80 bytes per power
const PAD = POW + 4 * 80; // s, 16 bytes
const LEFT = PAD + 16; // i32: bytes buffered in BUF
const BUF = LEFT + 8; // 16-byte partial block
const STATE_SIZE = BUF + 16;
const KEY = 512; // init() reads the 32-byte key here and wipes it
const TAG = 544; // finish() writes the 16-byte tag here
const DATA = 1024; // update() input area
const PAGES = 3;
const DATA_SIZE = PAGES * 65536 - DATA;

const SIMD_MIN_GROUPS = Number(process.env.SIMD_MIN ?? 3);
const M26 = '(i64.const 0x3ffffff)';
const powR = (k, j) => POW + (k - 1) * 80 + 8 * j;
const powS = (k, j) => POW + (k - 1) * 80 + 40 + 8 * j;
const get = (n) => `(local.get $${n})`;
const range5 = [0, 1, 2, 3, 4];

/**
 * Sets locals d0..d4 to the columns of Σ x·R mod p over the given (x, R, S = 5·R) triples, one input
 * limb at a time (x_i·R_j lands in column i + j, or i + j − 5 via S_j): this keeps few values live,
 * which TurboFan turns into far fewer spills than column-by-column sums.
 */
function products(triples) {
  const out = [];
  let first = true;
  for (const [x, R, S] of triples) {
    for (const i of range5) {
      for (const k of range5) {
        const j = k - i;
        const term = `(i64.mul ${x[i]} ${j >= 0 ? R[j] : S[j + 5]})`;
        out.push(`(local.set $d${k} ${first ? term : `(i64.add (local.get $d${k}) ${term})`})`);
      }
      first = false;
    }
  }
  return out.join('\n');
}

/** Carries d0..d4 into the limbs named `out` (h0, h1 end up at most slightly above 2^26). */
function carry(out) {
  return `
    (local.set $c (i64.shr_u (local.get $d0) (i64.const 26)))
    (local.set $${out[0]} (i64.and (local.get $d0) ${M26}))
    (local.set $d1 (i64.add (local.get $d1) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $d1) (i64.const 26)))
    (local.set $${out[1]} (i64.and (local.get $d1) ${M26}))
    (local.set $d2 (i64.add (local.get $d2) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $d2) (i64.const 26)))
    (local.set $${out[2]} (i64.and (local.get $d2) ${M26}))
    (local.set $d3 (i64.add (local.get $d3) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $d3) (i64.const 26)))
    (local.set $${out[3]} (i64.and (local.get $d3) ${M26}))
    (local.set $d4 (i64.add (local.get $d4) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $d4) (i64.const 26)))
    (local.set $${out[4]} (i64.and (local.get $d4) ${M26}))
    (local.set $${out[0]} (i64.add (local.get $${out[0]}) (i64.mul (local.get $c) (i64.const 5))))
    (local.set $c (i64.shr_u (local.get $${out[0]}) (i64.const 26)))
    (local.set $${out[0]} (i64.and (local.get $${out[0]}) ${M26}))
    (local.set $${out[1]} (i64.add (local.get $${out[1]}) (local.get $c)))`;
}

/** The five 26-bit limbs of the 16-byte block at `$p + off`, with `hibit` (an expression) added to limb 4. */
function blockLimbs(off, hibit) {
  const ld = (o) => `(i64.load32_u offset=${off + o} (local.get $p))`;
  return [
    `(i64.and ${ld(0)} ${M26})`,
    `(i64.and (i64.shr_u ${ld(3)} (i64.const 2)) ${M26})`,
    `(i64.and (i64.shr_u ${ld(6)} (i64.const 4)) ${M26})`,
    `(i64.and (i64.shr_u ${ld(9)} (i64.const 6)) ${M26})`,
    `(i64.or (i64.shr_u ${ld(12)} (i64.const 8)) ${hibit})`,
  ];
}

const decl = (names) => names.map((n) => `(local $${n} i64)`).join(' ');
const names = (prefix) => range5.map((i) => `${prefix}${i}`);
const loadH = range5.map((i) => `(local.set $h${i} (i64.load offset=${H + 8 * i} (i32.const 0)))`).join('\n');
const storeH = range5.map((i) => `(i64.store offset=${H + 8 * i} (i32.const 0) (local.get $h${i}))`).join('\n');
const loadPow = (k) =>
  range5
    .map(
      (j) =>
        `(local.set $r${k}_${j} (i64.load offset=${powR(k, j)} (i32.const 0)))` +
        `(local.set $s${k}_${j} (i64.load offset=${powS(k, j)} (i32.const 0)))`,
    )
    .join('\n');
const storePow = (k, src) =>
  range5
    .map(
      (j) =>
        `(i64.store offset=${powR(k, j)} (i32.const 0) (local.get $${src}${j}))` +
        `(i64.store offset=${powS(k, j)} (i32.const 0) (i64.mul (local.get $${src}${j}) (i64.const 5)))`,
    )
    .join('\n');
const powVars = (k) => [range5.map((j) => get(`r${k}_${j}`)), range5.map((j) => get(`s${k}_${j}`))];
const powDecl = (k) => decl([...range5.map((j) => `r${k}_${j}`), ...range5.map((j) => `s${k}_${j}`)]);
/** Sets locals prefix0..4 to `limbs` (added to their current values when `add`). */
const setLimbs = (prefix, limbs, add) =>
  limbs.map((m, i) => `(local.set $${prefix}${i} ${add ? `(i64.add (local.get $${prefix}${i}) ${m})` : m})`).join('\n');

// ---- SIMD path: four accumulators in the lanes of i32x4 vectors, each multiplied by r^4 per group
// of four blocks; i64x2.extmul_{low,high}_i32x4_u give the 64-bit products of lanes 0,1 and 2,3.
const vM26 = '(v128.const i32x4 0x3ffffff 0x3ffffff 0x3ffffff 0x3ffffff)';
const vM26x2 = '(v128.const i64x2 0x3ffffff 0x3ffffff)';
const shuf32 = (a, b, lanes) =>
  `(i8x16.shuffle ${lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]).join(' ')} ${a} ${b})`;

/** Sets v128 locals m0..m4 to the limbs of the four blocks at $p + off (lane l = block l). */
function vLimbs(off) {
  const ld = (o) => `(v128.load offset=${off + o} align=1 (local.get $p))`;
  return `
    (local.set $t0 ${shuf32(ld(0), ld(16), [0, 4, 1, 5])})
    (local.set $t1 ${shuf32(ld(32), ld(48), [0, 4, 1, 5])})
    (local.set $t2 ${shuf32(ld(0), ld(16), [2, 6, 3, 7])})
    (local.set $t3 ${shuf32(ld(32), ld(48), [2, 6, 3, 7])})
    (local.set $w0 ${shuf32('(local.get $t0)', '(local.get $t1)', [0, 1, 4, 5])})
    (local.set $w1 ${shuf32('(local.get $t0)', '(local.get $t1)', [2, 3, 6, 7])})
    (local.set $w2 ${shuf32('(local.get $t2)', '(local.get $t3)', [0, 1, 4, 5])})
    (local.set $w3 ${shuf32('(local.get $t2)', '(local.get $t3)', [2, 3, 6, 7])})
    (local.set $m0 (v128.and (local.get $w0) ${vM26}))
    (local.set $m1 (v128.and (v128.or (i32x4.shr_u (local.get $w0) (i32.const 26)) (i32x4.shl (local.get $w1) (i32.const 6))) ${vM26}))
    (local.set $m2 (v128.and (v128.or (i32x4.shr_u (local.get $w1) (i32.const 20)) (i32x4.shl (local.get $w2) (i32.const 12))) ${vM26}))
    (local.set $m3 (v128.and (v128.or (i32x4.shr_u (local.get $w2) (i32.const 14)) (i32x4.shl (local.get $w3) (i32.const 18))) ${vM26}))
    (local.set $m4 (v128.or (i32x4.shr_u (local.get $w3) (i32.const 8)) (v128.const i32x4 0x1000000 0x1000000 0x1000000 0x1000000)))`;
}

/** H (v128 locals v0..v4) = H · (R, S) per lane, carried; R/S are v128 locals prefixes (R0..R4, S0..S4). */
function vMulCarry(R, S) {
  const out = [];
  for (const half of ['low', 'high']) {
    const d = (k) => `$e${half[0]}${k}`;
    let first = true;
    for (const i of range5) {
      for (const k of range5) {
        const j = k - i;
        const coef = j >= 0 ? `(local.get $${R}${j})` : `(local.get $${S}${j + 5})`;
        const term = `(i64x2.extmul_${half}_i32x4_u (local.get $v${i}) ${coef})`;
        out.push(`(local.set ${d(k)} ${first ? term : `(i64x2.add (local.get ${d(k)}) ${term})`})`);
      }
      first = false;
    }
    const sh = (k) => `(i64x2.shr_u (local.get ${d(k)}) (i32.const 26))`;
    const mask = (k) => `(local.set ${d(k)} (v128.and (local.get ${d(k)}) ${vM26x2}))`;
    for (let k = 0; k < 4; k++) {
      out.push(`(local.set ${d(k + 1)} (i64x2.add (local.get ${d(k + 1)}) ${sh(k)}))`, mask(k));
    }
    out.push(
      `(local.set $c2 ${sh(4)})`,
      mask(4),
      `(local.set ${d(0)} (i64x2.add (local.get ${d(0)}) (i64x2.add (local.get $c2) (i64x2.shl (local.get $c2) (i32.const 2)))))`,
      `(local.set ${d(1)} (i64x2.add (local.get ${d(1)}) ${sh(0)}))`,
      mask(0),
    );
  }
  for (const k of range5) {
    out.push(`(local.set $v${k} ${shuf32(`(local.get $el${k})`, `(local.get $eh${k})`, [0, 2, 4, 6])})`);
  }
  return out.join('\n');
}

const vDecl = (list) => list.map((n) => `(local $${n} v128)`).join(' ');

const wat = `
(module
  (memory (export "mem") ${PAGES} ${PAGES})

  ;; Reads the key at KEY, sets r^1..r^4 (and 5·r^k), s, h = 0, no buffered bytes; wipes KEY.
  (func (export "init")
    ${decl(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4', 'q0', 'q1', 'q2', 'q3', 'q4'])}
    ${decl(['d0', 'd1', 'd2', 'd3', 'd4', 'c'])}
    (local.set $a0 (i64.and (i64.load32_u offset=${KEY} (i32.const 0)) (i64.const 0x3ffffff)))
    (local.set $a1 (i64.and (i64.shr_u (i64.load32_u offset=${KEY + 3} (i32.const 0)) (i64.const 2)) (i64.const 0x3ffff03)))
    (local.set $a2 (i64.and (i64.shr_u (i64.load32_u offset=${KEY + 6} (i32.const 0)) (i64.const 4)) (i64.const 0x3ffc0ff)))
    (local.set $a3 (i64.and (i64.shr_u (i64.load32_u offset=${KEY + 9} (i32.const 0)) (i64.const 6)) (i64.const 0x3f03fff)))
    (local.set $a4 (i64.and (i64.shr_u (i64.load32_u offset=${KEY + 12} (i32.const 0)) (i64.const 8)) (i64.const 0x00fffff)))
    ${storePow(1, 'a')}
    ;; r^2 = r·r
    ${products([[names('a').map(get), names('a').map(get), range5.map((j) => `(i64.mul ${get(`a${j}`)} (i64.const 5))`)]])}
    ${carry(names('b'))}
    ${storePow(2, 'b')}
    ;; r^3 = r^2·r
    ${products([[names('b').map(get), names('a').map(get), range5.map((j) => `(i64.mul ${get(`a${j}`)} (i64.const 5))`)]])}
    ${carry(names('q'))}
    ${storePow(3, 'q')}
    ;; r^4 = r^2·r^2
    ${products([[names('b').map(get), names('b').map(get), range5.map((j) => `(i64.mul ${get(`b${j}`)} (i64.const 5))`)]])}
    ${carry(names('q'))}
    ${storePow(4, 'q')}
    (i64.store offset=${PAD} (i32.const 0) (i64.load offset=${KEY + 16} (i32.const 0)))
    (i64.store offset=${PAD + 8} (i32.const 0) (i64.load offset=${KEY + 24} (i32.const 0)))
    (memory.fill (i32.const ${H}) (i32.const 0) (i32.const 40))
    (memory.fill (i32.const ${LEFT}) (i32.const 0) (i32.const ${STATE_SIZE - LEFT}))
    (memory.fill (i32.const ${KEY}) (i32.const 0) (i32.const 32)))

  ;; n blocks at p, one at a time; hibit is 2^24 (2^128 in limb 4) or 0 for the padded final block.
  (func $blocks1 (param $p i32) (param $n i32) (param $hibit i64)
    ${decl(names('h'))} ${decl(names('d'))} (local $c i64) ${powDecl(1)}
    ${loadH}
    ${loadPow(1)}
    (loop $next
      ${setLimbs('h', blockLimbs(0, '(local.get $hibit)'), true)}
      ${products([[names('h').map(get), ...powVars(1)]])}
      ${carry(names('h'))}
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    ${storeH})

  ;; n groups of four full blocks at p.
  (func $blocks4 (param $p i32) (param $n i32)
    ${decl(names('h'))} ${decl(names('m'))} ${decl(names('n'))} ${decl(names('o'))} ${decl(names('d'))} (local $c i64)
    ${powDecl(1)} ${powDecl(2)} ${powDecl(3)} ${powDecl(4)}
    ${loadH}
    ${loadPow(1)} ${loadPow(2)} ${loadPow(3)} ${loadPow(4)}
    (loop $next
      ${setLimbs('h', blockLimbs(0, '(i64.const 0x1000000)'), true)}
      ${setLimbs('m', blockLimbs(16, '(i64.const 0x1000000)'), false)}
      ${setLimbs('n', blockLimbs(32, '(i64.const 0x1000000)'), false)}
      ${setLimbs('o', blockLimbs(48, '(i64.const 0x1000000)'), false)}
      ${products([
        [names('h').map(get), ...powVars(4)],
        [names('m').map(get), ...powVars(3)],
        [names('n').map(get), ...powVars(2)],
        [names('o').map(get), ...powVars(1)],
      ])}
      ${carry(names('h'))}
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    ${storeH})

  ;; n >= 2 groups of four full blocks at p, on SIMD lanes.
  (func $blocks4v (param $p i32) (param $n i32)
    ${vDecl([...names('v'), ...names('m'), ...names('R'), ...names('S'), ...names('F'), ...names('G')])}
    ${vDecl([...names('el'), ...names('eh'), 't0', 't1', 't2', 't3', 'w0', 'w1', 'w2', 'w3', 'c2'])}
    ${decl(names('d'))} ${decl(names('h'))} (local $c i64)
    ${range5
      .map(
        (j) =>
          `(local.set $R${j} (i32x4.splat (i32.wrap_i64 (i64.load offset=${powR(4, j)} (i32.const 0)))))` +
          `(local.set $S${j} (i32x4.splat (i32.wrap_i64 (i64.load offset=${powS(4, j)} (i32.const 0)))))`,
      )
      .join('\n')}
    ;; First group: lane 0 also takes the current h.
    ${vLimbs(0)}
    ${range5
      .map(
        (i) =>
          `(local.set $v${i} (i32x4.add (local.get $m${i}) (i32x4.replace_lane 0 (v128.const i32x4 0 0 0 0) (i32.wrap_i64 (i64.load offset=${H + 8 * i} (i32.const 0))))))`,
      )
      .join('\n')}
    (local.set $p (i32.add (local.get $p) (i32.const 64)))
    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
    (loop $next
      ${vMulCarry('R', 'S')}
      ${vLimbs(0)}
      ${range5.map((i) => `(local.set $v${i} (i32x4.add (local.get $v${i}) (local.get $m${i})))`).join('\n')}
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    ;; Lane l · r^(4-l), then add the lanes.
    ${range5
      .map((j) => {
        const lanes = (arr) =>
          [4, 3, 2, 1].reduce(
            (v, k, l) => `(i32x4.replace_lane ${l} ${v} (i32.wrap_i64 (i64.load offset=${arr(k, j)} (i32.const 0))))`,
            '(v128.const i32x4 0 0 0 0)',
          );
        return `(local.set $F${j} ${lanes(powR)}) (local.set $G${j} ${lanes(powS)})`;
      })
      .join('\n')}
    ${vMulCarry('F', 'G')}
    ${range5
      .map(
        (i) =>
          `(local.set $d${i} (i64.extend_i32_u (i32.add (i32.add (i32x4.extract_lane 0 (local.get $v${i})) (i32x4.extract_lane 1 (local.get $v${i}))) (i32.add (i32x4.extract_lane 2 (local.get $v${i})) (i32x4.extract_lane 3 (local.get $v${i}))))))`,
      )
      .join('\n')}
    ${carry(names('h'))}
    ${storeH})

  ;; Absorbs len bytes at p (p + len must stay inside memory; the wrapper passes DATA and <= DATA_SIZE).
  (func (export "update") (param $p i32) (param $len i32)
    (local $left i32) (local $take i32) (local $n i32)
    (local.set $left (i32.load offset=${LEFT} (i32.const 0)))
    (if (local.get $left)
      (then
        (local.set $take (i32.sub (i32.const 16) (local.get $left)))
        (if (i32.lt_u (local.get $len) (local.get $take)) (then (local.set $take (local.get $len))))
        (memory.copy (i32.add (i32.const ${BUF}) (local.get $left)) (local.get $p) (local.get $take))
        (local.set $left (i32.add (local.get $left) (local.get $take)))
        (local.set $p (i32.add (local.get $p) (local.get $take)))
        (local.set $len (i32.sub (local.get $len) (local.get $take)))
        (if (i32.lt_u (local.get $left) (i32.const 16))
          (then (i32.store offset=${LEFT} (i32.const 0) (local.get $left)) (return)))
        (call $blocks1 (i32.const ${BUF}) (i32.const 1) (i64.const 0x1000000))))
    (if (local.tee $n (i32.shr_u (local.get $len) (i32.const 6)))
      (then
        (if (i32.ge_u (local.get $n) (i32.const ${SIMD_MIN_GROUPS}))
          (then (call $blocks4v (local.get $p) (local.get $n)))
          (else (call $blocks4 (local.get $p) (local.get $n))))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 6))))))
    (if (local.tee $n (i32.and (i32.shr_u (local.get $len) (i32.const 4)) (i32.const 3)))
      (then
        (call $blocks1 (local.get $p) (local.get $n) (i64.const 0x1000000))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 4))))))
    (local.set $len (i32.and (local.get $len) (i32.const 15)))
    (memory.copy (i32.const ${BUF}) (local.get $p) (local.get $len))
    (i32.store offset=${LEFT} (i32.const 0) (local.get $len)))

  ;; Pads and absorbs any buffered bytes, writes the tag at TAG and wipes the state.
  (func (export "finish")
    ${decl(names('h'))} ${decl(names('g'))} (local $c i64) (local $mask i64) (local $lo i64) (local $hi i64)
    (local $left i32)
    (if (local.tee $left (i32.load offset=${LEFT} (i32.const 0)))
      (then
        (i32.store8 offset=${BUF} (local.get $left) (i32.const 1))
        (memory.fill (i32.add (i32.const ${BUF + 1}) (local.get $left)) (i32.const 0)
          (i32.sub (i32.const 15) (local.get $left)))
        (call $blocks1 (i32.const ${BUF}) (i32.const 1) (i64.const 0))))
    ${loadH}
    ;; Full carry, folding bits >= 130 back with ×5, then a second pass so h0..h3 < 2^26 and h < 2^130 + 2^26.
    (local.set $c (i64.shr_u (local.get $h1) (i64.const 26)))
    (local.set $h1 (i64.and (local.get $h1) ${M26}))
    (local.set $h2 (i64.add (local.get $h2) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h2) (i64.const 26)))
    (local.set $h2 (i64.and (local.get $h2) ${M26}))
    (local.set $h3 (i64.add (local.get $h3) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h3) (i64.const 26)))
    (local.set $h3 (i64.and (local.get $h3) ${M26}))
    (local.set $h4 (i64.add (local.get $h4) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h4) (i64.const 26)))
    (local.set $h4 (i64.and (local.get $h4) ${M26}))
    (local.set $h0 (i64.add (local.get $h0) (i64.mul (local.get $c) (i64.const 5))))
    (local.set $c (i64.shr_u (local.get $h0) (i64.const 26)))
    (local.set $h0 (i64.and (local.get $h0) ${M26}))
    (local.set $h1 (i64.add (local.get $h1) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h1) (i64.const 26)))
    (local.set $h1 (i64.and (local.get $h1) ${M26}))
    (local.set $h2 (i64.add (local.get $h2) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h2) (i64.const 26)))
    (local.set $h2 (i64.and (local.get $h2) ${M26}))
    (local.set $h3 (i64.add (local.get $h3) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h3) (i64.const 26)))
    (local.set $h3 (i64.and (local.get $h3) ${M26}))
    (local.set $h4 (i64.add (local.get $h4) (local.get $c)))
    ;; g = h + 5 - 2^130; use g when it is not negative (constant time, by masks).
    (local.set $g0 (i64.add (local.get $h0) (i64.const 5)))
    (local.set $c (i64.shr_u (local.get $g0) (i64.const 26)))
    (local.set $g0 (i64.and (local.get $g0) ${M26}))
    (local.set $g1 (i64.add (local.get $h1) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $g1) (i64.const 26)))
    (local.set $g1 (i64.and (local.get $g1) ${M26}))
    (local.set $g2 (i64.add (local.get $h2) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $g2) (i64.const 26)))
    (local.set $g2 (i64.and (local.get $g2) ${M26}))
    (local.set $g3 (i64.add (local.get $h3) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $g3) (i64.const 26)))
    (local.set $g3 (i64.and (local.get $g3) ${M26}))
    (local.set $g4 (i64.sub (i64.add (local.get $h4) (local.get $c)) (i64.const 0x4000000)))
    ;; mask = all ones when g4 >= 0, else 0.
    (local.set $mask (i64.sub (i64.shr_u (local.get $g4) (i64.const 63)) (i64.const 1)))
    ${range5
      .map(
        (i) =>
          `(local.set $h${i} (i64.or (i64.and (local.get $h${i}) (i64.xor (local.get $mask) (i64.const -1))) (i64.and (local.get $g${i}) (local.get $mask))))`,
      )
      .join('\n')}
    ;; h mod 2^128 + s mod 2^128.
    (local.set $lo (i64.or (i64.or (local.get $h0) (i64.shl (local.get $h1) (i64.const 26))) (i64.shl (local.get $h2) (i64.const 52))))
    (local.set $hi (i64.or (i64.or (i64.shr_u (local.get $h2) (i64.const 12)) (i64.shl (local.get $h3) (i64.const 14))) (i64.shl (local.get $h4) (i64.const 40))))
    (local.set $lo (i64.add (local.get $lo) (i64.load offset=${PAD} (i32.const 0))))
    (local.set $hi (i64.add (i64.add (local.get $hi) (i64.load offset=${PAD + 8} (i32.const 0)))
      (i64.extend_i32_u (i64.lt_u (local.get $lo) (i64.load offset=${PAD} (i32.const 0))))))
    (i64.store offset=${TAG} (i32.const 0) (local.get $lo))
    (i64.store offset=${TAG + 8} (i32.const 0) (local.get $hi))
    (memory.fill (i32.const 0) (i32.const 0) (i32.const ${STATE_SIZE})))
)`;

const buffer = await compileWat('poly1305.wat', wat);

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'crypto', 'poly1305-wasm.ts');
const header = [
  '/**',
  ' * GENERATED by scripts/build-poly1305-wasm.mjs — do not edit; change the generator and rerun it.',
  ' * The Poly1305 WebAssembly module (26-bit limbs, four blocks per step) and its memory layout.',
  ' */',
  '',
  '/** Bytes [0, STATE_SIZE) hold one message state (h, r powers, s, partial block). */',
  `export const STATE_SIZE = ${STATE_SIZE};`,
  '/** `init()` reads the 32-byte one-time key here (and wipes it). */',
  `export const KEY_OFFSET = ${KEY};`,
  '/** `finish()` writes the 16-byte tag here. */',
  `export const TAG_OFFSET = ${TAG};`,
  '/** `update(DATA_OFFSET, len)` hashes `len <= DATA_SIZE` bytes copied here. */',
  `export const DATA_OFFSET = ${DATA};`,
  `export const DATA_SIZE = ${DATA_SIZE};`,
  '',
  `/** The module (${buffer.length} bytes). Exports: mem, init(), update(ptr, len), finish(). */`,
];
writeModuleFile(out, header, 'POLY1305_WASM', buffer, 'scripts/build-poly1305-wasm.mjs');

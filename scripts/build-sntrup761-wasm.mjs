#!/usr/bin/env node
/**
 * Dev-time generator for src/crypto/sntrup761-wasm.ts: builds the sntrup761 WebAssembly module (SIMD)
 * from the WAT text below with the `wabt` devDependency and writes its bytes as a base64 constant with
 * the memory layout the TypeScript side (src/crypto/sntrup761-poly.ts) needs. The library never loads
 * wabt. Run: node scripts/build-sntrup761-wasm.mjs  (with --check: exit 1 if the checked-in file is stale)
 *
 * Three exports, all running a fixed instruction sequence whatever the data (no branch or address that
 * depends on a value in memory; loop bounds depend only on p and the iteration number):
 * - rqDivsteps(): the 2p - 1 constant-time divsteps of the inversion in Rq, on i32 lanes (4 per vector);
 * - r3Divsteps(): the same in R3, on i16 lanes (8 per vector), mod 3 by a Q15 rounding multiply;
 * - mult(): the product of two length-p i32 polynomials without reduction (JavaScript folds it).
 * The shifts of the divsteps (g down, v up by one coefficient per step) move the arrays' base addresses
 * instead of the data, so each step is one pass over f/g and one over v/r.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileWat, writeModuleFile } from './wasm-module.mjs';

const P = 761;
const Q = 4591;
const STEPS = 2 * P - 1;

// Rq divsteps, i32 elements. G's base moves up and V's down by one element per step.
const RQ_F = 0;
const RQ_G = RQ_F + 4 * (P + 39); // 3200
const RQ_V = RQ_G + 4 * (STEPS + P + 18); // G region
const RQ_R = RQ_V + 4 * (STEPS + P + 18);
const RQ_END = RQ_R + 4 * (P + 39);
const RQ_V_START = RQ_V + 4 * (STEPS + 4);
// R3 divsteps, i16 elements.
const R3_F = RQ_END;
const R3_G = R3_F + 2 * (P + 39);
const R3_V = R3_G + 2 * (STEPS + P + 34);
const R3_R = R3_V + 2 * (STEPS + P + 34);
const R3_END = R3_R + 2 * (P + 39);
const R3_V_START = R3_V + 2 * (STEPS + 8);
// Multiplication: A, B (i32, zero-padded to a multiple of 4), ACC (2p - 1 + padding, i32).
const MUL_A = R3_END;
const MUL_B = MUL_A + 4 * (P + 39);
const MUL_ACC = MUL_B + 4 * (P + 39);
const MUL_END = MUL_ACC + 4 * (2 * P + 38);
const PAGES = Math.ceil(MUL_END / 65536);

/** Barrett reduction of the i32x4 in local $x to [-(q-1)/2, (q-1)/2] (valid for |x| < 2^24). */
const freezeQ = `
        (local.set $x (i32x4.sub (local.get $x)
          (i32x4.mul (local.get $vq) (i32x4.shr_s (i32x4.mul (local.get $x) (local.get $v57)) (i32.const 18)))))
        (local.set $x (i32x4.sub (local.get $x)
          (i32x4.mul (local.get $vq)
            (i32x4.shr_s (i32x4.add (i32x4.mul (local.get $x) (local.get $v29235)) (local.get $vhalf)) (i32.const 27)))))`;

const wat = `(module
  (memory (export "mem") ${PAGES})

  ;; -1 if x != 0 else 0, for |x| < 2^31
  (func $nonzero (param $x i32) (result i32)
    (i32.shr_s (i32.or (local.get $x) (i32.sub (i32.const 0) (local.get $x))) (i32.const 31)))

  (func (export "rqDivsteps") (result i32)
    (local $loop i32) (local $delta i32) (local $swap i32) (local $f0 i32) (local $g0 i32) (local $t i32)
    (local $gb i32) (local $vb i32) (local $i i32) (local $fgEnd i32) (local $vrEnd i32)
    (local $sw v128) (local $vf0 v128) (local $vg0 v128) (local $a v128) (local $b v128) (local $x v128)
    (local $vq v128) (local $v57 v128) (local $v29235 v128) (local $vhalf v128)
    (local.set $vq (i32x4.splat (i32.const ${Q})))
    (local.set $v57 (i32x4.splat (i32.const 57)))
    (local.set $v29235 (i32x4.splat (i32.const 29235)))
    (local.set $vhalf (i32x4.splat (i32.const 67108864)))
    (local.set $delta (i32.const 1))
    (local.set $gb (i32.const ${RQ_G}))
    (local.set $vb (i32.const ${RQ_V_START}))
    (loop $steps
      ;; bytes covered this step: v/r hold min(loop + 2, p + 1) coefficients, f/g min(2p - 1 - loop, p + 1)
      (local.set $vrEnd (i32.shl (select (i32.add (local.get $loop) (i32.const 2)) (i32.const ${P + 1})
        (i32.lt_u (local.get $loop) (i32.const ${P}))) (i32.const 2)))
      (local.set $fgEnd (i32.shl (select (i32.sub (i32.const ${STEPS}) (local.get $loop)) (i32.const ${P + 1})
        (i32.gt_u (local.get $loop) (i32.const ${P - 2}))) (i32.const 2)))
      ;; v := x*v (its base moves down; the new v[0] is untouched zero memory)
      (local.set $vb (i32.sub (local.get $vb) (i32.const 4)))
      (local.set $f0 (i32.load (i32.const ${RQ_F})))
      (local.set $g0 (i32.load (local.get $gb)))
      (local.set $swap (i32.and (i32.shr_s (i32.sub (i32.const 0) (local.get $delta)) (i32.const 31))
        (call $nonzero (local.get $g0))))
      (local.set $delta (i32.add (i32.xor (local.get $delta)
        (i32.and (local.get $swap) (i32.xor (local.get $delta) (i32.sub (i32.const 0) (local.get $delta)))))
        (i32.const 1)))
      (local.set $t (i32.and (local.get $swap) (i32.xor (local.get $f0) (local.get $g0))))
      (local.set $vf0 (i32x4.splat (i32.xor (local.get $f0) (local.get $t))))
      (local.set $vg0 (i32x4.splat (i32.xor (local.get $g0) (local.get $t))))
      (local.set $sw (i32x4.splat (local.get $swap)))
      ;; f, g := swapped; g := f0*g - g0*f
      (local.set $i (i32.const 0))
      (loop $fg
        (local.set $a (v128.load (i32.add (i32.const ${RQ_F}) (local.get $i))))
        (local.set $b (v128.load (i32.add (local.get $gb) (local.get $i))))
        (local.set $x (v128.and (local.get $sw) (v128.xor (local.get $a) (local.get $b))))
        (local.set $a (v128.xor (local.get $a) (local.get $x)))
        (local.set $b (v128.xor (local.get $b) (local.get $x)))
        (v128.store (i32.add (i32.const ${RQ_F}) (local.get $i)) (local.get $a))
        (local.set $x (i32x4.sub (i32x4.mul (local.get $vf0) (local.get $b)) (i32x4.mul (local.get $vg0) (local.get $a))))
        ${freezeQ}
        (v128.store (i32.add (local.get $gb) (local.get $i)) (local.get $x))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $fg (i32.lt_u (local.get $i) (local.get $fgEnd))))
      ;; v, r := swapped; r := f0*r - g0*v
      (local.set $i (i32.const 0))
      (loop $vr
        (local.set $a (v128.load (i32.add (local.get $vb) (local.get $i))))
        (local.set $b (v128.load (i32.add (i32.const ${RQ_R}) (local.get $i))))
        (local.set $x (v128.and (local.get $sw) (v128.xor (local.get $a) (local.get $b))))
        (local.set $a (v128.xor (local.get $a) (local.get $x)))
        (local.set $b (v128.xor (local.get $b) (local.get $x)))
        (v128.store (i32.add (local.get $vb) (local.get $i)) (local.get $a))
        (local.set $x (i32x4.sub (i32x4.mul (local.get $vf0) (local.get $b)) (i32x4.mul (local.get $vg0) (local.get $a))))
        ${freezeQ}
        (v128.store (i32.add (i32.const ${RQ_R}) (local.get $i)) (local.get $x))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $vr (i32.lt_u (local.get $i) (local.get $vrEnd))))
      ;; g := g / x (its base moves up)
      (local.set $gb (i32.add (local.get $gb) (i32.const 4)))
      (local.set $loop (i32.add (local.get $loop) (i32.const 1)))
      (br_if $steps (i32.lt_u (local.get $loop) (i32.const ${STEPS}))))
    (local.get $delta))

  (func (export "r3Divsteps") (result i32)
    (local $loop i32) (local $delta i32) (local $swap i32) (local $f0 i32) (local $g0 i32) (local $sign i32)
    (local $gb i32) (local $vb i32) (local $i i32) (local $fgEnd i32) (local $vrEnd i32)
    (local $sw v128) (local $vs v128) (local $a v128) (local $b v128) (local $x v128) (local $v3 v128)
    (local.set $v3 (i16x8.splat (i32.const 10923)))
    (local.set $delta (i32.const 1))
    (local.set $gb (i32.const ${R3_G}))
    (local.set $vb (i32.const ${R3_V_START}))
    (loop $steps
      (local.set $vrEnd (i32.shl (select (i32.add (local.get $loop) (i32.const 2)) (i32.const ${P + 1})
        (i32.lt_u (local.get $loop) (i32.const ${P}))) (i32.const 1)))
      (local.set $fgEnd (i32.shl (select (i32.sub (i32.const ${STEPS}) (local.get $loop)) (i32.const ${P + 1})
        (i32.gt_u (local.get $loop) (i32.const ${P - 2}))) (i32.const 1)))
      (local.set $vb (i32.sub (local.get $vb) (i32.const 2)))
      (local.set $f0 (i32.load16_s (i32.const ${R3_F})))
      (local.set $g0 (i32.load16_s (local.get $gb)))
      ;; sign = -g0*f0 (the same before and after the swap)
      (local.set $sign (i32.sub (i32.const 0) (i32.mul (local.get $g0) (local.get $f0))))
      (local.set $swap (i32.and (i32.shr_s (i32.sub (i32.const 0) (local.get $delta)) (i32.const 31))
        (call $nonzero (local.get $g0))))
      (local.set $delta (i32.add (i32.xor (local.get $delta)
        (i32.and (local.get $swap) (i32.xor (local.get $delta) (i32.sub (i32.const 0) (local.get $delta)))))
        (i32.const 1)))
      (local.set $sw (i16x8.splat (local.get $swap)))
      (local.set $vs (i16x8.splat (local.get $sign)))
      (local.set $i (i32.const 0))
      (loop $fg
        (local.set $a (v128.load (i32.add (i32.const ${R3_F}) (local.get $i))))
        (local.set $b (v128.load (i32.add (local.get $gb) (local.get $i))))
        (local.set $x (v128.and (local.get $sw) (v128.xor (local.get $a) (local.get $b))))
        (local.set $a (v128.xor (local.get $a) (local.get $x)))
        (local.set $b (v128.xor (local.get $b) (local.get $x)))
        (v128.store (i32.add (i32.const ${R3_F}) (local.get $i)) (local.get $a))
        ;; g + sign*f, then mod 3: x - 3*round(x*10923 / 2^15)
        (local.set $x (i16x8.add (local.get $b) (i16x8.mul (local.get $vs) (local.get $a))))
        (local.set $a (i16x8.q15mulr_sat_s (local.get $x) (local.get $v3)))
        (local.set $x (i16x8.sub (local.get $x) (i16x8.add (local.get $a) (i16x8.add (local.get $a) (local.get $a)))))
        (v128.store (i32.add (local.get $gb) (local.get $i)) (local.get $x))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $fg (i32.lt_u (local.get $i) (local.get $fgEnd))))
      (local.set $i (i32.const 0))
      (loop $vr
        (local.set $a (v128.load (i32.add (local.get $vb) (local.get $i))))
        (local.set $b (v128.load (i32.add (i32.const ${R3_R}) (local.get $i))))
        (local.set $x (v128.and (local.get $sw) (v128.xor (local.get $a) (local.get $b))))
        (local.set $a (v128.xor (local.get $a) (local.get $x)))
        (local.set $b (v128.xor (local.get $b) (local.get $x)))
        (v128.store (i32.add (local.get $vb) (local.get $i)) (local.get $a))
        (local.set $x (i16x8.add (local.get $b) (i16x8.mul (local.get $vs) (local.get $a))))
        (local.set $a (i16x8.q15mulr_sat_s (local.get $x) (local.get $v3)))
        (local.set $x (i16x8.sub (local.get $x) (i16x8.add (local.get $a) (i16x8.add (local.get $a) (local.get $a)))))
        (v128.store (i32.add (i32.const ${R3_R}) (local.get $i)) (local.get $x))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $vr (i32.lt_u (local.get $i) (local.get $vrEnd))))
      (local.set $gb (i32.add (local.get $gb) (i32.const 2)))
      (local.set $loop (i32.add (local.get $loop) (i32.const 1)))
      (br_if $steps (i32.lt_u (local.get $loop) (i32.const ${STEPS}))))
    (local.get $delta))

  ;; ACC[0 .. 2p-1) = A * B (schoolbook, i32 lanes, no reduction)
  (func (export "mult")
    (local $i i32) (local $j i32) (local $ai v128) (local $acc i32)
    (memory.fill (i32.const ${MUL_ACC}) (i32.const 0) (i32.const ${MUL_END - MUL_ACC}))
    (loop $rows
      (local.set $ai (v128.load32_splat (i32.add (i32.const ${MUL_A}) (local.get $i))))
      (local.set $acc (i32.add (i32.const ${MUL_ACC}) (local.get $i)))
      (local.set $j (i32.const 0))
      (loop $cols
        (v128.store (i32.add (local.get $acc) (local.get $j))
          (i32x4.add (v128.load (i32.add (local.get $acc) (local.get $j)))
            (i32x4.mul (local.get $ai) (v128.load (i32.add (i32.const ${MUL_B}) (local.get $j))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br_if $cols (i32.lt_u (local.get $j) (i32.const ${4 * P}))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $rows (i32.lt_u (local.get $i) (i32.const ${4 * P})))))

  ;; zero every working area (after each use: they held secrets)
  (func (export "wipe")
    (memory.fill (i32.const 0) (i32.const 0) (i32.const ${MUL_END})))
)`;

const buffer = await compileWat('sntrup761.wat', wat);

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'crypto', 'sntrup761-wasm.ts');
const header = [
  '/**',
  ' * GENERATED by scripts/build-sntrup761-wasm.mjs — do not edit; change the generator and rerun it.',
  ' * The sntrup761 WebAssembly module (SIMD divsteps and multiplication) and its memory layout (byte',
  ' * offsets). Inputs and outputs are little-endian i32 (Rq, multiplication) or i16 (R3) arrays.',
  ' */',
  '',
  `export const RQ_F = ${RQ_F};`,
  `/** g starts here; after the ${STEPS} steps its base is ${STEPS} elements higher. */`,
  `export const RQ_G = ${RQ_G};`,
  `/** v starts here; after the ${STEPS} steps its base is ${STEPS} elements lower. */`,
  `export const RQ_V = ${RQ_V_START};`,
  `export const RQ_R = ${RQ_R};`,
  `export const R3_F = ${R3_F};`,
  `export const R3_G = ${R3_G};`,
  `export const R3_V = ${R3_V_START};`,
  `export const R3_R = ${R3_R};`,
  `export const MUL_A = ${MUL_A};`,
  `export const MUL_B = ${MUL_B};`,
  `export const MUL_ACC = ${MUL_ACC};`,
  `/** Bytes [0, WORK_END) are the working areas \`wipe()\` zeroes. */`,
  `export const WORK_END = ${MUL_END};`,
  '',
  `/** The module (${buffer.length} bytes). Exports: mem, rqDivsteps(), r3Divsteps(), mult(), wipe(). */`,
];
writeModuleFile(out, header, 'SNTRUP761_WASM', buffer, 'scripts/build-sntrup761-wasm.mjs');

/**
 * The fuzz harness: run counts for the quick tier (inside `npm test`) and the deep tier
 * (`npm run test:fuzz-deep`, FUZZ_RUNS=20000 by default, each file within the runner's 300 s; for
 * more, e.g. `FUZZ_RUNS=200000 node --import tsx --test --test-timeout=0 test/fuzz/*.test.ts`;
 * FUZZ_SEED replays a run), seed mutators that get past the first length check, and a property
 * runner that checks what every parser must hold on any input:
 *
 * - it throws nothing but the error types it documents (a plain TypeError/RangeError is a bug);
 * - it returns within a time bound (no hang: CPU time per input, or wall time for async ones);
 * - it never asks for a buffer out of proportion to its input (Buffer.alloc* are watched, and a
 *   request over the budget is refused before any memory is taken).
 *
 * Each property prints `fuzz <parser>: N executions, 0 failures` when it passes.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';

/** The deep tier's run count per property (FUZZ_RUNS), or undefined in the quick tier. */
export const DEEP_RUNS: number | undefined = (() => {
  const v = process.env.FUZZ_RUNS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`FUZZ_RUNS must be a positive integer, got ${v}`);
  return n;
})();

/** True in the deep tier. */
export const DEEP = DEEP_RUNS !== undefined;

/**
 * Runs for one property: `quick` in `npm test`; in the deep tier FUZZ_RUNS divided by `cost` (how
 * many times dearer one execution is than a cheap decoder's), never fewer than `quick`.
 */
export function runs(quick: number, cost = 1): number {
  if (DEEP_RUNS === undefined) return quick;
  return Math.max(quick, Math.ceil(DEEP_RUNS / cost));
}

/** fast-check's seed: fixed in the quick tier (reproducible CI), FUZZ_SEED or random in the deep tier. */
export function seed(): number | undefined {
  const s = process.env.FUZZ_SEED;
  if (s !== undefined && s !== '') return Number(s);
  return DEEP ? undefined : 0x5ec5;
}

// ---- mutations of valid seeds ----

/** uint32 values that break length checks: boundaries, signed/unsigned edges, huge. */
const INTERESTING_U32 = [
  0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 0x3fff, 0x4000, 0x7fff, 0x8000, 0xffff, 0x10000,
  0x40000, 0x40001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

type Op =
  | { k: 'flip'; pos: number; bit: number }
  | { k: 'set'; pos: number; v: number }
  | { k: 'truncate'; pos: number }
  | { k: 'insert'; pos: number; bytes: Uint8Array }
  | { k: 'delete'; pos: number; n: number }
  | { k: 'u32'; pick: number; candidate: boolean; v: number; delta: number | undefined }
  | { k: 'splice'; pos: number; other: number; otherPos: number }
  | { k: 'dup'; pos: number; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ k: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant('set' as const), pos: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('truncate' as const), pos: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('insert' as const),
      pos: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('delete' as const), pos: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('u32' as const),
      pick: fc.nat(),
      candidate: fc.boolean(),
      v: fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.nat({ max: 0xffffffff })),
      delta: fc.option(fc.integer({ min: -8, max: 8 }), { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('splice' as const), pos: fc.nat(), other: fc.nat(), otherPos: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('dup' as const), pos: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
  },
);

/** Offsets of uint32 fields that look like SSH string lengths (the string fits in what follows). */
export function lengthFieldOffsets(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.length; i++) {
    const v = b.readUInt32BE(i);
    if (v <= b.length - i - 4) out.push(i);
  }
  return out;
}

function applyOp(b: Buffer, op: Op, seeds: readonly Buffer[], offsets: readonly number[]): Buffer {
  const at = (p: number, len = b.length) => (len === 0 ? 0 : p % len);
  switch (op.k) {
    case 'flip': {
      if (b.length === 0) return b;
      const out = Buffer.from(b);
      const i = at(op.pos);
      out[i] = (out[i] as number) ^ (1 << op.bit);
      return out;
    }
    case 'set': {
      if (b.length === 0) return b;
      const out = Buffer.from(b);
      out[at(op.pos)] = op.v;
      return out;
    }
    case 'truncate':
      return b.subarray(0, at(op.pos, b.length + 1));
    case 'insert': {
      const i = at(op.pos, b.length + 1);
      return Buffer.concat([b.subarray(0, i), op.bytes, b.subarray(i)]);
    }
    case 'delete': {
      const i = at(op.pos, b.length + 1);
      return Buffer.concat([b.subarray(0, i), b.subarray(i + op.n)]);
    }
    case 'u32': {
      if (b.length < 4) return b;
      const i =
        op.candidate && offsets.length > 0 ? (offsets[op.pick % offsets.length] as number) : at(op.pick, b.length - 3);
      if (i + 4 > b.length) return b;
      const out = Buffer.from(b);
      const v = op.delta === undefined ? op.v : (out.readUInt32BE(i) + op.delta) >>> 0;
      out.writeUInt32BE(v >>> 0, i);
      return out;
    }
    case 'splice': {
      const other = seeds[op.other % seeds.length] as Buffer;
      return Buffer.concat([
        b.subarray(0, at(op.pos, b.length + 1)),
        other.subarray(at(op.otherPos, other.length + 1)),
      ]);
    }
    case 'dup': {
      const i = at(op.pos, b.length + 1);
      const region = b.subarray(i, i + op.n);
      return Buffer.concat([b.subarray(0, i + region.length), region, b.subarray(i + region.length)]);
    }
  }
}

/**
 * Valid seeds mutated by 1–4 edits: bit flips, byte sets, truncation, insertion, deletion,
 * uint32 edits biased to fields that look like lengths (set to boundary values or nudged by a few),
 * splices with another seed and duplicated regions. Shrinks towards fewer, smaller edits.
 */
export function mutated(seeds: readonly Buffer[]): fc.Arbitrary<Buffer> {
  assert.ok(seeds.length > 0, 'mutated() needs seeds');
  const offsets = seeds.map(lengthFieldOffsets);
  return fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(opArb, { minLength: 1, maxLength: 4 }))
    .map(([s, ops]) => {
      let b = seeds[s] as Buffer;
      for (const op of ops) b = applyOp(b, op, seeds, offsets[s] as number[]);
      return b;
    });
}

/** Mutated seeds (most runs), the seeds themselves, and random bytes. */
export function bytesFrom(seeds: readonly Buffer[], maxRandom = 512): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 8, arbitrary: mutated(seeds) },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: maxRandom }).map((u) => Buffer.from(u)) },
  );
}

// ---- watching allocations ----

type AllocFn = (size: number, ...rest: never[]) => Buffer;

/** Thrown by a watched Buffer.alloc* when a request exceeds the budget (no memory is taken). */
export class OverAllocation extends Error {}

let budget = Number.POSITIVE_INFINITY;
let largest = 0;
let overBy: number | undefined;
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
    const original = Buffer[name] as unknown as AllocFn;
    const watched = function (this: unknown, size: number, ...rest: never[]): Buffer {
      if (typeof size === 'number') {
        if (size > largest) largest = size;
        if (size > budget) {
          overBy ??= size;
          throw new OverAllocation(`Buffer.${name}(${size}) over the budget of ${budget} bytes`);
        }
      }
      return original.call(this, size, ...rest);
    };
    (Buffer as unknown as Record<string, AllocFn>)[name] = watched;
  }
}

/** Runs `f` with Buffer.alloc* limited to `limit` bytes per call; returns the largest request seen. */
export function withAllocationBudget<T>(limit: number, f: () => T): { value: T; largest: number } {
  install();
  const saved = budget;
  budget = limit;
  largest = 0;
  overBy = undefined;
  try {
    const value = f();
    if (overBy !== undefined)
      throw new OverAllocation(`an allocation of ${overBy} bytes was attempted (budget ${limit})`);
    return { value, largest };
  } finally {
    budget = saved;
  }
}

// ---- the property runner ----

export interface FuzzOptions<T> {
  /** Executions (use {@link runs}). */
  numRuns: number;
  /** The errors this parser documents; anything else thrown fails the property. */
  allowed: (e: unknown) => boolean;
  /** Longest CPU time one execution may take, ms (default 2000; the async form bounds wall time, default 10 s). */
  maxMs?: number;
  /** Largest single Buffer allocation an input may cause (default 64 × its size + 1 MiB). */
  maxAlloc?: (input: T) => number;
  /** Size of an input, for the default allocation budget (default: a Buffer's length, else 4096). */
  size?: (input: T) => number;
  /** Inputs run before the generated ones (known-bad cases). */
  examples?: T[];
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}\n${e.stack ?? ''}`;
  return String(e);
}

function defaultSize(x: unknown): number {
  if (Buffer.isBuffer(x) || x instanceof Uint8Array) return x.length;
  if (typeof x === 'string') return x.length;
  if (Array.isArray(x)) return x.reduce((n: number, v: unknown) => n + defaultSize(v), 0);
  return 4096;
}

/**
 * Checks that `body` holds the parser contract on every input of `arb` (see the file comment), and
 * prints the execution count. `body` may return a value; it is ignored.
 */
export function fuzz<T>(name: string, arb: fc.Arbitrary<T>, body: (x: T) => unknown, o: FuzzOptions<T>): void {
  let executions = 0;
  let largestSeen = 0;
  const outcomes = new Map<string, number>();
  const maxMs = o.maxMs ?? 2000;
  const size = o.size ?? defaultSize;
  const maxAlloc = o.maxAlloc ?? ((x: T) => 64 * size(x) + 1024 * 1024);
  const started = performance.now();
  const memBefore = process.memoryUsage();
  let peakArrayBuffers = memBefore.arrayBuffers;
  fc.assert(
    fc.property(arb, (x) => {
      executions++;
      // CPU time, not wall time: a loaded machine (or a niced deep run) must not look like a hang.
      const t0 = process.cpuUsage();
      try {
        const r = withAllocationBudget(maxAlloc(x), () => {
          try {
            body(x);
            tally(outcomes, 'ok');
          } catch (e) {
            if (e instanceof OverAllocation) throw e;
            if (!o.allowed(e)) throw new Error(`${name}: unexpected error type: ${describe(e)}`);
            tally(outcomes, (e as Error).constructor.name);
          }
        });
        if (r.largest > largestSeen) largestSeen = r.largest;
      } catch (e) {
        if (e instanceof OverAllocation) throw new Error(`${name}: ${e.message} for an input of ${size(x)} bytes`);
        throw e;
      }
      const used = process.cpuUsage(t0);
      const ms = (used.user + used.system) / 1000;
      if (ms > maxMs) throw new Error(`${name}: one input took ${ms.toFixed(0)} ms of CPU (limit ${maxMs})`);
      if ((executions & 255) === 0) {
        const ab = process.memoryUsage().arrayBuffers;
        if (ab > peakArrayBuffers) peakArrayBuffers = ab;
      }
    }),
    {
      numRuns: o.numRuns,
      seed: seed(),
      includeErrorInReport: true,
      ...(o.examples ? { examples: o.examples.map((e) => [e] as [T]) } : {}),
    },
  );
  report(name, executions, started, largestSeen, peakArrayBuffers - memBefore.arrayBuffers, outcomes);
}

/** The async form of {@link fuzz}, for parsers behind a promise (auth, SFTP server, agent client). */
export async function fuzzAsync<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  body: (x: T) => Promise<unknown>,
  o: Omit<FuzzOptions<T>, 'maxAlloc'>,
): Promise<void> {
  let executions = 0;
  const outcomes = new Map<string, number>();
  const maxMs = o.maxMs ?? 10_000;
  const started = performance.now();
  const memBefore = process.memoryUsage();
  let peakArrayBuffers = memBefore.arrayBuffers;
  await fc.assert(
    fc.asyncProperty(arb, async (x) => {
      executions++;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), maxMs);
      });
      try {
        const r = await Promise.race([
          body(x).then(
            () => {
              tally(outcomes, 'ok');
              return 'ok' as const;
            },
            (e: unknown) => {
              if (!o.allowed(e)) throw new Error(`${name}: unexpected error type: ${describe(e)}`);
              tally(outcomes, (e as Error).constructor.name);
              return 'ok' as const;
            },
          ),
          timeout,
        ]);
        if (r === 'timeout') throw new Error(`${name}: an input did not settle within ${maxMs} ms`);
      } finally {
        clearTimeout(timer);
      }
      if ((executions & 63) === 0) {
        const ab = process.memoryUsage().arrayBuffers;
        if (ab > peakArrayBuffers) peakArrayBuffers = ab;
      }
    }),
    { numRuns: o.numRuns, seed: seed(), includeErrorInReport: true },
  );
  report(name, executions, started, undefined, peakArrayBuffers - memBefore.arrayBuffers, outcomes);
}

function tally(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/**
 * External memory growth allowed over a whole batch before it is called out of proportion. A coarse
 * net (garbage not yet collected counts too); the per-input allocation budget is the fine one.
 */
const MAX_BATCH_GROWTH = 1024 * 1024 * 1024;

function report(
  name: string,
  executions: number,
  started: number,
  largest: number | undefined,
  growth: number,
  outcomes: Map<string, number>,
): void {
  assert.ok(
    growth < MAX_BATCH_GROWTH,
    `${name}: external memory grew by ${(growth / 1048576).toFixed(0)} MiB over the batch`,
  );
  const ms = performance.now() - started;
  const alloc = largest === undefined ? '' : `, largest allocation ${largest} bytes`;
  const kinds = [...outcomes].map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`fuzz ${name}: ${executions} executions, 0 failures (${kinds}; ${ms.toFixed(0)} ms${alloc})`);
}

/** An `allowed` predicate from error classes. */
export function only(...types: (abstract new (...args: never[]) => Error)[]): (e: unknown) => boolean {
  return (e) => types.some((t) => e instanceof t);
}

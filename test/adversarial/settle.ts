/** Shared pieces of the adversarial client tests: timed settling and process-level error traps. */
import assert from 'node:assert/strict';
import { SshError } from '../../src/errors.js';

export type Outcome<T> =
  | { state: 'fulfilled'; value: T }
  | { state: 'rejected'; error: unknown }
  | { state: 'pending' };

/** How `p` has settled after at most `ms` milliseconds (never rejects). */
export function settleWithin<T>(p: Promise<T>, ms: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome<T>>((r) => {
    timer = setTimeout(() => r({ state: 'pending' }), ms);
  });
  const settled = p.then(
    (value): Outcome<T> => ({ state: 'fulfilled', value }),
    (error: unknown): Outcome<T> => ({ state: 'rejected', error }),
  );
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}

/** Asserts `p` rejects within `ms` with a typed SshError (of `code`, when given); returns the error. */
export async function rejectsTyped(p: Promise<unknown>, ms: number, code?: string): Promise<SshError> {
  const o = await settleWithin(p, ms);
  assert.notEqual(o.state, 'pending', `still pending after ${ms} ms`);
  assert.equal(o.state, 'rejected', `resolved instead of rejecting: ${shortly((o as { value?: unknown }).value)}`);
  const e = (o as { error: unknown }).error;
  assert.ok(e instanceof SshError, `not an SshError: ${String(e)}`);
  assert.equal(typeof e.code, 'string');
  if (code !== undefined) assert.equal(e.code, code, e.message);
  return e;
}

/**
 * Records unhandled rejections and uncaught exceptions while installed (the process survives them,
 * so the test can report them). Call `uninstall()` when done, then assert on `errors`.
 */
export function trapProcessErrors(): { errors: string[]; uninstall(): void } {
  const errors: string[] = [];
  const onRejection = (reason: unknown) => errors.push(`unhandled rejection: ${describe(reason)}`);
  const onException = (err: unknown) => errors.push(`uncaught exception: ${describe(err)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    errors,
    uninstall() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

function shortly(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  const name = (v as object).constructor?.name ?? 'object';
  return name === 'Object' ? JSON.stringify(v).slice(0, 200) : `a ${name}`;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Lets pending timers, I/O and ticks run (unhandled rejections are reported by then). */
export function turn(ms = 20): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

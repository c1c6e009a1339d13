/**
 * A bounded set of operations in flight (WRITEs, local file writes) that remembers the first
 * failure instead of rejecting: callers check {@link Inflight.failure} between steps and wait for
 * the rest with {@link Inflight.settle} before closing what the operations use.
 */
export class Inflight {
  private readonly ops = new Set<Promise<void>>();
  /** The first error of any tracked operation, once one failed. */
  failure: unknown;

  /** Tracks `op`; `onDone` runs when it succeeds. */
  add(op: Promise<unknown>, onDone?: () => void): void {
    const p: Promise<void> = op.then(
      () => {
        this.ops.delete(p);
        onDone?.();
      },
      (e: unknown) => {
        this.ops.delete(p);
        this.failure ??= e;
      },
    );
    this.ops.add(p);
  }

  /** Resolves once fewer than `max` operations are in flight. */
  async below(max: number): Promise<void> {
    while (this.ops.size >= max) await Promise.race(this.ops);
  }

  /** Resolves when every tracked operation has ended (never rejects). */
  async settle(): Promise<void> {
    await Promise.all(this.ops);
  }

  /** Throws the first failure, if any. */
  check(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/**
 * Two connected in-memory Duplexes: what one writes, the other reads; ending one ends the other's input.
 * With `destroyTogether`, destroying one destroys the other (a connection that drops).
 */
import { Duplex } from 'node:stream';

export function duplexPair(opts: { destroyTogether?: boolean } = {}): [Duplex, Duplex] {
  let a: Duplex | undefined;
  let b: Duplex | undefined;
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
    });
  a = make(() => b as Duplex);
  b = make(() => a as Duplex);
  if (opts.destroyTogether) {
    a.on('close', () => b?.destroy());
    b.on('close', () => a?.destroy());
  }
  return [a, b];
}

/** An SFTP backend wrapper for tests of runaway writes: a session's writes stop at a byte cap. */
import type { SftpBackend, SftpBackendFile } from '../../src/sftp/backend.js';

/**
 * `b` with the bytes written through its files counted against `cap` (for the whole backend); past
 * it a write fails with ENOSPC, so a runaway copy ends instead of filling the disk. Every other
 * method (the optional ones included) passes through unchanged.
 */
export function cappedBackend(b: SftpBackend, cap: number): SftpBackend {
  let written = 0;
  const wrapFile = (f: SftpBackendFile): SftpBackendFile =>
    new Proxy(f, {
      get(target, prop, recv) {
        if (prop === 'write') {
          return async (off: number, data: Buffer) => {
            written += data.length;
            if (written > cap) throw Object.assign(new Error('write cap reached'), { code: 'ENOSPC' });
            await target.write(off, data);
          };
        }
        const v = Reflect.get(target, prop, recv);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  return new Proxy(b, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop === 'open') {
        return async (...args: Parameters<SftpBackend['open']>) => wrapFile(await target.open(...args));
      }
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

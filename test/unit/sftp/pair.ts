/** In-memory Duplex pair and an SFTP client/server over it (no SSH underneath). */
import { Duplex } from 'node:stream';
import type { SftpBackend } from '../../../src/sftp/backend.js';
import { SftpClient } from '../../../src/sftp/client.js';
import type { SftpServerOptions } from '../../../src/sftp/server.js';
import { serveSftp } from '../../../src/sftp/server.js';

/** Two connected Duplexes: what one writes, the other reads. */
export function duplexPair(): [Duplex, Duplex] {
  let a: Duplex;
  let b: Duplex;
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
      destroy(err, cb) {
        if (!peer().destroyed) peer().destroy();
        cb(err);
      },
    });
  a = make(() => b);
  b = make(() => a);
  return [a, b];
}

/** A client connected to `serveSftp(backend)` in memory. */
export async function sftpPair(backend: SftpBackend, opts: SftpServerOptions = {}) {
  const [c, s] = duplexPair();
  const served = serveSftp(s, backend, opts);
  const client = await SftpClient.fromChannel(c);
  return { client, served, clientStream: c, serverStream: s };
}

/** Wraps a backend so every file read returns a random shorter prefix (at least 1 byte). */
export function shortReads(b: SftpBackend, rand: () => number = Math.random): SftpBackend {
  return new Proxy(b, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop !== 'open' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
      return async (...args: Parameters<SftpBackend['open']>) => {
        const f = await target.open(...args);
        return {
          ...f,
          read: async (off: number, len: number) => {
            const d = await f.read(off, len);
            if (d.length <= 1) return d;
            return d.subarray(0, 1 + Math.floor(rand() * (d.length - 1)));
          },
          write: f.write.bind(f),
          stat: f.stat.bind(f),
          setstat: f.setstat.bind(f),
          close: f.close.bind(f),
          sync: f.sync?.bind(f),
          statvfs: f.statvfs?.bind(f),
        };
      };
    },
  });
}

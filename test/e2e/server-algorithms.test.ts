/** secsh client ↔ secsh server for every algorithm both support, legacy opt-ins included. */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import type { AlgorithmKind } from '../../src/crypto/algorithms.js';
import { supportedAlgorithms } from '../../src/crypto/algorithms.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { startServer } from './server-helpers.js';

test('every kex, host key, cipher, MAC and compression, with exec and a rekey', async () => {
  const user = generatePrivateKey('ed25519');
  const hostKeys = [
    generatePrivateKey('ed25519'),
    generatePrivateKey('ecdsa', { bits: 256 }),
    generatePrivateKey('ecdsa', { bits: 384 }),
    generatePrivateKey('ecdsa', { bits: 521 }),
    generatePrivateKey('rsa', { bits: 2048 }),
  ];
  const all = (k: AlgorithmKind) => supportedAlgorithms(k).filter((a) => a !== 'ssh-dss'); // no DSA private keys
  const { server, port } = await startServer({
    hostKeys,
    authenticate: (ctx) => ctx.method === 'publickey' && !!ctx.key?.equals(user.publicKey),
    algorithms: {
      kex: all('kex'),
      hostKey: all('hostKey'),
      cipher: all('cipher'),
      mac: all('mac'),
      compression: all('compression'),
    },
  });
  try {
    const kinds: AlgorithmKind[] = ['kex', 'hostKey', 'cipher', 'mac', 'compression'];
    let n = 0;
    for (const kind of kinds) {
      for (const alg of all(kind)) {
        if (process.env.SECSH_DEBUG_CASES) console.error('case', kind, alg);
        const algorithms = { [kind]: [alg], ...(kind === 'mac' ? { cipher: ['aes128-ctr'] } : {}) };
        const c = await Client.connect({
          host: '127.0.0.1',
          port,
          username: 'u',
          privateKey: user,
          insecureAcceptAnyHostKey: true,
          algorithms,
        }).catch((e: Error) => {
          throw new Error(`${kind} ${alg}: ${e.message}`, { cause: e });
        });
        try {
          assert.equal(c.algorithms[kind], alg, `${kind} ${alg}`);
          const payload = 'x'.repeat(60_000);
          assert.equal((await c.exec(payload)).stdout, `ran:${payload}`, `${kind} ${alg}`);
          await c.rekey();
          assert.equal((await c.exec('again')).stdout, 'ran:again', `${kind} ${alg} after rekey`);
        } finally {
          await c.close();
        }
        n++;
      }
    }
    // 39 cases on Node.js, 38 on Deno (no aes192-cbc), 32 on Bun (no finite-field DH): see crypto/runtime.ts.
    assert.ok(n >= 30, `${n} cases`);
  } finally {
    await server.close();
  }
});

test('rekey under zlib compression', async () => {
  const { server, port } = await startServer({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: () => true,
    authMethods: ['password'],
    algorithms: { compression: '+zlib' },
  });
  try {
    for (const z of ['zlib@openssh.com', 'zlib']) {
      const c = await Client.connect({
        host: '127.0.0.1',
        port,
        username: 'u',
        password: 'x',
        insecureAcceptAnyHostKey: true,
        algorithms: { compression: [z] },
      });
      try {
        await c.rekey();
        assert.equal((await c.exec('after')).stdout, 'ran:after', z);
      } finally {
        await c.close();
      }
    }
  } finally {
    await server.close();
  }
});

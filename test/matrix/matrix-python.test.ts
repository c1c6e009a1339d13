/**
 * The interop matrix against the Python peers (asyncssh, paramiko, Twisted Conch), both roles:
 * every algorithm both sides implement (read from the peer's KEXINIT, intersected with secsh's
 * table), each with an exec round trip; publickey (ed25519, ECDSA, RSA) and password; SFTP up and
 * down; and a 1 MiB `cat` echo with a re-key every 256 KiB, started by secsh and by the peer, with and
 * without each compression the peer offers. Prints `matrix <peer> <client|server>: …` per peer and
 * role (the peer's role). Run by `npm run test:matrix`, not by `npm test`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_PUBLICKEY_ALGORITHMS } from '../../src/auth/server.js';
import { Client, type ConnectOptions } from '../../src/client/client.js';
import type { AlgorithmKind } from '../../src/crypto/algorithms.js';
import type { NegotiatedAlgorithms } from '../../src/transport/options.js';
import { installTripwire } from '../helpers/interop.js';
import { AEAD_CIPHERS, commonAlgorithms, type PeerOffer, peerOnly, serverOffer } from '../helpers/native-peers.js';
import { requirePeer } from '../helpers/peers.js';
import {
  hostKeyTypeFor,
  PY_PASSWORD,
  PY_PEERS,
  PY_USER,
  type PyCase,
  type PyCaseResult,
  pinnedHostVerifier,
  pyClientOffer,
  runPyClient,
  startPyPeerServer,
} from '../helpers/python-peers.js';
import {
  assertCatEchoed,
  type ConnRecord,
  catEcho,
  type MatrixServer,
  MatrixTally,
  mixedBytes,
  pyCase,
  sharedPyEnv,
  startMatrixServer,
} from '../helpers/python-peers-matrix.js';

installTripwire();

const MiB = 1024 * 1024;
const REKEY = 256 * 1024;
const KINDS: readonly AlgorithmKind[] = ['kex', 'hostKey', 'cipher', 'mac', 'compression'];

const shared = sharedPyEnv('secsh-matrix-python-');

/** Per kind, the algorithms both the peer and secsh implement. */
function common(offer: PeerOffer): Record<AlgorithmKind, string[]> {
  const out = {} as Record<AlgorithmKind, string[]>;
  for (const k of KINDS) out[k] = commonAlgorithms(offer, k);
  return out;
}

/** The forced lists of one algorithm case (a MAC case also forces a cipher that uses a MAC). */
function forced(
  kind: AlgorithmKind,
  alg: string,
  both: Record<AlgorithmKind, string[]>,
): Partial<Record<AlgorithmKind, string[]>> {
  if (kind !== 'mac') return { [kind]: [alg] };
  const cipher = both.cipher.find((c) => !AEAD_CIPHERS.has(c));
  assert.ok(cipher, 'a cipher with a separate MAC in common');
  return { mac: [alg], cipher: [cipher] };
}

function describeOffer(
  t: { diagnostic(m: string): void },
  peer: string,
  offer: PeerOffer,
  both: Record<AlgorithmKind, string[]>,
) {
  t.diagnostic(
    `${peer} (${offer.version}) in common with secsh: ${KINDS.map((k) => `${k} ${both[k].length}`).join(', ')}`,
  );
  t.diagnostic(`${peer} offers, secsh does not implement: ${peerOnly(offer).join(',') || '-'}`);
}

// ---------------------------------------------------------------- secsh client → peer server

for (const peer of PY_PEERS) {
  test(`${peer} server: secsh client with every common algorithm, publickey and password, SFTP, 1 MiB echo re-keyed every 256 KiB by either side`, async (t) => {
    if (!requirePeer(t, peer, 'ssh-keygen')) return;
    const e = await shared.get();
    const root = await mkdtemp(join(e.dir, `${peer}-root-`));
    const srv = await startPyPeerServer(peer, { root, authorizedKeysPath: e.authorizedKeysPath, rekeyBytes: REKEY });
    const tally = new MatrixTally(peer, 'server');
    try {
      const offer = await serverOffer(srv.port);
      const both = common(offer);
      describeOffer(t, peer, offer, both);
      for (const k of KINDS) assert.ok(both[k].length > 0, `${k}: nothing in common`);
      const base: ConnectOptions = {
        host: '127.0.0.1',
        port: srv.port,
        username: PY_USER,
        password: PY_PASSWORD,
        hostVerifier: pinnedHostVerifier(Object.values(srv.hostKeys)),
        readyTimeout: 30_000,
      };
      const run = async (name: string, opts: Partial<ConnectOptions>, body: (c: Client) => Promise<void>) =>
        tally.case(t, name, async () => {
          const c = await Client.connect({ ...base, ...opts });
          try {
            await body(c);
          } finally {
            await c.close();
          }
        });
      const echo = async (c: Client) => {
        const r = await c.exec('echo hello matrix');
        assert.equal(r.stdout, 'hello matrix\n');
        assert.equal(r.code, 0);
      };

      for (const kind of KINDS) {
        for (const alg of both[kind]) {
          await run(`${kind} ${alg}`, { algorithms: forced(kind, alg, both) }, async (c) => {
            assert.equal(c.algorithms[kind], alg);
            if (kind === 'hostKey') assert.equal(c.hostKey.blob.toString('base64'), srv.hostKeys[hostKeyTypeFor(alg)]);
            await echo(c);
          });
        }
      }

      for (const [type, key] of Object.entries(e.keys)) {
        await run(
          `publickey ${type}`,
          { password: undefined, privateKey: readFileSync(key.privatePath, 'utf8') },
          echo,
        );
      }
      await run('password', {}, echo);

      await run('sftp: 1 MiB up, listed, down, removed', {}, async (c) => {
        const sftp = await c.sftp();
        const local = join(e.dir, `${peer}-up.bin`);
        await writeFile(local, mixedBytes(MiB));
        assert.equal(await sftp.upload(local, 'matrix-secsh.bin'), MiB);
        assert.ok(
          (await sftp.readdir('.')).some((d) => d.filename === 'matrix-secsh.bin'),
          'listed',
        );
        assert.equal((await sftp.stat('matrix-secsh.bin')).size, MiB);
        const back = await sftp.readFile('matrix-secsh.bin');
        assert.equal(back.length, MiB);
        assert.ok(back.equals(readFileSync(local)), 'downloaded bytes are the uploaded bytes');
        await sftp.unlink('matrix-secsh.bin');
        assert.equal(await sftp.exists('matrix-secsh.bin'), false);
        sftp.end();
      });

      const compressions = both.compression.filter((z) => z !== 'none');
      for (const z of ['none', ...compressions]) {
        await run(
          `1 MiB cat, secsh re-keys every 256 KiB, compression ${z}`,
          { algorithms: { compression: [z] }, rekeyLimit: { bytes: REKEY } },
          async (c) => {
            const kex = countKex(c);
            await catEcho(c, MiB);
            assert.ok(kex.n >= minRekeys(z), `only ${kex.n} re-keys`);
            t.diagnostic(`${peer} server, secsh re-keys, ${z}: ${kex.n} re-keys`);
            await echo(c);
          },
        );
      }
      for (const z of ['none', ...compressions.slice(0, 1)]) {
        await run(
          `1 MiB cat, ${peer} re-keys every 256 KiB, compression ${z}`,
          { port: srv.rekeyPort, algorithms: { compression: [z] } },
          async (c) => {
            const kex = countKex(c);
            await catEcho(c, MiB);
            // a re-key the peer started near the end completes before the next exec is answered
            await echo(c);
            assert.ok(kex.n >= 1, `${peer} did not re-key`);
            t.diagnostic(`${peer} server, ${peer} re-keys, ${z}: ${kex.n} re-keys`);
          },
        );
      }
    } finally {
      tally.summary();
      await srv.stop();
    }
  });
}

/**
 * Re-keys secsh must have started in a 1 MiB echo with a 256 KiB limit: the limit counts bytes on the
 * wire in each direction, so 4 without compression (at least 3 asserted) and fewer when zlib shrinks
 * the data (the text half of each block compresses well).
 */
function minRekeys(compression: string): number {
  return compression === 'none' ? 2 : 1;
}

/** Counts the key exchanges a client completes from now on (re-keys, once connected). */
function countKex(c: Client): { n: number } {
  const count = { n: 0 };
  c.transport.on('kex', (_n: NegotiatedAlgorithms) => count.n++);
  return count;
}

// ---------------------------------------------------------------- peer client → secsh server

type Check = (r: PyCaseResult, rec: ConnRecord) => void;

/** Clients that sign RSA user authentication with ssh-rsa (SHA-1) only, ignoring server-sig-algs. */
const RSA_SHA1_ONLY: ReadonlySet<string> = new Set(['twisted']);

for (const peer of PY_PEERS) {
  test(`${peer} client: against the secsh server with every common algorithm, publickey and password, SFTP, 1 MiB echo re-keyed every 256 KiB by either side`, async (t) => {
    if (!requirePeer(t, peer, 'ssh-keygen')) return;
    const e = await shared.get();
    const root = await mkdtemp(join(e.dir, `secsh-root-${peer}-`));
    const userKeys = Object.values(e.keys);
    const plain = await startMatrixServer({ userKeys, root });
    const rekeying = await startMatrixServer({ userKeys, root, rekeyLimit: { bytes: REKEY } });
    let legacy: MatrixServer | undefined;
    const tally = new MatrixTally(peer, 'client');
    try {
      const offer = await pyClientOffer(peer, e.dir);
      const both = common(offer);
      describeOffer(t, peer, offer, both);
      for (const k of KINDS) assert.ok(both[k].length > 0, `${k}: nothing in common`);

      const cases: { c: PyCase; server: MatrixServer; check: Check; refused?: boolean }[] = [];
      const add = (name: string, over: Partial<PyCase>, check: Check, server = plain, refused = false) => {
        cases.push({ c: pyCase(server, e.dir, name, over), server, check, refused });
      };
      const echoed = (name: string) => (r: PyCaseResult) => {
        assert.equal(r.stdout, `hello ${name}\n`);
        assert.equal(r.exit, 0);
      };
      const catted = (minExchanges: number, what: string) => (r: PyCaseResult, rec: ConnRecord) => {
        assertCatEchoed(r, MiB);
        const rekeys = rec.exchanges.length - 1;
        assert.ok(rekeys >= minExchanges, `${what}: only ${rekeys} re-keys`);
        t.diagnostic(`${peer} client, ${what} re-keys, ${rec.exchanges[0]?.compression}: ${rekeys} re-keys`);
      };

      for (const kind of KINDS) {
        for (const alg of both[kind]) {
          const name = `${kind} ${alg}`;
          add(name, { algs: forced(kind, alg, both) }, (r, rec) => {
            echoed(name)(r);
            const n = rec.exchanges[0];
            assert.ok(n, 'the secsh server saw the key exchange');
            assert.equal(negotiatedOf(n, kind), alg);
          });
        }
      }
      for (const [type, key] of Object.entries(e.keys)) {
        const name = `publickey ${type}`;
        if (type === 'rsa' && RSA_SHA1_ONLY.has(peer)) {
          // Conch 22.4 signs with ssh-rsa whatever the server announces; secsh, like sshd since
          // 8.8, accepts SHA-1 RSA signatures only when told to
          add(
            `${name} refused: ${peer} signs with ssh-rsa SHA-1, off by default`,
            { password: null, keyFile: key.privatePath },
            () => {},
            plain,
            true,
          );
          legacy ??= await startMatrixServer({
            userKeys,
            root,
            publicKeyAlgorithms: [...DEFAULT_PUBLICKEY_ALGORITHMS, 'ssh-rsa'],
          });
          add(
            `${name} with ssh-rsa SHA-1 allowed by the server`,
            { password: null, keyFile: key.privatePath },
            echoed(`${name} with ssh-rsa SHA-1 allowed by the server`),
            legacy,
          );
          continue;
        }
        add(name, { password: null, keyFile: key.privatePath }, echoed(name));
      }
      add('password', {}, echoed('password'));
      add('sftp 1 MiB up listed down removed', { action: 'sftp' }, (r) => {
        assert.equal(r.size, MiB);
        assert.equal(r.sha256Back, r.sha256Sent, 'downloaded bytes are the uploaded bytes');
        assert.ok(
          r.names?.some((n) => n.startsWith('matrix-')),
          `listed: ${r.names}`,
        );
      });
      const compressions = both.compression.filter((z) => z !== 'none');
      for (const z of ['none', ...compressions]) {
        add(
          `1 MiB cat secsh re-keys every 256 KiB compression ${z}`,
          { action: 'cat', algs: { compression: [z] } },
          catted(minRekeys(z), 'secsh'),
          rekeying,
        );
      }
      for (const z of ['none', ...compressions.slice(0, 1)]) {
        add(
          `1 MiB cat ${peer} re-keys every 256 KiB compression ${z}`,
          { action: 'cat', algs: { compression: [z] }, rekeyBytes: REKEY },
          catted(1, peer),
        );
      }

      const results = await runPyClient(
        peer,
        cases.map((x) => x.c),
      );
      const claimed = new Set([...results.values()].map((r) => r.localPort));
      /** What the secsh server said about connections no successful case accounts for. */
      const serverErrors = (s: MatrixServer) =>
        [...s.byClientPort]
          .filter(([port, rec]) => rec.error && !claimed.has(port))
          .map(([, rec]) => rec.error?.message)
          .join('; ');
      for (const { c, server, check, refused } of cases) {
        await tally.case(t, c.name, () => {
          const r = results.get(c.name);
          assert.ok(r, `${peer} reported nothing for this case`);
          if (refused) {
            assert.equal(r.ok, false, 'the secsh server refused the login');
            return;
          }
          assert.ok(r.ok, `${peer}: ${r.error}; secsh server errors: ${serverErrors(server) || '-'}\n${r.trace ?? ''}`);
          const rec = r.localPort === undefined ? undefined : server.byClientPort.get(r.localPort);
          assert.ok(rec, 'the secsh server knows the connection');
          assert.equal(rec.error, undefined, `the secsh server ended the connection with ${rec.error?.message}`);
          check(r, rec);
        });
      }
    } finally {
      tally.summary();
      await plain.close();
      await rekeying.close();
      await legacy?.close();
    }
  });
}

/** The name the secsh server negotiated for `kind` (both directions must agree). */
function negotiatedOf(n: NegotiatedAlgorithms, kind: AlgorithmKind): string {
  if (kind === 'kex' || kind === 'hostKey') return n[kind];
  assert.equal(n.inbound[kind], n[kind], `${kind} differs by direction`);
  return n[kind];
}

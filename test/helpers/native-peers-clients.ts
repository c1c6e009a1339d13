/**
 * The native peer clients as the matrix drives them (ClientPeer): dbclient, PuTTY (plink for exec,
 * psftp up and pscp down for SFTP), libssh's peer-client, and OpenSSH's ssh 9.2 and 10. What each offers
 * is read from its KEXINIT (clientOffer); peers that offer less than they can by default are asked for
 * every name secsh knows (ssh: its `-Q` lists; libssh: keeps the ones it implements).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { supportedAlgorithms } from '../../src/crypto/algorithms.js';
import { DBCLIENT, runDbclient, toDropbearKey } from './dropbear.js';
import { buildLibsshPeers, type LibsshClientOptions, libsshSftpCopy, runLibsshClient } from './libssh.js';
import { clientOffer } from './native-peers.js';
import type { AuthKind, ClientPeer, ClientRun, Pin } from './native-peers-matrix.js';
import { type OpenSshVersion, runSshClient, sshBin } from './native-peers-openssh.js';
import { makeUserKeys, type SecshServer } from './native-peers-server.js';
import type { PeerName } from './peers.js';
import { PLINK, runPlink, runPscp, runPsftp, toPpk } from './putty.js';

/** A peer client the matrix knows how to start; `dir` is a private scratch directory. */
export interface ClientPeerEntry {
  name: string;
  needs: PeerName[];
  start(dir: string): Promise<ClientPeer>;
}

const run = promisify(execFile);
const USER = 'matrix';
const PASSWORD = 'matrix-pw';

let homes = 0;
/** A fresh HOME for one run (clients that remember host keys must not see another server's). */
async function freshHome(dir: string): Promise<string> {
  const h = join(dir, `home-${++homes}`);
  await mkdir(h, { recursive: true });
  return h;
}

async function dbclient(dir: string): Promise<ClientPeer> {
  const keys = await makeUserKeys(dir);
  const ids = {
    ed25519: await toDropbearKey(keys.ed25519.privatePath),
    ecdsa: await toDropbearKey(keys.ecdsa.privatePath),
    rsa: await toDropbearKey(keys.rsa.privatePath),
  };
  const probeHome = await freshHome(dir);
  const offer = await clientOffer((port) =>
    spawn(DBCLIENT, ['-y', '-p', String(port), '127.0.0.1', 'true'], { env: { ...process.env, HOME: probeHome } }),
  );
  return {
    name: 'dbclient',
    offer,
    authKinds: ['ed25519', 'ecdsa', 'rsa', 'password'],
    peerRekey: false,
    algorithmWalk: true,
    account: { user: USER, password: PASSWORD, keys: [keys.ed25519, keys.ecdsa, keys.rsa] },
    run: async (srv, r) => {
      const extra: string[] = [];
      if (r.pin?.kind === 'cipher') extra.push('-c', r.pin.name, ...(r.pin.mac ? ['-m', r.pin.mac] : []));
      const target = {
        port: srv.port,
        user: USER,
        home: await freshHome(dir),
        ...(r.auth === 'password' ? { password: PASSWORD } : { identity: ids[r.auth] }),
      };
      return runDbclient(target, extra, r.command, r.input ? { input: r.input } : {});
    },
    stop: async () => {},
  };
}

/** PuTTY's preference lists with every algorithm above the warning line (no prompt in -batch mode). */
const PUTTY_PREFS = {
  KEX: 'ntru-curve25519,ecdh,dh-gex-sha1,dh-group18-sha512,dh-group17-sha512,dh-group16-sha512,dh-group15-sha512,dh-group14-sha1,dh-group1-sha1,rsa,WARN',
  Cipher: 'aes,chacha20,aesgcm,3des,des,blowfish,arcfour,WARN',
  HostKey: 'ed448,ed25519,ecdsa,rsa,dsa,WARN',
};

async function putty(dir: string): Promise<ClientPeer> {
  const keys = await makeUserKeys(dir);
  const ppks = {
    ed25519: await toPpk(keys.ed25519.privatePath),
    ecdsa: await toPpk(keys.ecdsa.privatePath),
    rsa: await toPpk(keys.rsa.privatePath),
  };
  const probeHome = await freshHome(dir);
  const offer = await clientOffer((port) =>
    spawn(PLINK, ['-batch', '-C', '-P', String(port), '127.0.0.1', 'true'], {
      env: { ...process.env, HOME: probeHome },
    }),
  );
  const target = async (srv: SecshServer, auth: AuthKind, r?: ClientRun) => ({
    port: srv.port,
    user: USER,
    hostKeys: srv.fingerprints,
    home: await freshHome(dir),
    session: { ...PUTTY_PREFS, ...(r?.rekeyBytes ? { RekeyBytes: String(r.rekeyBytes) } : {}) },
    ...(r?.compression ? { compression: true } : {}),
    ...(auth === 'password' ? { password: PASSWORD } : { ppk: ppks[auth] }),
  });
  return {
    name: 'putty',
    offer,
    authKinds: ['ed25519', 'ecdsa', 'rsa', 'password'],
    peerRekey: true,
    algorithmWalk: true,
    account: { user: USER, password: PASSWORD, keys: [keys.ed25519, keys.ecdsa, keys.rsa] },
    run: async (srv, r) => runPlink(await target(srv, r.auth, r), r.command, r.input ? { input: r.input } : {}),
    sftpRoundTrip: async (srv, local, name, back) => {
      const up = await runPsftp(await target(srv, 'ed25519'), [`put ${local} ${name}`]);
      if (up.code !== 0) throw new Error(`psftp put: ${up.code} ${up.stderr}`);
      const down = await runPscp(await target(srv, 'ed25519'), `:${name}`, back);
      if (down.code !== 0) throw new Error(`pscp get: ${down.code} ${down.stderr}`);
    },
    stop: async () => {},
  };
}

/** Every name secsh knows of a kind, comma-separated (libssh drops the ones it does not implement). */
const everything = (kind: 'kex' | 'hostKey' | 'cipher' | 'mac') => supportedAlgorithms(kind).join(',');

function libsshPin(p: Pin | undefined): Partial<LibsshClientOptions> {
  if (!p) return {};
  if (p.kind === 'kex') return { kex: p.name };
  if (p.kind === 'hostKey') return { hostKeyAlgorithms: p.name };
  if (p.kind === 'cipher') return { ciphers: p.name, ...(p.mac ? { macs: p.mac } : {}) };
  return {};
}

async function libssh(dir: string): Promise<ClientPeer> {
  const keys = await makeUserKeys(dir);
  const { client } = await buildLibsshPeers();
  const offer = await clientOffer((port) =>
    spawn(client, [
      ...['-p', String(port), '-l', USER, '-f', 'none', '-z', 'yes'],
      ...['-x', everything('kex'), '-H', everything('hostKey'), '-c', everything('cipher'), '-m', everything('mac')],
      'true',
    ]),
  );
  const options = (srv: SecshServer, auth: AuthKind, r?: ClientRun): LibsshClientOptions => ({
    port: srv.port,
    user: USER,
    hostKeys: srv.fingerprints,
    ...(auth === 'password' ? { password: PASSWORD } : { identity: keys[auth].privatePath }),
    ...libsshPin(r?.pin),
    compression: r?.compression ? 'yes' : 'no',
    ...(r?.rekeyBytes ? { rekeyBytes: r.rekeyBytes } : {}),
  });
  return {
    name: 'libssh',
    offer,
    authKinds: ['ed25519', 'ecdsa', 'rsa', 'password'],
    peerRekey: true,
    algorithmWalk: true,
    account: { user: USER, password: PASSWORD, keys: [keys.ed25519, keys.ecdsa, keys.rsa] },
    run: (srv, r) => runLibsshClient(options(srv, r.auth, r), r.command, r.input ? { input: r.input } : {}),
    sftpRoundTrip: async (srv, local, name, back) => {
      const up = await libsshSftpCopy(options(srv, 'ed25519'), true, local, `/${name}`);
      if (up.code !== 0) throw new Error(`libssh sftp upload: ${up.code} ${up.stderr}`);
      const down = await libsshSftpCopy(options(srv, 'ed25519'), false, `/${name}`, back);
      if (down.code !== 0) throw new Error(`libssh sftp download: ${down.code} ${down.stderr}`);
    },
    stop: async () => {},
  };
}

const SSH_OPTION: Record<string, string> = {
  kex: 'KexAlgorithms',
  hostKey: 'HostKeyAlgorithms',
  cipher: 'Ciphers',
  mac: 'MACs',
};

async function openSsh(v: OpenSshVersion, dir: string): Promise<ClientPeer> {
  const keys = await makeUserKeys(dir);
  const q = async (what: string) => (await run(sshBin(v), ['-Q', what])).stdout.trim().split('\n');
  const all = ['-C'];
  for (const [kind, what] of [
    ['kex', 'kex'],
    ['hostKey', 'key-sig'],
    ['cipher', 'cipher'],
    ['mac', 'mac'],
  ] as const) {
    all.push('-o', `${SSH_OPTION[kind]}=${(await q(what)).join(',')}`);
  }
  const offer = await clientOffer((port) =>
    spawn(sshBin(v), ['-F', 'none', '-o', 'BatchMode=yes', ...all, '-p', String(port), '127.0.0.1', 'true']),
  );
  return {
    name: v === '10' ? 'openssh10' : 'openssh9',
    offer,
    authKinds: ['ed25519', 'ecdsa', 'rsa', 'password'],
    peerRekey: true,
    // test/long/server-openssh.test.ts walks every algorithm with ssh 9.2
    algorithmWalk: v === '10',
    account: { user: USER, password: PASSWORD, keys: [keys.ed25519, keys.ecdsa, keys.rsa] },
    run: async (srv, r) => {
      const home = await freshHome(dir);
      const knownHosts = join(home, 'known_hosts');
      await writeFile(
        knownHosts,
        srv.hostKeys.map((k) => `[127.0.0.1]:${srv.port} ${k.publicKey.toString()}\n`).join(''),
      );
      const extra: string[] = [];
      const p = r.pin;
      if (p && p.kind !== 'compression') extra.push('-o', `${SSH_OPTION[p.kind]}=${p.name}`);
      if (p?.mac) extra.push('-o', `MACs=${p.mac}`);
      if (r.compression) extra.push('-C');
      if (r.rekeyBytes) extra.push('-o', `RekeyLimit=${r.rekeyBytes}`);
      const t = {
        port: srv.port,
        user: USER,
        knownHosts,
        dir: home,
        ...(r.auth === 'password' ? { password: PASSWORD } : { identity: keys[r.auth].privatePath }),
      };
      return runSshClient(v, t, extra, r.command, r.input ? { input: r.input } : {});
    },
    stop: async () => {},
  };
}

export const CLIENT_PEERS: readonly ClientPeerEntry[] = [
  { name: 'dbclient', needs: ['dbclient', 'ssh-keygen'], start: dbclient },
  { name: 'putty', needs: ['plink', 'psftp', 'pscp', 'ssh-keygen'], start: putty },
  { name: 'libssh', needs: ['libssh', 'ssh-keygen'], start: libssh },
  { name: 'openssh9', needs: ['ssh', 'ssh-keygen'], start: (d) => openSsh('9', d) },
  { name: 'openssh10', needs: ['openssh10-ssh', 'ssh-keygen'], start: (d) => openSsh('10', d) },
];

/** A scratch directory for a client peer. */
export function clientDir(base: string, name: string): Promise<string> {
  return mkdtemp(join(base, `${name}-`));
}

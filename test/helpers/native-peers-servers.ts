/**
 * The native peer servers as the matrix drives them (ServerPeer): dropbear, libssh's peer-server,
 * tinysshd, and OpenSSH's sshd 9.2 and 10. Each entry names the peers it needs (requirePeer) and
 * starts one server; the libssh server is started with every name secsh knows in each list, so its
 * KEXINIT shows everything libssh can do, not only its defaults.
 */
import { readFile } from 'node:fs/promises';
import { supportedAlgorithms } from '../../src/crypto/algorithms.js';
import type { ConnectOptions } from '../../src/index.js';
import { startDropbear } from './dropbear.js';
import { type LibsshServerOptions, startLibsshServer } from './libssh.js';
import type { AuthKind, ServerPeer } from './native-peers-matrix.js';
import { type OpenSshVersion, startOpenSshd } from './native-peers-openssh.js';
import type { UserKeys } from './native-peers-server.js';
import type { PeerName } from './peers.js';
import { startTinysshd } from './tinysshd.js';

/** A peer server the matrix knows how to start. */
export interface ServerPeerEntry {
  name: string;
  needs: PeerName[];
  start(): Promise<ServerPeer>;
}

async function credentials(
  auth: AuthKind,
  keys: UserKeys,
  password: string,
): Promise<Pick<ConnectOptions, 'privateKey' | 'password'>> {
  if (auth === 'password') return { password };
  return { privateKey: await readFile(keys[auth].privatePath, 'utf8') };
}

async function dropbear(): Promise<ServerPeer> {
  const d = await startDropbear();
  return {
    name: 'dropbear',
    offer: d.offer,
    authKinds: ['ed25519', 'ecdsa', 'rsa', 'password'],
    sftp: true,
    algorithmWalk: true,
    hostFingerprints: d.hostKeys.map((k) => k.fingerprint),
    connectOptions: async (auth) => ({
      host: '127.0.0.1',
      port: d.port,
      username: d.user.name,
      ...(await credentials(auth, d.userKeys, d.user.password)),
    }),
    stop: () => d.stop(),
    logs: () => d.logs(),
  };
}

/** Every name secsh knows, comma-separated: libssh keeps the ones it implements. */
const everything = (kind: 'kex' | 'hostKey' | 'cipher' | 'mac') => supportedAlgorithms(kind).join(',');

async function libssh(rekeyBytes?: number): Promise<ServerPeer> {
  const o: LibsshServerOptions = {
    kex: everything('kex'),
    hostKeyAlgorithms: everything('hostKey'),
    ciphers: everything('cipher'),
    macs: everything('mac'),
    ...(rekeyBytes ? { rekeyBytes } : {}),
  };
  const l = await startLibsshServer(o);
  return {
    name: 'libssh',
    offer: l.offer,
    authKinds: ['ed25519', 'ecdsa', 'rsa', 'password'],
    sftp: true,
    algorithmWalk: true,
    hostFingerprints: l.hostKeys.map((k) => k.fingerprint),
    connectOptions: async (auth) => ({
      host: '127.0.0.1',
      port: l.port,
      username: l.user,
      ...(await credentials(auth, l.userKeys, l.password)),
    }),
    withPeerRekey: (bytes) => libssh(bytes),
    stop: () => l.stop(),
    logs: () => l.logs(),
  };
}

async function tinysshd(): Promise<ServerPeer> {
  const t = await startTinysshd();
  return {
    name: 'tinysshd',
    offer: t.offer,
    authKinds: ['ed25519'],
    sftp: true,
    algorithmWalk: true,
    oneSession: true,
    hostFingerprints: [t.hostKeyFingerprint],
    connectOptions: async (auth) => ({
      host: '127.0.0.1',
      port: t.port,
      username: t.user.name,
      ...(await credentials(auth, t.userKeys, '')),
    }),
    stop: () => t.stop(),
    logs: () => t.logs(),
  };
}

async function openSshd(v: OpenSshVersion, extra: string[] = []): Promise<ServerPeer> {
  const s = await startOpenSshd(v, extra);
  return {
    name: v === '10' ? 'openssh10' : 'openssh9',
    offer: s.offer,
    authKinds: ['ed25519', 'ecdsa', 'rsa', 'password'],
    sftp: true,
    // test/long/algorithms.test.ts walks every algorithm against sshd 9.2
    algorithmWalk: v === '10',
    hostFingerprints: s.hostKeys.map((k) => k.fingerprint),
    connectOptions: async (auth) => ({
      host: '127.0.0.1',
      port: s.port,
      username: s.user.name,
      ...(await credentials(auth, s.userKeys, s.user.password)),
    }),
    withPeerRekey: (bytes) => openSshd(v, [`RekeyLimit ${bytes}`]),
    stop: () => s.stop(),
    logs: () => s.logs(),
  };
}

export const SERVER_PEERS: readonly ServerPeerEntry[] = [
  { name: 'dropbear', needs: ['dropbear', 'ssh-keygen'], start: dropbear },
  { name: 'libssh', needs: ['libssh', 'ssh-keygen'], start: () => libssh() },
  { name: 'tinysshd', needs: ['tinysshd', 'ssh-keygen'], start: tinysshd },
  { name: 'openssh9', needs: ['sshd', 'ssh', 'ssh-keygen'], start: () => openSshd('9') },
  { name: 'openssh10', needs: ['openssh10-sshd', 'openssh10-ssh', 'ssh-keygen'], start: () => openSshd('10') },
];

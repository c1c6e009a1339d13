/**
 * Make keys and a certificate, as ssh-keygen does: a user key (passphrase-protected when you give
 * one), a certificate authority, and a user certificate signed by it. Offline: no server involved.
 *
 *   OUT_DIR=./keys KEY_PASSPHRASE='correct horse' npx tsx examples/keys.ts
 *
 * OUT_DIR (default: a new temporary folder), KEY_PASSPHRASE (unset: the key file is not encrypted),
 * CERT_PRINCIPAL (the user name the certificate is for; default yours). Writes id_ed25519,
 * id_ed25519.pub, id_ed25519-cert.pub, ca and ca.pub.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import {
  generatePrivateKey,
  issueCertificate,
  parseCertificate,
  parsePublicKey,
  readPrivateKeyFile,
  writePrivateKeyFile,
} from 'secsh';

const env = process.env;
const dir = env.OUT_DIR ?? (await mkdtemp(join(tmpdir(), 'secsh-keys-')));
await mkdir(dir, { recursive: true, mode: 0o700 });
const principal = env.CERT_PRINCIPAL ?? userInfo().username;
const passphrase = env.KEY_PASSPHRASE || undefined;

// A user key. 'ecdsa' (256/384/521 bits) and 'rsa' (default 3072 bits, slow to make) work the same way.
const key = generatePrivateKey('ed25519', { comment: `${principal}@secsh-example` });
await writePrivateKeyFile(join(dir, 'id_ed25519'), key, { passphrase }); // OpenSSH format, mode 0600
await writeFile(join(dir, 'id_ed25519.pub'), key.publicKey.export()); // the authorized_keys line
console.log(`key ${key.publicKey.fingerprint()} ${key.publicKey.comment}${passphrase ? ' (encrypted)' : ''}`);
console.log(key.publicKey.randomart());
// Other formats: key.export({ format: 'pkcs8' }) (PEM) or { format: 'ppk' } (PuTTY);
// key.publicKey.export({ format: 'rfc4716' }) as ssh-keygen -e writes it.

// A certificate authority, and a user certificate for the key, valid for a day.
const ca = generatePrivateKey('ed25519', { comment: 'secsh example CA' });
await writePrivateKeyFile(join(dir, 'ca'), ca);
await writeFile(join(dir, 'ca.pub'), ca.publicKey.export());
const now = Date.now();
const cert = await issueCertificate(ca, key.publicKey, {
  type: 'user',
  keyId: `${principal}-${new Date(now).toISOString().slice(0, 10)}`,
  principals: [principal],
  validAfter: new Date(now - 5 * 60_000), // a little slack for clocks that differ
  validBefore: new Date(now + 24 * 3600_000),
  serial: 1n,
});
await writeFile(join(dir, 'id_ed25519-cert.pub'), `${cert.toString()}\n`);
console.log(`certificate ${cert.certType} id "${cert.keyId}" for ${cert.principals.join(',')}`);
console.log(`  valid until ${new Date(Number(cert.validBefore) * 1000).toISOString()}`);
console.log(`  extensions ${[...cert.extensions.keys()].join(' ')}`);

// Read everything back as a client or server would, and check the certificate as a server does.
const again = await readPrivateKeyFile(join(dir, 'id_ed25519'), { passphrase });
const caKey = parsePublicKey(await readFile(join(dir, 'ca.pub'), 'utf8'));
const parsed = parseCertificate(await readFile(join(dir, 'id_ed25519-cert.pub'), 'utf8'));
parsed.verify({ trustedCAs: [caKey], type: 'user', principal }); // throws KeyError saying what is wrong
console.log(`read back: same key ${again.publicKey.equals(key.publicKey)}, certificate verifies against ca.pub`);

console.log(`\nfiles in ${dir}`);
console.log(`  sshd_config:   TrustedUserCAKeys ${join(dir, 'ca.pub')}`);
console.log('  secsh Server:  new Server({ trustedUserCAKeys: [caKey], … })');
console.log(`  ssh:           ssh -i ${join(dir, 'id_ed25519')} host   (picks up id_ed25519-cert.pub beside it)`);
console.log("  secsh Client:  Client.connect({ privateKey, certificate: '<id_ed25519-cert.pub text>', … })");

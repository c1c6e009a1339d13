/**
 * Security keys (sk) against OpenSSH 9.2, with the software authenticator of test/helpers standing in for
 * a token (OpenSSH's own ssh and ssh-keygen cannot sign with sk keys without one, so signatures only go
 * authenticator → OpenSSH, never the other way):
 * - ssh-keygen reads the authenticator's public and private key files (-l, -y) with secsh's fingerprint;
 * - ssh-keygen -Y verify accepts SSHSIG signatures made through it;
 * - ssh-keygen -s certifies an sk public key and secsh reads the certificate;
 * - sshd accepts a secsh client signing through it and refuses a signature without user presence unless
 *   authorized_keys says no-touch-required (verify-required likewise, certificates by their extension and
 *   critical option), and the secsh server decides every case as sshd does.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { authorizedKeyRestrictions } from '../../src/auth/restrictions.js';
import type { AuthContext, AuthDecision } from '../../src/auth/server.js';
import { KeyPassphraseError } from '../../src/errors.js';
import { Client } from '../../src/index.js';
import {
  armorSshsig,
  type Certificate,
  CertificateSigner,
  generatePrivateKey,
  issueCertificate,
  parseAuthorizedKeys,
  parseCertificate,
  parsePublicKey,
  parseSecurityKeyFile,
  type SecurityKeySignatureInfo,
  signSshsig,
  verifySshsig,
} from '../../src/keys/index.js';
import { sshsigSignedData } from '../../src/keys/sshsig.js';
import { type AuthAttempt, Server } from '../../src/server/server.js';
import { SshWriter } from '../../src/wire/index.js';
import { installTripwire, sharedSshd } from '../helpers/interop.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { SoftwareAuthenticator } from '../helpers/sk-authenticator.js';

installTripwire();
const run = promisify(execFile);
const KINDS = ['ed25519', 'ecdsa'] as const;

let dir = '';
const ca = generatePrivateKey('ed25519');
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-sk-'));
  await writeFile(join(dir, 'ca.pub'), `${ca.publicKey.toString()}\n`);
  await writeFile(join(dir, 'ca'), ca.toOpenSSH(), { mode: 0o600 });
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const caFile = join(tmpdir(), `secsh-sk-ca-${process.pid}.pub`);
const shared = sharedSshd({
  hostKeyTypes: ['ed25519'],
  // TrustedUserCAKeys is read when a certificate is offered, after `before` wrote the file.
  extraConfig: ['LogLevel DEBUG1', `TrustedUserCAKeys ${caFile}`],
});

async function keygen(args: string[], input?: string): Promise<{ code: number; out: string }> {
  const p = run(binPath('ssh-keygen'), args, { encoding: 'utf8' });
  if (input !== undefined) {
    p.child.stdin?.end(input);
  }
  try {
    const { stdout, stderr } = await p;
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('ssh-keygen reads what the software authenticator writes', () => {
  for (const kind of KINDS) {
    test(`${kind}-sk: ssh-keygen -l on the public and private key files prints secsh's fingerprint; -y gives the public line`, async (t) => {
      if (!requirePeer(t, 'ssh-keygen')) return;
      const a = new SoftwareAuthenticator(kind, { comment: `sk-${kind}` });
      const path = join(dir, `id_${kind}_sk`);
      await writeFile(path, a.privateKeyFile(), { mode: 0o600 });
      await writeFile(`${path}.pub`, `${a.publicKeyLine()}\n`);
      const label = kind === 'ed25519' ? 'ED25519-SK' : 'ECDSA-SK';
      for (const f of [`${path}.pub`, path]) {
        const { code, out } = await keygen(['-l', '-E', 'sha256', '-f', f]);
        assert.equal(code, 0, out);
        assert.equal(out.trim(), `256 ${a.publicKey.fingerprint()} sk-${kind} (${label})`);
      }
      const md5 = await keygen(['-l', '-E', 'md5', '-f', `${path}.pub`]);
      assert.equal(md5.out.split(' ')[1], a.publicKey.fingerprint('md5'));
      const y = await keygen(['-y', '-f', path]);
      assert.equal(y.code, 0, y.out);
      assert.equal(parsePublicKey(y.out.trim()).fingerprint(), a.publicKey.fingerprint());
    });

    test(`${kind}-sk: a key file ssh-keygen -p re-wrote with a passphrase parses with it, keeping the key handle`, async (t) => {
      if (!requirePeer(t, 'ssh-keygen')) return;
      const a = new SoftwareAuthenticator(kind, { enrolFlags: 0x05, application: 'ssh:rewritten' });
      const path = join(dir, `enc_${kind}_sk`);
      await writeFile(path, a.privateKeyFile('before'), { mode: 0o600 });
      const r = await keygen(['-q', '-p', '-P', '', '-N', 'sekrit', '-f', path]);
      assert.equal(r.code, 0, r.out);
      const text = await readFile(path, 'utf8');
      assert.notEqual(text, a.privateKeyFile('before'));
      assert.throws(() => parseSecurityKeyFile(text), KeyPassphraseError);
      assert.throws(() => parseSecurityKeyFile(text, { passphrase: 'wrong' }), KeyPassphraseError);
      const f = parseSecurityKeyFile(text, { passphrase: 'sekrit' });
      assert.ok(f.publicKey.equals(a.publicKey));
      assert.deepEqual(f.keyHandle, a.keyHandle);
      assert.equal(f.flags, 0x05);
      assert.equal(f.application, 'ssh:rewritten');
      assert.equal(f.comment, 'before');
    });

    test(`${kind}-sk: ssh-keygen -Y verify accepts SSHSIG made through the authenticator (sha256, sha512) and refuses other data`, async (t) => {
      if (!requirePeer(t, 'ssh-keygen')) return;
      const a = new SoftwareAuthenticator(kind);
      const signers = join(dir, `allowed_${kind}`);
      await writeFile(signers, `me@example.com namespaces="git" ${a.publicKeyLine()}\n`);
      for (const hashAlgorithm of ['sha256', 'sha512'] as const) {
        const sig = join(dir, `msg_${kind}_${hashAlgorithm}.sig`);
        await writeFile(sig, await signSshsig('commit body\n', a.signer(), { namespace: 'git', hashAlgorithm }));
        const args = ['-Y', 'verify', '-n', 'git', '-f', signers, '-I', 'me@example.com', '-s', sig];
        const ok = await keygen(args, 'commit body\n');
        assert.equal(ok.code, 0, ok.out);
        assert.match(
          ok.out,
          new RegExp(`Good "git" signature for me@example.com with ${kind === 'ed25519' ? 'ED25519' : 'ECDSA'}-SK key`),
        );
        const bad = await keygen(args, 'another body\n');
        assert.notEqual(bad.code, 0, bad.out);
      }
      // ssh-keygen -Y verify does not look at the flags: a signature without touch verifies there too.
      a.signFlags = 0;
      const sig = join(dir, `msg_${kind}_untouched.sig`);
      await writeFile(sig, await signSshsig('x\n', a.signer(), { namespace: 'git' }));
      const res = await keygen(['-Y', 'verify', '-n', 'git', '-f', signers, '-I', 'me@example.com', '-s', sig], 'x\n');
      assert.equal(res.code, 0, res.out);
    });

    test(`${kind}-sk: a certificate ssh-keygen -s makes for the sk key parses in secsh with its sk type and options`, async (t) => {
      if (!requirePeer(t, 'ssh-keygen')) return;
      const a = new SoftwareAuthenticator(kind);
      const path = join(dir, `cert_${kind}_sk`);
      await writeFile(`${path}.pub`, `${a.publicKeyLine()}\n`);
      const r = await keygen([
        '-q',
        '-s',
        join(dir, 'ca'),
        '-I',
        'id',
        '-n',
        'me',
        '-O',
        'no-touch-required',
        '-O',
        'verify-required',
        `${path}.pub`,
      ]);
      assert.equal(r.code, 0, r.out);
      const cert = parseCertificate(await readFile(`${path}-cert.pub`, 'utf8'));
      assert.equal(
        cert.certType,
        kind === 'ed25519' ? 'sk-ssh-ed25519-cert-v01@openssh.com' : 'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
      );
      assert.ok(cert.publicKey.equals(a.publicKey));
      assert.equal(cert.extensions.has('no-touch-required'), true);
      assert.equal(cert.criticalOptions.has('verify-required'), true);
      cert.verify({ trustedCAs: [ca.publicKey], type: 'user', principal: 'me' });
      // And the other way: ssh-keygen -L reads a certificate secsh issues for the sk key.
      const ours = await issueCertificate(ca, a.publicKey, {
        type: 'user',
        keyId: 'secsh-issued',
        principals: ['me'],
        extensions: { 'no-touch-required': '' },
      });
      await writeFile(`${path}-secsh-cert.pub`, `${ours.toString()}\n`);
      const l = await keygen(['-L', '-f', `${path}-secsh-cert.pub`]);
      assert.equal(l.code, 0, l.out);
      assert.match(l.out, new RegExp(`Type: ${cert.certType} user certificate`));
      assert.ok(
        l.out.includes(`Public key: ${kind === 'ed25519' ? 'ED25519' : 'ECDSA'}-SK-CERT ${a.publicKey.fingerprint()}`),
        l.out,
      );
      assert.match(l.out, /Key ID: "secsh-issued"/);
      assert.match(l.out, /no-touch-required/);
    });
  }
});

test('webauthn-sk-ecdsa: ssh-keygen -Y verify and secsh agree on SSHSIG carrying webauthn signatures, good and forged', async (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  const a = new SoftwareAuthenticator('ecdsa');
  const signers = join(dir, 'allowed_webauthn');
  await writeFile(signers, `me ${a.publicKeyLine()}\n`);
  const data = 'webauthn body\n';
  const signed = sshsigSignedData('file', 'sha512', createHash('sha512').update(data).digest());
  const sshsig = (sig: Buffer) =>
    armorSshsig(
      Buffer.from(
        new SshWriter(2048)
          .raw(Buffer.from('SSHSIG'))
          .uint32(1)
          .string(a.publicKey.blob)
          .string('file')
          .string(Buffer.alloc(0))
          .string('sha512')
          .string(sig)
          .toBuffer(),
      ),
    );
  const origin = 'https://example.com';
  const cases = [
    { name: 'good', sig: a.signWebauthn(signed, origin), ok: true },
    {
      name: 'challenge of other data',
      sig: a.signWebauthn(signed, origin, {
        clientData: `{"type":"webauthn.get","challenge":"${Buffer.from('x').toString('base64url')}","origin":"${origin}"}`,
      }),
      ok: false,
    },
    {
      name: 'another origin in clientData',
      sig: a.signWebauthn(signed, origin, {
        clientData: `{"type":"webauthn.get","challenge":"${signed.toString('base64url')}","origin":"https://evil.example"}`,
      }),
      ok: false,
    },
  ];
  for (const c of cases) {
    const text = sshsig(c.sig);
    const file = join(dir, `webauthn-${c.name.replace(/\W+/g, '-')}.sig`);
    await writeFile(file, text);
    const r = await keygen(['-Y', 'verify', '-n', 'file', '-f', signers, '-I', 'me', '-s', file], data);
    assert.equal(r.code === 0, c.ok, `ssh-keygen, ${c.name}: ${r.out}`);
    const ours = await verifySshsig(data, text, { namespace: 'file', publicKey: a.publicKey }).then(
      () => true,
      () => false,
    );
    assert.equal(ours, c.ok, `secsh, ${c.name}`);
  }
});

/** ssh-keygen -s: a user certificate for `a` with principal `user` and the given -O options. */
async function certify(a: SoftwareAuthenticator, user: string, options: string[]): Promise<Certificate> {
  const path = join(dir, `c_${Math.random().toString(36).slice(2)}`);
  await writeFile(`${path}.pub`, `${a.publicKeyLine()}\n`);
  const r = await keygen([
    '-q',
    '-s',
    join(dir, 'ca'),
    '-I',
    'id',
    '-n',
    user,
    ...options.flatMap((o) => ['-O', o]),
    `${path}.pub`,
  ]);
  if (r.code !== 0) throw new Error(r.out);
  return parseCertificate(await readFile(`${path}-cert.pub`, 'utf8'));
}

interface Case {
  name: string;
  /** authorized_keys options before the key (plain keys), or ssh-keygen -O options (certificates). */
  options: string[];
  cert: boolean;
  flags: number;
  accepted: boolean;
  /** What sshd logs for the refusal. */
  refusal?: RegExp;
}

const TOUCH = /user presence \(authenticator touch\) requirement not met/;
const UV = /user verification requirement not met/;
const CASES: Case[] = [
  { name: 'touched', options: [], cert: false, flags: 0x01, accepted: true },
  { name: 'not touched', options: [], cert: false, flags: 0x00, accepted: false, refusal: TOUCH },
  { name: 'not touched, no-touch-required', options: ['no-touch-required'], cert: false, flags: 0x00, accepted: true },
  {
    name: 'touched, verify-required, no PIN',
    options: ['verify-required'],
    cert: false,
    flags: 0x01,
    accepted: false,
    refusal: UV,
  },
  { name: 'touched and PIN, verify-required', options: ['verify-required'], cert: false, flags: 0x05, accepted: true },
  { name: 'certificate, touched', options: [], cert: true, flags: 0x01, accepted: true },
  { name: 'certificate, not touched', options: [], cert: true, flags: 0x00, accepted: false, refusal: TOUCH },
  {
    name: 'certificate no-touch-required, not touched',
    options: ['no-touch-required'],
    cert: true,
    flags: 0x00,
    accepted: true,
  },
  {
    name: 'certificate verify-required, no PIN',
    options: ['verify-required'],
    cert: true,
    flags: 0x01,
    accepted: false,
    refusal: UV,
  },
  { name: 'certificate verify-required, PIN', options: ['verify-required'], cert: true, flags: 0x05, accepted: true },
];

/** Connects as `user` signing through `a` (with its certificate when given); true when authentication succeeded. */
async function login(port: number, user: string, a: SoftwareAuthenticator, cert?: Certificate): Promise<boolean> {
  const signer = cert ? new CertificateSigner(a.signer(), cert) : a.signer();
  try {
    const c = await Client.connect({
      host: '127.0.0.1',
      port,
      username: user,
      privateKey: signer,
      agent: false,
      hostVerifier: () => true,
      readyTimeout: 20_000,
    });
    await c.close();
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_SSH_AUTH') return false;
    throw e;
  }
}

describe('publickey authentication with sk keys: sshd and the secsh server decide alike', () => {
  // One secsh server: the policy reads the same authorized_keys text sshd reads, as secsh server does.
  let authorized = '';
  const seen: SecurityKeySignatureInfo[] = [];
  const results: string[] = [];
  let server: Server | undefined;
  let serverPort = 0;
  const policy = (ctx: AuthContext): AuthDecision => {
    const key = ctx.key;
    if (ctx.method !== 'publickey' || !key) return false;
    if (ctx.securityKey) seen.push(ctx.securityKey);
    if (ctx.certificate) return true; // verified against trustedUserCAKeys for this user
    const line = parseAuthorizedKeys(authorized).find((l) => l.key.equals(key));
    if (!line) return false;
    return { accept: true, restrict: authorizedKeyRestrictions(line.options) };
  };
  before(async () => {
    if (!hasPeer('sshd')) return;
    await writeFile(caFile, `${ca.publicKey.toString()}\n`);
    server = new Server({
      hostKeys: [generatePrivateKey('ed25519')],
      authenticate: policy,
      trustedUserCAKeys: [ca.publicKey],
      authFailureDelay: 0,
    });
    server.on('auth', (attempt: AuthAttempt) => {
      if (attempt.signed) results.push(attempt.result);
    });
    serverPort = (await server.listen({ port: 0, host: '127.0.0.1' })).port;
  });
  after(async () => {
    await server?.close();
    await rm(caFile, { force: true });
  });

  for (const kind of KINDS) {
    for (const c of CASES) {
      test(`${kind}-sk ${c.name}: ${c.accepted ? 'accepted' : 'refused'} by sshd and by the secsh server`, async (t) => {
        if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
        const sshd = await shared.get();
        const a = new SoftwareAuthenticator(kind, { signFlags: c.flags });
        const cert = c.cert ? await certify(a, sshd.username, c.options) : undefined;
        authorized = c.cert ? '' : `${c.options.length > 0 ? `${c.options.join(',')} ` : ''}${a.publicKeyLine()}\n`;
        await writeFile(join(sshd.dir, 'authorized_keys'), authorized, { mode: 0o600 });
        const before = sshd.logs().length;
        const bySshd = await login(sshd.port, sshd.username, a, cert);
        await new Promise((r) => setTimeout(r, 100)); // let sshd flush its log
        const log = sshd.logs().slice(before);
        assert.equal(bySshd, c.accepted, `sshd: ${log}`);
        if (c.refusal) assert.match(log, c.refusal);
        seen.length = 0;
        results.length = 0;
        const bySecsh = await login(serverPort, sshd.username, a, cert);
        assert.equal(bySecsh, bySshd, 'the secsh server decides as sshd');
        // The policy saw the authenticator's flags and counter for the signed attempt.
        assert.deepEqual(seen.at(-1), { flags: c.flags, counter: a.counter });
        // The 'auth' event reports the outcome, not the policy's answer alone.
        assert.deepEqual(results, [c.accepted ? 'accepted' : 'rejected']);
      });
    }
  }
});

describe("sshd's PubkeyAuthOptions touch-required verify-required and the secsh server's securityKeys option", () => {
  const strict = sharedSshd({
    hostKeyTypes: ['ed25519'],
    extraConfig: ['LogLevel DEBUG1', 'PubkeyAuthOptions touch-required verify-required'],
  });
  let authorized = '';
  let server: Server | undefined;
  let serverPort = 0;
  before(async () => {
    if (!hasPeer('sshd')) return;
    server = new Server({
      hostKeys: [generatePrivateKey('ed25519')],
      securityKeys: { touchRequired: true, verifyRequired: true },
      authFailureDelay: 0,
      authenticate: (ctx) => {
        const key = ctx.key;
        const line = key && parseAuthorizedKeys(authorized).find((l) => l.key.equals(key));
        return line ? { accept: true, restrict: authorizedKeyRestrictions(line.options) } : false;
      },
    });
    serverPort = (await server.listen({ port: 0, host: '127.0.0.1' })).port;
  });
  after(async () => {
    await server?.close();
  });

  for (const [flags, accepted] of [
    [0x00, false],
    [0x01, false],
    [0x04, false],
    [0x05, true],
  ] as const) {
    test(`a no-touch-required key signing with flags 0x0${flags} is ${accepted ? 'accepted' : 'refused'} by both`, async (t) => {
      if (!requirePeer(t, 'sshd')) return;
      const sshd = await strict.get();
      const a = new SoftwareAuthenticator('ed25519', { signFlags: flags });
      authorized = `no-touch-required ${a.publicKeyLine()}\n`;
      await writeFile(join(sshd.dir, 'authorized_keys'), authorized, { mode: 0o600 });
      const bySshd = await login(sshd.port, sshd.username, a);
      assert.equal(bySshd, accepted, sshd.logs().slice(-2000));
      assert.equal(await login(serverPort, sshd.username, a), bySshd, 'the secsh server decides as sshd');
    });
  }
});

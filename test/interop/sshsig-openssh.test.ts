/**
 * SSHSIG against OpenSSH's ssh-keygen -Y (sign, verify, check-novalidate, find-principals): signatures made
 * by secsh verify in ssh-keygen and the other way round, for every key type and both hashes; Ed25519 output
 * is byte-identical; what ssh-keygen refuses (namespace, tampered data, principal, validity windows, revoked
 * keys, certificates) secsh refuses too; find-principals prints the same principals.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentClient } from '../../src/agent/index.js';
import {
  CertificateSigner,
  findPrincipals,
  type PrivateKey,
  parseCertificate,
  parsePrivateKey,
  SshsigError,
  signSshsig,
  verifySshsig,
} from '../../src/index.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { startAgent } from '../helpers/sshd.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** ssh-keygen with `input` on stdin (asynchronous, no shell). */
function keygen(args: string[], input: string | Buffer = '', env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(binPath('ssh-keygen'), args, { stdio: ['pipe', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.on('error', () => {}); // ssh-keygen may exit before reading its input
    p.stdin.end(input);
  });
}

async function keygenOk(args: string[], input: string | Buffer = ''): Promise<string> {
  const r = await keygen(args, input);
  assert.equal(r.code, 0, `ssh-keygen ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const KINDS = [
  { name: 'ed25519', args: ['-t', 'ed25519'] },
  { name: 'ecdsa-p256', args: ['-t', 'ecdsa', '-b', '256'] },
  { name: 'ecdsa-p384', args: ['-t', 'ecdsa', '-b', '384'] },
  { name: 'ecdsa-p521', args: ['-t', 'ecdsa', '-b', '521'] },
  { name: 'rsa', args: ['-t', 'rsa', '-b', '2048'] },
] as const;
const HASHES = ['sha512', 'sha256'] as const;

let dir = '';
const keys = new Map<string, { path: string; key: PrivateKey; pub: string }>();
const message = Buffer.from('commit 1234\n\nsigned with an SSH key\n');

async function makeKey(name: string, args: readonly string[], comment = name) {
  const path = join(dir, name);
  await keygenOk(['-q', '-N', '', '-C', comment, '-f', path, ...args]);
  const key = parsePrivateKey(await readFile(path, 'utf8'));
  const pub = (await readFile(`${path}.pub`, 'utf8')).trim();
  const entry = { path, key, pub };
  keys.set(name, entry);
  return entry;
}

function must(name: string) {
  const k = keys.get(name);
  assert.ok(k, `key ${name}`);
  return k;
}

let n = 0;
async function file(content: string | Buffer): Promise<string> {
  const p = join(dir, `f${n++}`);
  await writeFile(p, content);
  return p;
}

/** ssh-keygen -Y verify; true when it accepts. */
async function keygenVerifies(
  sig: string,
  data: Buffer,
  o: { allowed: string; principal: string; namespace: string; revoked?: string; time?: string },
): Promise<boolean> {
  const args = [
    '-Y',
    'verify',
    '-f',
    await file(o.allowed),
    '-I',
    o.principal,
    '-n',
    o.namespace,
    '-s',
    await file(sig),
  ];
  if (o.revoked !== undefined) args.push('-r', await file(o.revoked));
  if (o.time !== undefined) args.push('-O', `verify-time=${o.time}`);
  const r = await keygen(args, data);
  return r.code === 0;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SshsigError, `expected SshsigError, got ${String(e)}`);
    return e.failure;
  }
  assert.fail('secsh accepted the signature');
}

before(async () => {
  if (!hasPeer('ssh-keygen')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-sshsig-'));
  await Promise.all(KINDS.map((k) => makeKey(k.name, k.args, `${k.name}@example.com`)));
  await makeKey('ca', ['-t', 'ed25519']);
  await makeKey('other', ['-t', 'ed25519']);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('SSHSIG: secsh and ssh-keygen both ways', () => {
  for (const kind of KINDS) {
    for (const hash of HASHES) {
      test(`${kind.name} ${hash}: secsh's signature verifies in ssh-keygen (verify and check-novalidate), ssh-keygen's in secsh`, async (t) => {
        if (!requirePeer(t, 'ssh-keygen')) return;
        const { path, key, pub } = must(kind.name);
        const allowed = `alice@example.com namespaces="git" ${pub}\n`;
        const ours = await signSshsig(message, key, { namespace: 'git', hashAlgorithm: hash });
        assert.ok(await keygenVerifies(ours, message, { allowed, principal: 'alice@example.com', namespace: 'git' }));
        const nv = await keygen(['-Y', 'check-novalidate', '-n', 'git', '-s', await file(ours)], message);
        assert.equal(nv.code, 0, nv.stderr);
        if (kind.name === 'rsa')
          assert.match(
            Buffer.from(ours.split('\n').slice(1, -2).join(''), 'base64').toString('latin1'),
            /rsa-sha2-512/,
          );

        const dataPath = await file(message);
        await keygenOk(['-Y', 'sign', '-f', path, '-n', 'git', '-O', `hashalg=${hash}`, dataPath]);
        const theirs = await readFile(`${dataPath}.sig`, 'utf8');
        const v = await verifySshsig(message, theirs, {
          namespace: 'git',
          allowedSigners: allowed,
          principal: 'alice@example.com',
        });
        assert.ok(v.publicKey.equals(key.publicKey));
        assert.equal(v.hashAlgorithm, hash);
        assert.deepEqual(v.principals, ['alice@example.com']);
        await verifySshsig(message, theirs, { namespace: 'git' });
        await verifySshsig(message, theirs, { namespace: 'git', publicKey: pub });
        if (kind.name === 'ed25519') assert.equal(ours, theirs, 'Ed25519 signatures are byte-identical');
      });
    }
  }

  test('a signature over a stream equals one over the same bytes, and verifies from a stream in ssh-keygen', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const { key, pub } = must('ed25519');
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0x61);
    async function* chunks() {
      for (let i = 0; i < big.length; i += 65536) yield big.subarray(i, i + 65536);
    }
    const streamed = await signSshsig(chunks(), key, { namespace: 'file' });
    assert.equal(streamed, await signSshsig(big, key, { namespace: 'file' }));
    const allowed = `* ${pub}\n`;
    assert.ok(await keygenVerifies(streamed, big, { allowed, principal: 'anyone', namespace: 'file' }));
    await verifySshsig(chunks(), streamed, { namespace: 'file', allowedSigners: allowed, principal: 'x' });
  });
});

describe('SSHSIG: what ssh-keygen refuses, secsh refuses', () => {
  test('wrong namespace, tampered data, principal not listed, key not listed', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const { key, pub } = must('ecdsa-p256');
    const sig = await signSshsig(message, key, { namespace: 'git' });
    const allowed = `alice@example.com,*@dev.example.com ${pub}\n`;
    const ok = { allowed, principal: 'bob@dev.example.com', namespace: 'git' };
    assert.ok(await keygenVerifies(sig, message, ok));
    await verifySshsig(message, sig, { namespace: 'git', allowedSigners: allowed, principal: 'bob@dev.example.com' });

    assert.ok(!(await keygenVerifies(sig, message, { ...ok, namespace: 'file' })));
    assert.equal(await refusal(verifySshsig(message, sig, { ...opts(ok), namespace: 'file' })), 'namespace');

    const tampered = Buffer.from(message);
    tampered[0] = (tampered[0] as number) ^ 1;
    assert.ok(!(await keygenVerifies(sig, tampered, ok)));
    assert.equal(await refusal(verifySshsig(tampered, sig, opts(ok))), 'bad-signature');
    assert.equal(await refusal(verifySshsig(tampered, sig, { namespace: 'git' })), 'bad-signature');
    const nv = await keygen(['-Y', 'check-novalidate', '-n', 'git', '-s', await file(sig)], tampered);
    assert.notEqual(nv.code, 0);

    assert.ok(!(await keygenVerifies(sig, message, { ...ok, principal: 'mallory@example.com' })));
    assert.equal(
      await refusal(verifySshsig(message, sig, { ...opts(ok), principal: 'mallory@example.com' })),
      'not-allowed',
    );

    const other = `bob@dev.example.com ${must('other').pub}\n`;
    assert.ok(!(await keygenVerifies(sig, message, { ...ok, allowed: other })));
    assert.equal(await refusal(verifySshsig(message, sig, { ...opts(ok), allowedSigners: other })), 'not-allowed');
    assert.equal(
      await refusal(verifySshsig(message, sig, { namespace: 'git', publicKey: must('other').pub })),
      'key-mismatch',
    );
  });

  test('validity windows, namespaces= and negated principals decide as in ssh-keygen, also at a given time', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const { key, pub } = must('ed25519');
    const sig = await signSshsig(message, key, { namespace: 'git' });
    const cases: { line: string; principal: string; time?: string; failure?: string }[] = [
      { line: `a valid-before="20200101Z" ${pub}`, principal: 'a', failure: 'expired' },
      { line: `a valid-after="29991231Z" ${pub}`, principal: 'a', failure: 'not-yet-valid' },
      { line: `a valid-after="20200101",valid-before="29990101" ${pub}`, principal: 'a' },
      { line: `a valid-before="20200101Z" ${pub}`, principal: 'a', time: '20191231235959Z' },
      { line: `a valid-before="202001011200Z" ${pub}`, principal: 'a', time: '20200101120001Z', failure: 'expired' },
      { line: `a valid-after="20300101Z" ${pub}`, principal: 'a', time: '20300101Z' },
      // local time (no Z): both read it in the process's time zone (run once with TZ=Asia/Tokyo to see it matter)
      {
        line: `a valid-before="202001011200" ${pub}`,
        principal: 'a',
        time: '20200101100000Z',
        ...(new Date(2020, 0, 1, 12).getTime() < Date.UTC(2020, 0, 1, 10) ? { failure: 'expired' } : {}),
      },
      { line: `a valid-before="202001011200Z" ${pub}`, principal: 'a', time: '202001011200Z' },
      { line: `a valid-after="202001011200Z" ${pub}`, principal: 'a', time: '202001011159Z', failure: 'not-yet-valid' },
      { line: `a namespaces="file,x*" ${pub}`, principal: 'a', failure: 'namespace-not-allowed' },
      { line: `a namespaces="file,g?t" ${pub}`, principal: 'a' },
      { line: `a namespaces="*,!git" ${pub}`, principal: 'a', failure: 'namespace-not-allowed' },
      { line: `*,!mallory ${pub}`, principal: 'mallory', failure: 'not-allowed' },
      { line: `*,!mallory ${pub}`, principal: 'alice' },
      { line: `"alice smith,bob" ${pub}`, principal: 'alice smith' },
      // a quote ends the principals field: ",bob" is read as an (unknown) option and spoils the line
      { line: `"alice smith",bob ${pub}`, principal: 'alice smith', failure: 'not-allowed' },
      { line: `a CERT-AUTHORITY ${pub}`, principal: 'a', failure: 'not-allowed' },
      { line: `a bogus-option ${pub}`, principal: 'a', failure: 'not-allowed' },
      { line: `a valid-before="20200101",valid-after="20300101" ${pub}`, principal: 'a', failure: 'not-allowed' },
    ];
    for (const c of cases) {
      const allowed = `# allowed signers\n\n${c.line}\n`;
      const theirs = await keygenVerifies(sig, message, {
        allowed,
        principal: c.principal,
        namespace: 'git',
        ...(c.time ? { time: c.time } : {}),
      });
      assert.equal(theirs, c.failure === undefined, `ssh-keygen on ${c.line} as ${c.principal}`);
      const o = {
        namespace: 'git',
        allowedSigners: allowed,
        principal: c.principal,
        ...(c.time ? { at: timeOf(c.time) } : {}),
      };
      if (c.failure === undefined) await verifySshsig(message, sig, o);
      else assert.equal(await refusal(verifySshsig(message, sig, o)), c.failure, c.line);
    }
  });

  test('a revoked key is refused by both', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const { key, pub } = must('ecdsa-p384');
    const sig = await signSshsig(message, key, { namespace: 'git' });
    const allowed = `a ${pub}\n`;
    const revoked = `${must('other').pub}\n${pub}\n`;
    assert.ok(!(await keygenVerifies(sig, message, { allowed, principal: 'a', namespace: 'git', revoked })));
    assert.equal(
      await refusal(
        verifySshsig(message, sig, { namespace: 'git', allowedSigners: allowed, principal: 'a', revokedKeys: revoked }),
      ),
      'revoked',
    );
    const notRevoked = `${must('other').pub}\n`;
    assert.ok(await keygenVerifies(sig, message, { allowed, principal: 'a', namespace: 'git', revoked: notRevoked }));
    await verifySshsig(message, sig, {
      namespace: 'git',
      allowedSigners: allowed,
      principal: 'a',
      revokedKeys: notRevoked,
    });
  });
});

describe('SSHSIG: keys in an agent', () => {
  test("secsh signs through OpenSSH's ssh-agent (RSA as rsa-sha2-512) and ssh-keygen signs through it, both verified by the other", async (t) => {
    if (!requirePeer(t, 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
    const agent = await startAgent();
    const client = new AgentClient(agent.sock);
    try {
      for (const name of ['rsa', 'ecdsa-p384', 'ed25519']) {
        const { path, key, pub } = must(name);
        await agent.add(path);
        const signer = (await client.signers()).find((s) => s.publicKey.equals(key.publicKey));
        assert.ok(signer, `${name} is in the agent`);
        const allowed = `alice ${pub}\n`;
        const ours = await signSshsig(message, signer, { namespace: 'git' });
        if (name === 'ed25519') assert.equal(ours, await signSshsig(message, key, { namespace: 'git' }));
        assert.ok(await keygenVerifies(ours, message, { allowed, principal: 'alice', namespace: 'git' }), name);

        const pubOnly = await file(`${pub}\n`);
        const env = { ...process.env, SSH_AUTH_SOCK: agent.sock };
        const r = await keygen(['-Y', 'sign', '-U', '-f', pubOnly, '-n', 'git'], message, env);
        assert.equal(r.code, 0, r.stderr);
        const v = await verifySshsig(message, r.stdout, {
          namespace: 'git',
          allowedSigners: allowed,
          principal: 'alice',
        });
        assert.equal(v.signatureAlgorithm, name === 'rsa' ? 'rsa-sha2-512' : key.type);
      }
    } finally {
      client.close();
      await agent.stop();
    }
  });
});

describe('SSHSIG: certificates and cert-authority lines', () => {
  test('a user certificate signs; a cert-authority line for its CA allows its principals, both ways', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const user = must('ed25519');
    const ca = must('ca');
    await keygenOk(['-q', '-s', ca.path, '-I', 'alice-id', '-n', 'alice,builds', '-V', '-1d:+30d', `${user.path}.pub`]);
    const certText = await readFile(`${user.path}-cert.pub`, 'utf8');
    const cert = parseCertificate(certText);
    const dataPath = await file(message);
    await keygenOk(['-Y', 'sign', '-f', `${user.path}-cert.pub`, '-n', 'git', dataPath]);
    const theirs = await readFile(`${dataPath}.sig`, 'utf8');
    const ours = await signSshsig(message, new CertificateSigner(user.key, cert), { namespace: 'git' });
    assert.equal(ours, theirs, 'Ed25519 certificate signatures are byte-identical');

    const allowed = `a*,builds cert-authority,namespaces="git" ${ca.pub}\n`;
    assert.ok(await keygenVerifies(ours, message, { allowed, principal: 'alice', namespace: 'git' }));
    const v = await verifySshsig(message, theirs, { namespace: 'git', allowedSigners: allowed, principal: 'alice' });
    assert.ok(v.certificate);
    assert.ok(v.publicKey.equals(user.key.publicKey));

    // the principal must be both on the line and in the certificate
    for (const principal of ['alfred', 'builds2']) {
      assert.ok(!(await keygenVerifies(ours, message, { allowed, principal, namespace: 'git' })), principal);
      assert.ok(await refusal(verifySshsig(message, ours, { namespace: 'git', allowedSigners: allowed, principal })));
    }
    // a plain line for the user's key does not allow the certificate's signature, nor a CA line without cert-authority
    for (const line of [`alice ${user.pub}`, `alice ${ca.pub}`]) {
      assert.ok(!(await keygenVerifies(ours, message, { allowed: line, principal: 'alice', namespace: 'git' })), line);
      assert.equal(
        await refusal(verifySshsig(message, ours, { namespace: 'git', allowedSigners: line, principal: 'alice' })),
        'not-allowed',
      );
    }
    // an expired certificate
    await keygenOk(['-q', '-s', ca.path, '-I', 'old', '-n', 'alice', '-V', '20200101:20200201', `${user.path}.pub`]);
    const old = parseCertificate(await readFile(`${user.path}-cert.pub`, 'utf8'));
    const oldSig = await signSshsig(message, new CertificateSigner(user.key, old), { namespace: 'git' });
    assert.ok(!(await keygenVerifies(oldSig, message, { allowed, principal: 'alice', namespace: 'git' })));
    assert.equal(
      await refusal(verifySshsig(message, oldSig, { namespace: 'git', allowedSigners: allowed, principal: 'alice' })),
      'expired',
    );
    // the CA revoked
    assert.ok(
      !(await keygenVerifies(ours, message, { allowed, principal: 'alice', namespace: 'git', revoked: `${ca.pub}\n` })),
    );
    assert.equal(
      await refusal(
        verifySshsig(message, ours, {
          namespace: 'git',
          allowedSigners: allowed,
          principal: 'alice',
          revokedKeys: `${ca.pub}\n`,
        }),
      ),
      'revoked',
    );
  });
});

describe('SSHSIG: find-principals', () => {
  test('allowed_signers lines with odd quoting, spacing, options and line ends are read as ssh-keygen reads them', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const { key, pub } = must('ed25519');
    const sig = await signFile(await signSshsig(message, key, { namespace: 'git' }));
    const [type, b64] = pub.split(' ');
    const variants = [
      `alice ${pub}`,
      `\t alice\t\t${type}\t${b64}`,
      `alice ${pub}\r`,
      `alice\r`,
      `alice,bob,,carol ${pub}`,
      `,alice ${pub}`,
      `x"y z" ${pub}`,
      `"y z"w ${pub}`,
      `"unterminated ${pub}`,
      `alice CERT-AUTHORITY ${pub}`,
      `alice cert-authorityx ${pub}`,
      `alice NameSpaces="a b",Valid-After="20200101" ${pub}`,
      `alice namespaces="a\\"b" ${pub}`,
      `alice namespaces="a" ,valid-after="20200101" ${pub}`,
      `alice namespaces="a",  ${pub}`,
      `alice namespaces="a",valid-before="20200101",valid-after="20100101" ${pub}`,
      `alice valid-before="20200101Z" ${pub}`,
      `alice valid-before="2020010112" ${pub}`,
      `alice valid-before="20991231235960Z" ${pub}`,
      `alice valid-before="20990230Z" ${pub}`,
      `alice valid-before="209912312359utc" ${pub}`,
      `alice valid-before="20991301" ${pub}`,
      `alice valid-after="19700101000001Z" ${pub}`,
      `alice valid-after="19700101Z" ${pub}`,
      `alice ${type} ${b64}extra`,
      `alice ${type}  ${b64} comment "with quotes`,
      `alice ecdsa-sha2-nistp256 ${b64}`,
      `alice ${type}`,
      `alice namespaces="git" ${type}`,
      `alice   namespaces="git"    ${pub}`,
      `  # alice ${pub}`,
      `alice #comment ${pub}`,
    ];
    for (const v of variants) {
      for (const eol of ['\n', '\r\n']) {
        const text = `${v}${eol}`;
        const r = await keygen(['-Y', 'find-principals', '-f', await file(text), '-s', sig]);
        const theirs = r.code === 0 ? r.stdout.split('\n').filter((l) => l !== '') : [];
        assert.deepEqual(findPrincipals(parseSshsigFile(sig), text), theirs, JSON.stringify(text));
      }
    }
  });

  test('findPrincipals returns what ssh-keygen -Y find-principals prints, on plain and certificate signatures', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const ed = must('ed25519');
    const rsa = must('rsa');
    const ca = must('ca');
    await keygenOk(['-q', '-s', ca.path, '-I', 'id', '-n', 'carol,dave,builds', '-V', '-1d:+30d', `${rsa.path}.pub`]);
    const cert = parseCertificate(await readFile(`${rsa.path}-cert.pub`, 'utf8'));
    const allowed = [
      '# team',
      `old@example.com valid-before="20200101Z" ${ed.pub}`,
      `"ed one",ed@example.com namespaces="git" ${ed.pub}`,
      `  "ed one,ed@example.com,*@ops" namespaces="git,file" ${ed.pub} trailing comment`,
      `again@example.com ${ed.pub}`,
      `c*,builds,zed cert-authority ${ca.pub}`,
      `nobody ${must('other').pub}`,
      'broken-line-without-key',
      '',
    ].join('\n');
    const sigs = {
      plain: await signSshsig(message, ed.key, { namespace: 'git' }),
      cert: await signSshsig(message, new CertificateSigner(rsa.key, cert), { namespace: 'file' }),
      other: await signSshsig(message, must('ecdsa-p521').key, { namespace: 'git' }),
    };
    const allowedPath = await file(allowed);
    for (const [name, sig] of Object.entries(sigs)) {
      for (const time of [undefined, '20191201Z']) {
        const args = ['-Y', 'find-principals', '-f', allowedPath, '-s', await file(sig)];
        if (time) args.push('-O', `verify-time=${time}`);
        const r = await keygen(args);
        const theirs = r.code === 0 ? r.stdout.split('\n').filter((l) => l !== '') : [];
        const ours = findPrincipals(sig, allowed, time ? { at: timeOf(time) } : {});
        assert.deepEqual(ours, theirs, `${name} at ${time ?? 'now'}`);
        if (name !== 'other' && !time) assert.ok(theirs.length > 0, `${name}: ssh-keygen found principals`);
      }
    }
  });
});

const sigFiles = new Map<string, string>();
async function signFile(text: string): Promise<string> {
  const p = await file(text);
  sigFiles.set(p, text);
  return p;
}
function parseSshsigFile(p: string): string {
  const text = sigFiles.get(p);
  assert.ok(text !== undefined);
  return text;
}

function opts(o: { allowed: string; principal: string; namespace: string }) {
  return { namespace: o.namespace, allowedSigners: o.allowed, principal: o.principal };
}

/** `YYYYMMDD[HHMM[SS]]Z` → Date. */
function timeOf(s: string): Date {
  const d = s.replace(/Z$/, '').padEnd(14, '0');
  return new Date(
    Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(8, 10), +d.slice(10, 12), +d.slice(12, 14)),
  );
}

/** allowed_signers lines, times and patterns, and how verifySshsig / findPrincipals apply them (no peers). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyError } from '../../../src/errors.js';
import {
  type AllowedSigner,
  CertificateSigner,
  findPrincipals,
  generatePrivateKey,
  issueCertificate,
  matchPrincipals,
  matchSshPatternList,
  parseAllowedSignerLine,
  parseAllowedSigners,
  parseSshsigTime,
  SshsigError,
  signSshsig,
  verifySshsig,
} from '../../../src/keys/index.js';

const key = generatePrivateKey('ed25519');
const pub = key.publicKey.toString();
const data = Buffer.from('payload');
const utc = (y: number, m: number, d: number, h = 0, mi = 0, s = 0) => Date.UTC(y, m - 1, d, h, mi, s) / 1000;

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SshsigError, String(e));
    return e.failure;
  }
  assert.fail('accepted');
}

describe('allowed_signers lines', () => {
  test('principals, options and key are read as ssh-keygen reads them', () => {
    const e = parseAllowedSignerLine(
      `  alice@x,*@y Cert-Authority,NAMESPACES="git,file",valid-after="20200101Z",valid-before="20300101120000UTC" ${pub} comment here`,
      7,
    );
    assert.ok(e);
    assert.equal(e.principals, 'alice@x,*@y');
    assert.equal(e.certAuthority, true);
    assert.equal(e.namespaces, 'git,file');
    assert.equal(e.validAfter, utc(2020, 1, 1));
    assert.equal(e.validBefore, utc(2030, 1, 1, 12));
    assert.ok(e.key.equals(key.publicKey));
    assert.equal(e.certificate, undefined);
    assert.equal(e.line, 7);

    const q = parseAllowedSignerLine(`"a b,c"\t${pub}`);
    assert.equal(q?.principals, 'a b,c');
    const esc = parseAllowedSignerLine(`p namespaces="x\\"y" ${pub}`);
    assert.equal(esc?.namespaces, 'x"y');
    assert.equal(parseAllowedSignerLine('   # comment'), undefined);
    assert.equal(parseAllowedSignerLine(''), undefined);
    assert.equal(parseAllowedSignerLine('\r'), undefined);
  });

  test('lines ssh-keygen cannot use are errors (and skipped by parseAllowedSigners)', () => {
    const bad = [
      'alice',
      'alice ',
      `alice ssh-ed25519`,
      `alice unknown-opt ${pub}`,
      `alice cert-authority,${pub}`,
      `alice namespaces=git ${pub}`,
      `alice namespaces="git ${pub}`,
      `alice namespaces="a",namespaces="b" ${pub}`,
      `alice valid-after="20200101",valid-after="20200102" ${pub}`,
      `alice valid-after="20300101",valid-before="20200101" ${pub}`,
      `alice valid-after="20200101Z",valid-before="20200101Z" ${pub}`,
      `alice valid-before="2020-01-01" ${pub}`,
      `alice valid-before="19700101Z" ${pub}`,
      `alice cert-authority, ${pub}`,
      `"alice ${pub}`,
      `alice ssh-rsa ${key.publicKey.blob.toString('base64')}`,
      `alice ssh-ed25519 AAAA!!!!`,
    ];
    for (const l of bad) assert.throws(() => parseAllowedSignerLine(l), KeyError, l);
    const text = [...bad, `ok ${pub}`, '# c', ''].join('\n');
    const all = parseAllowedSigners(text);
    assert.equal(all.length, 1);
    assert.equal(all[0]?.line, bad.length + 1);
    assert.throws(() => parseAllowedSigners(text, { strict: true }), /allowed_signers line 1:/);
  });

  test('times: YYYYMMDD[HHMM[SS]], local or Z/UTC; impossible ones refused', () => {
    assert.equal(parseSshsigTime('20240229Z'), utc(2024, 2, 29));
    assert.equal(parseSshsigTime('202402291330z'), utc(2024, 2, 29, 13, 30));
    assert.equal(parseSshsigTime('20240229133059UTC'), utc(2024, 2, 29, 13, 30, 59));
    assert.equal(parseSshsigTime('20240229'), new Date(2024, 1, 29).getTime() / 1000);
    assert.equal(parseSshsigTime('20230231Z'), utc(2023, 3, 3), 'day overflow rolls over as timegm does');
    for (const t of [
      '2024022',
      '2024022913',
      '20241301',
      '20240100',
      '20240132',
      '202402292400',
      '202402291260',
      'Z',
      '19691231Z',
      '00700101Z',
      '2024O229',
      '',
    ]) {
      assert.throws(() => parseSshsigTime(t), KeyError, t);
    }
  });

  test('pattern lists: * and ?, negation wins, case matters, over-long sub-patterns match nothing', () => {
    assert.equal(matchSshPatternList('alice@example.com', '*@example.com'), 1);
    assert.equal(matchSshPatternList('bob', 'b?b,carol'), 1);
    assert.equal(matchSshPatternList('Bob', 'bob'), 0);
    assert.equal(matchSshPatternList('mallory', '*,!mallory'), -1);
    assert.equal(matchSshPatternList('x', `${'a'.repeat(2000)},x`), 0);
    assert.equal(matchSshPatternList('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab', '*a*a*a*a*a*a*a*a*a*a*a*a*a*c'), 0);
  });
});

describe('allowed_signers decisions', () => {
  test('the first line that allows the key wins; refusals say why', async () => {
    const sig = await signSshsig(data, key, { namespace: 'git' });
    const at = new Date(utc(2025, 6, 1) * 1000);
    const verify = (allowed: string | readonly AllowedSigner[], principal?: string) =>
      verifySshsig(data, sig, {
        namespace: 'git',
        allowedSigners: allowed,
        at,
        ...(principal !== undefined ? { principal } : {}),
      });
    assert.equal(await failure(verify(`a valid-before="20250101Z" ${pub}`, 'a')), 'expired');
    assert.equal(await failure(verify(`a valid-after="20260101Z" ${pub}`, 'a')), 'not-yet-valid');
    assert.equal(await failure(verify(`a namespaces="file" ${pub}`, 'a')), 'namespace-not-allowed');
    assert.equal(await failure(verify(`b ${pub}`, 'a')), 'not-allowed');
    const v = await verify(`a valid-before="20250101Z" ${pub}\nx,a*,y ${pub}`, 'abc');
    assert.equal(v.signer?.line, 2);
    assert.deepEqual(v.principals, ['x', 'a*', 'y']);
    const any = await verify(`x,,y ${pub}`);
    assert.deepEqual(any.principals, ['x'], 'principals stop at an empty one, as ssh-keygen prints them');
    assert.equal(any.principal, undefined);
    const parsed = parseAllowedSigners(`a ${pub}`);
    assert.equal((await verify(parsed, 'a')).signer?.line, 1);
  });

  test('cert-authority: the CA of a user certificate, principal in both the line and the certificate, within its validity', async () => {
    const ca = generatePrivateKey('ecdsa', { bits: 256 });
    const t0 = new Date(utc(2025, 1, 1) * 1000);
    const cert = await issueCertificate(ca, key.publicKey, {
      type: 'user',
      keyId: 'k',
      principals: ['alice', 'bob', 'deploy'],
      validAfter: new Date(utc(2024, 1, 1) * 1000),
      validBefore: new Date(utc(2026, 1, 1) * 1000),
    });
    const sig = await signSshsig(data, new CertificateSigner(key, cert), { namespace: 'git' });
    const line = `a*,deploy,zed cert-authority ${ca.publicKey.toString()}`;
    const o = { namespace: 'git', allowedSigners: line, at: t0 };
    assert.ok((await verifySshsig(data, sig, { ...o, principal: 'alice' })).certificate);
    assert.equal(await failure(verifySshsig(data, sig, { ...o, principal: 'bob' })), 'not-allowed');
    assert.equal(await failure(verifySshsig(data, sig, { ...o, principal: 'zed' })), 'certificate');
    assert.equal(
      await failure(verifySshsig(data, sig, { ...o, principal: 'alice', at: new Date(utc(2027, 1, 1) * 1000) })),
      'expired',
    );
    assert.equal(
      await failure(verifySshsig(data, sig, { ...o, principal: 'alice', at: new Date(utc(2023, 1, 1) * 1000) })),
      'not-yet-valid',
    );
    assert.deepEqual(findPrincipals(sig, line, { at: t0 }), ['alice', 'deploy']);
    assert.deepEqual(findPrincipals(sig, line, { at: new Date(utc(2027, 1, 1) * 1000) }), []);
    // without cert-authority the CA key is just another key
    assert.equal(
      await failure(
        verifySshsig(data, sig, { ...o, allowedSigners: `alice ${ca.publicKey.toString()}`, principal: 'alice' }),
      ),
      'not-allowed',
    );
    // the certified key on a plain line does not allow the certificate, the certificate on a plain line does
    assert.equal(
      await failure(verifySshsig(data, sig, { ...o, allowedSigners: `alice ${pub}`, principal: 'alice' })),
      'not-allowed',
    );
    await verifySshsig(data, sig, { ...o, allowedSigners: `alice ${cert.toString()}`, principal: 'alice' });

    const host = await issueCertificate(ca, key.publicKey, { type: 'host', keyId: 'h', principals: ['alice'] });
    const hostSig = await signSshsig(data, new CertificateSigner(key, host), { namespace: 'git' });
    assert.equal(await failure(verifySshsig(data, hostSig, { ...o, principal: 'alice' })), 'certificate');
    const none = await issueCertificate(ca, key.publicKey, { type: 'user', keyId: 'n' });
    const noneSig = await signSshsig(data, new CertificateSigner(key, none), { namespace: 'git' });
    assert.equal(await failure(verifySshsig(data, noneSig, { ...o, principal: 'alice' })), 'certificate');
  });

  test('findPrincipals and matchPrincipals', async () => {
    const other = generatePrivateKey('ed25519').publicKey.toString();
    const text = [`nobody ${other}`, `old valid-before="20000101Z" ${pub}`, `x@y,*@z ${pub}`, `later ${pub}`].join(
      '\n',
    );
    const sig = await signSshsig(data, key, { namespace: 'any' });
    assert.deepEqual(findPrincipals(sig, text), ['x@y', '*@z']);
    assert.deepEqual(findPrincipals(sig, text, { at: new Date(utc(1999, 1, 1) * 1000) }), ['old']);
    assert.deepEqual(findPrincipals(sig, `nobody ${other}`), []);
    assert.deepEqual(matchPrincipals(text, 'q@z'), ['x@y,*@z']);
    assert.deepEqual(matchPrincipals(text, 'nobody'), ['nobody']);
    assert.deepEqual(matchPrincipals(text, 'none'), []);
  });
});

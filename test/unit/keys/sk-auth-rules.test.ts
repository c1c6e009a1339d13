/**
 * The server's rules for security-key signatures (sshd auth2-pubkey): user presence unless no-touch-required
 * (for a certificate, its extension), user verification when verify-required (the restriction, the
 * certificate's critical option or the global option); the global touchRequired overrides no-touch-required.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { securityKeyRefusal } from '../../../src/auth/server.js';
import { parseSshdConfig, SshdConfigError, sshdSettings } from '../../../src/cli/sshd-config.js';
import { generatePrivateKey, issueCertificate } from '../../../src/keys/index.js';
import { SoftwareAuthenticator } from '../../helpers/sk-authenticator.js';

const TOUCH = /user presence/;
const UV = /user verification/;

test('a plain key: touch required by default, waived by restrict.noTouchRequired unless touchRequired is global', () => {
  assert.match(securityKeyRefusal({ flags: 0, counter: 1 }, true, undefined, undefined) ?? '', TOUCH);
  assert.equal(securityKeyRefusal({ flags: 1, counter: 1 }, true, undefined, undefined), undefined);
  const noTouch = { accept: true as const, restrict: { noTouchRequired: true } };
  assert.equal(securityKeyRefusal({ flags: 0, counter: 1 }, noTouch, undefined, undefined), undefined);
  assert.match(securityKeyRefusal({ flags: 0, counter: 1 }, noTouch, undefined, { touchRequired: true }) ?? '', TOUCH);
  // A partial success carries no restrictions: touch is required.
  assert.match(securityKeyRefusal({ flags: 0, counter: 1 }, { partial: true }, undefined, undefined) ?? '', TOUCH);
  // A refusal needs no reason.
  assert.equal(securityKeyRefusal({ flags: 0, counter: 1 }, false, undefined, undefined), undefined);
});

test('verify-required: from the restriction or the global option, satisfied only by flag 0x04', () => {
  const uv = { accept: true as const, restrict: { verifyRequired: true } };
  assert.match(securityKeyRefusal({ flags: 1, counter: 1 }, uv, undefined, undefined) ?? '', UV);
  assert.equal(securityKeyRefusal({ flags: 5, counter: 1 }, uv, undefined, undefined), undefined);
  assert.match(securityKeyRefusal({ flags: 1, counter: 1 }, true, undefined, { verifyRequired: true }) ?? '', UV);
  // Verified but not touched still fails the touch rule first.
  assert.match(securityKeyRefusal({ flags: 4, counter: 1 }, uv, undefined, undefined) ?? '', TOUCH);
});

test("a certificate: its no-touch-required extension waives touch (the policy's restriction does not); its verify-required option demands 0x04", async () => {
  const a = new SoftwareAuthenticator('ed25519');
  const ca = generatePrivateKey('ed25519');
  const plain = await issueCertificate(ca, a.publicKey, { type: 'user', keyId: 'k', principals: ['u'] });
  const noTouch = await issueCertificate(ca, a.publicKey, {
    type: 'user',
    keyId: 'k',
    principals: ['u'],
    extensions: { 'no-touch-required': '' },
  });
  const uv = await issueCertificate(ca, a.publicKey, {
    type: 'user',
    keyId: 'k',
    principals: ['u'],
    criticalOptions: { 'verify-required': '' },
  });
  const untouched = { flags: 0, counter: 1 };
  assert.match(securityKeyRefusal(untouched, true, plain, undefined) ?? '', TOUCH);
  assert.match(
    securityKeyRefusal(untouched, { accept: true, restrict: { noTouchRequired: true } }, plain, undefined) ?? '',
    TOUCH,
  );
  assert.equal(securityKeyRefusal(untouched, true, noTouch, undefined), undefined);
  assert.match(securityKeyRefusal({ flags: 1, counter: 1 }, true, uv, undefined) ?? '', UV);
  assert.equal(securityKeyRefusal({ flags: 5, counter: 1 }, true, uv, undefined), undefined);
});

test("secsh server's sshd_config PubkeyAuthOptions: none, touch-required and verify-required as sshd reads them", () => {
  const settings = (text: string) => sshdSettings(parseSshdConfig(text, 'sshd_config')).pubkeyAuthOptions;
  assert.deepEqual(settings(''), { touchRequired: false, verifyRequired: false });
  assert.deepEqual(settings('PubkeyAuthOptions none\n'), { touchRequired: false, verifyRequired: false });
  assert.deepEqual(settings('PubkeyAuthOptions touch-required verify-required\n'), {
    touchRequired: true,
    verifyRequired: true,
  });
  assert.deepEqual(settings('PubkeyAuthOptions verify-required\nPubkeyAuthOptions touch-required\n'), {
    touchRequired: false,
    verifyRequired: true,
  });
  // sshd refuses the comma form too ("unsupported PubkeyAuthOptions option touch-required,verify-required").
  assert.throws(() => settings('PubkeyAuthOptions touch-required,verify-required\n'), SshdConfigError);
});

/**
 * User authentication in both roles, driven by mutated message sequences. The server parses
 * SERVICE_REQUEST, USERAUTH_REQUEST (none, password and its change request, publickey query and
 * signature, with and without a certificate, keyboard-interactive, hostbased with a plain key and a
 * host certificate) and INFO_RESPONSE; the client
 * parses SERVICE_ACCEPT, FAILURE, SUCCESS, BANNER, PK_OK, INFO_REQUEST and PASSWD_CHANGEREQ. Each run
 * must settle (resolve, or reject with ProtocolError, AuthError or ConnectionLostError) within a
 * bounded time, whatever arrives.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { authenticateClient } from '../../src/auth/client.js';
import { MessageQueue } from '../../src/auth/queue.js';
import { authenticateServer } from '../../src/auth/server.js';
import { AuthError, ConnectionLostError, ProtocolError } from '../../src/errors.js';
import { generatePrivateKey, issueCertificate } from '../../src/keys/index.js';
import { MSG, SshWriter } from '../../src/wire/index.js';
import { fuzzAsync, mutated, only, runs } from './harness.js';

const sessionId = Buffer.alloc(32, 7);
const userKey = generatePrivateKey('ed25519');
const rsaKey = generatePrivateKey('rsa', { bits: 1024 });
const ca = generatePrivateKey('ed25519');
const allowed = only(ProtocolError, AuthError, ConnectionLostError);

const request = (method: string) =>
  new SshWriter().byte(MSG.USERAUTH_REQUEST).string('alice').string('ssh-connection').string(method);

/** A hostbased request signed over the session id, as a client makes it. */
function hostbased(alg: string, blob: Buffer, sign: (data: Buffer) => Buffer): Buffer {
  const tail = request('hostbased').string(alg).string(blob).string('client.example.').string('alice').toBuffer();
  const data = new SshWriter().string(sessionId).raw(tail).toBuffer();
  return new SshWriter().raw(tail).string(sign(data)).toBuffer();
}

/** A publickey request signed over the session id, as a client makes it. */
function signed(alg: string, blob: Buffer, sign: (data: Buffer) => Buffer): Buffer {
  const tail = request('publickey').bool(true).string(alg).string(blob).toBuffer();
  const data = new SshWriter().string(sessionId).raw(tail).toBuffer();
  return new SshWriter().raw(tail).string(sign(data)).toBuffer();
}

async function serverSeeds(): Promise<Buffer[]> {
  const cert = await issueCertificate(ca, userKey.publicKey, { type: 'user', keyId: 'k', principals: ['alice'] });
  const certAlg = 'ssh-ed25519-cert-v01@openssh.com';
  const hostCert = await issueCertificate(ca, userKey.publicKey, {
    type: 'host',
    keyId: 'h',
    principals: ['client.example'],
  });
  return [
    hostbased('ssh-ed25519', userKey.publicKey.blob, (d) => userKey.signSync(d, 'ssh-ed25519')),
    hostbased('rsa-sha2-512', rsaKey.publicKey.blob, (d) => rsaKey.signSync(d, 'rsa-sha2-512')),
    hostbased(certAlg, hostCert.blob, (d) => userKey.signSync(d, 'ssh-ed25519')),
    new SshWriter().byte(MSG.SERVICE_REQUEST).string('ssh-userauth').toBuffer(),
    request('none').toBuffer(),
    request('password').bool(false).string('pw').toBuffer(),
    request('password').bool(true).string('old').string('new').toBuffer(),
    request('publickey').bool(false).string('ssh-ed25519').string(userKey.publicKey.blob).toBuffer(),
    signed('ssh-ed25519', userKey.publicKey.blob, (d) => userKey.signSync(d, 'ssh-ed25519')),
    signed('rsa-sha2-256', rsaKey.publicKey.blob, (d) => rsaKey.signSync(d, 'rsa-sha2-256')),
    signed(certAlg, cert.blob, (d) => userKey.signSync(d, 'ssh-ed25519')),
    request('keyboard-interactive').string('').string('').toBuffer(),
    new SshWriter().byte(MSG.USERAUTH_INFO_RESPONSE).uint32(1).string('pw').toBuffer(),
    new SshWriter().byte(MSG.USERAUTH_INFO_RESPONSE).uint32(2).string('a').string('b').toBuffer(),
  ];
}

test('auth server: mutated request sequences settle with success or a typed error', async () => {
  const seeds = await serverSeeds();
  const serviceRequest = seeds[0] as Buffer;
  const message = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...seeds) },
    { weight: 1, arbitrary: mutated(seeds) },
  );
  await fuzzAsync(
    'auth server (USERAUTH_REQUEST, INFO_RESPONSE)',
    fc.tuple(
      fc.oneof(
        { weight: 4, arbitrary: fc.constant(serviceRequest) },
        { weight: 1, arbitrary: mutated([serviceRequest]) },
      ),
      fc.array(message, { minLength: 1, maxLength: 6 }),
    ),
    async ([service, msgs]) => {
      const queue = new MessageQueue();
      for (const m of [service, ...msgs]) queue.push(m);
      queue.fail(new ConnectionLostError('end of input'));
      await authenticateServer({ send: () => true, sessionId, disconnect: () => {} }, queue, {
        failureDelay: 0,
        maxAttempts: 3,
        methods: ['hostbased', 'publickey', 'keyboard-interactive', 'password'],
        trustedUserCAKeys: [ca.publicKey],
        sourceAddress: '127.0.0.1',
        authenticate: async (ctx) => {
          if (ctx.method === 'password')
            return ctx.password === 'pw' ? true : ctx.newPassword ? false : { changePassword: 'new one' };
          if (ctx.method === 'publickey') return ctx.signed === true ? ['password'] : true;
          if (ctx.method === 'hostbased') return ctx.clientHostname === 'client.example' ? ['publickey'] : false;
          if (ctx.method === 'keyboard-interactive') {
            const a = await ctx.prompt([{ prompt: 'Password: ', echo: false }], { name: 'n' });
            return a[0] === 'pw';
          }
          return false;
        },
      });
    },
    { numRuns: runs(400, 4), allowed },
  );
});

function clientSeeds(): Buffer[] {
  return [
    new SshWriter()
      .byte(MSG.USERAUTH_FAILURE)
      .nameList(['publickey', 'password', 'keyboard-interactive'])
      .bool(false)
      .toBuffer(),
    new SshWriter().byte(MSG.USERAUTH_FAILURE).nameList(['password']).bool(true).toBuffer(),
    new SshWriter().byte(MSG.USERAUTH_FAILURE).nameList(['hostbased', 'publickey']).bool(false).toBuffer(),
    new SshWriter().byte(MSG.USERAUTH_BANNER).string('Welcome\n').string('en').toBuffer(),
    new SshWriter().byte(MSG.USERAUTH_PK_OK).string('ssh-ed25519').string(userKey.publicKey.blob).toBuffer(),
    new SshWriter()
      .byte(MSG.USERAUTH_INFO_REQUEST)
      .string('name')
      .string('instructions')
      .string('')
      .uint32(2)
      .string('Password: ')
      .bool(false)
      .string('Code: ')
      .bool(true)
      .toBuffer(),
    new SshWriter().byte(MSG.USERAUTH_PASSWD_CHANGEREQ).string('expired').string('').toBuffer(),
    Buffer.from([MSG.USERAUTH_SUCCESS]),
  ];
}

test('auth client: mutated server replies settle with success or a typed error', async () => {
  const seeds = clientSeeds();
  const accept = new SshWriter().byte(MSG.SERVICE_ACCEPT).string('ssh-userauth').toBuffer();
  const message = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...seeds) },
    { weight: 1, arbitrary: mutated(seeds) },
  );
  await fuzzAsync(
    'auth client (FAILURE, PK_OK, INFO_REQUEST, BANNER, PASSWD_CHANGEREQ)',
    fc.tuple(
      fc.oneof({ weight: 4, arbitrary: fc.constant(accept) }, { weight: 1, arbitrary: mutated([accept]) }),
      fc.array(message, { minLength: 1, maxLength: 8 }),
    ),
    async ([service, msgs]) => {
      const queue = new MessageQueue();
      for (const m of [service, ...msgs]) queue.push(m);
      queue.fail(new ConnectionLostError('end of input'));
      await authenticateClient({ send: () => true, sessionId, serverSigAlgs: undefined }, queue, {
        username: 'alice',
        password: 'pw',
        signers: [userKey],
        hostbased: { signer: rsaKey, localHostname: 'client.example', localUsername: 'alice' },
        onKeyboardInteractive: (req) => req.prompts.map(() => 'x'),
        onPasswordChange: () => 'new',
        onBanner: () => {},
      });
    },
    { numRuns: runs(600, 2), allowed },
  );
});

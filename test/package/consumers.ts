/**
 * Tiny consumer projects for the packed package: a runtime smoke script (CommonJS and ES module
 * variants) and TypeScript projects under each module resolution a consumer may use.
 */

/**
 * Runs against the installed package: every entry point loads, the subpaths share the root's
 * classes, every exported class has its own name (what util.inspect and error names show), and a
 * Server and a Client from it complete a real connection on 127.0.0.1 with mlkem768x25519-sha256
 * (the ES-module-only @noble/post-quantum, required from CommonJS) and chacha20-poly1305 (the
 * WebAssembly Poly1305). Prints one JSON line.
 */
const SMOKE_BODY = `
async function main(secsh, keys, sftp, config, resolved) {
  const hostKey = keys.generatePrivateKey('ed25519');
  const server = new secsh.Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.username === 'u' && ctx.password === 'pw',
  });
  server.on('session', (s) => {
    s.on('exec', (req) => {
      req.accept();
      s.channel.write('ran:' + req.command);
      s.exit(0);
    });
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const base = {
    host: '127.0.0.1',
    port,
    username: 'u',
    hostKeyFingerprint: hostKey.publicKey.fingerprint(),
    algorithms: { kex: ['mlkem768x25519-sha256'], cipher: ['chacha20-poly1305@openssh.com'] },
  };
  try {
    const client = await secsh.Client.connect({ ...base, password: 'pw' });
    const r = await client.exec('hello');
    await client.close();
    let refused = 'resolved';
    try {
      const c = await secsh.Client.connect({ ...base, password: 'wrong', authMethods: ['password'] });
      await c.close();
    } catch (err) {
      refused = err instanceof secsh.SshError ? 'SshError:' + err.code : 'other:' + String(err);
    }
    console.log(
      JSON.stringify({
        resolved,
        stdout: r.stdout,
        code: r.code,
        refused,
        sharedClasses:
          keys.PrivateKey === secsh.PrivateKey && sftp.SftpClient === secsh.SftpClient && config.KnownHosts === secsh.KnownHosts,
        exportCounts: [secsh, keys, sftp, config].map((m) => Object.keys(m).length),
        misnamed: [secsh, keys, sftp, config].flatMap((m) =>
          Object.entries(m)
            .filter(([k, v]) => typeof v === 'function' && /^[A-Z]/.test(k) && v.name !== k)
            .map(([k, v]) => k + ' is named ' + v.name),
        ),
      }),
    );
  } finally {
    await server.close();
  }
}
`;

export const SMOKE_CJS = `'use strict';
const secsh = require('secsh');
const keys = require('secsh/keys');
const sftp = require('secsh/sftp');
const config = require('secsh/config');
${SMOKE_BODY}
main(secsh, keys, sftp, config, ['secsh', 'secsh/keys', 'secsh/sftp', 'secsh/config'].map((s) => require.resolve(s))).catch(
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
`;

export const SMOKE_ESM = `import { fileURLToPath } from 'node:url';
const secsh = await import('secsh');
const keys = await import('secsh/keys');
const sftp = await import('secsh/sftp');
const config = await import('secsh/config');
${SMOKE_BODY}
await main(secsh, keys, sftp, config, ['secsh', 'secsh/keys', 'secsh/sftp', 'secsh/config'].map((s) => fileURLToPath(import.meta.resolve(s))));
`;

/**
 * Type-checks only when the package's types resolve (an unresolved module is an error under strict),
 * are not `any` (the @ts-expect-error lines must each find an error) and cover every subpath.
 */
export const CONSUMER_TS = `import { Client, type ConnectOptions, generatePrivateKey, SshError } from 'secsh';
import { KnownHosts } from 'secsh/config';
import { parsePrivateKey, type PrivateKey } from 'secsh/keys';
import { SftpClient } from 'secsh/sftp';

const key: PrivateKey = generatePrivateKey('ed25519');
const fingerprint: string = key.publicKey.fingerprint();
const opts: ConnectOptions = { host: '127.0.0.1', username: 'u', hostKeyFingerprint: fingerprint };
// @ts-expect-error a port is a number
const badPort: ConnectOptions = { host: '127.0.0.1', username: 'u', port: 'twenty-two' };
// @ts-expect-error parsePrivateKey takes the key's text or bytes
parsePrivateKey(42);
export async function run(): Promise<string> {
  const client: Client = await Client.connect(opts);
  const sftp: SftpClient = await client.sftp();
  const known = new KnownHosts();
  sftp.end();
  const { stdout } = await client.exec('true');
  return stdout + String(known) + String(badPort) + String(new SshError('x').code);
}
`;

export interface TsConsumer {
  /** Folder name and test label. */
  name: string;
  /** "type" of the folder's package.json: decides whether .ts files are CommonJS or ES modules under node16/nodenext. */
  type: 'commonjs' | 'module';
  compilerOptions: Record<string, string>;
  /** The declaration file of the package that the root import must resolve to. */
  rootTypes: string;
  /**
   * Also check the package's own declarations (skipLibCheck false). Done once per build (CommonJS
   * and ES modules); it triples tsc's time, as it checks all of @types/node with them.
   */
  checkLibs: boolean;
}

export const TS_CONSUMERS: TsConsumer[] = [
  {
    name: 'node10',
    type: 'commonjs',
    compilerOptions: { module: 'commonjs', moduleResolution: 'node10' },
    rootTypes: 'dist/cjs/index.d.ts',
    checkLibs: false,
  },
  {
    name: 'node16-cjs',
    type: 'commonjs',
    compilerOptions: { module: 'node16' },
    rootTypes: 'dist/cjs/index.d.ts',
    checkLibs: true,
  },
  {
    name: 'node16-esm',
    type: 'module',
    compilerOptions: { module: 'node16' },
    rootTypes: 'dist/index.d.ts',
    checkLibs: false,
  },
  {
    name: 'nodenext-cjs',
    type: 'commonjs',
    compilerOptions: { module: 'nodenext' },
    rootTypes: 'dist/cjs/index.d.ts',
    checkLibs: false,
  },
  {
    name: 'nodenext-esm',
    type: 'module',
    compilerOptions: { module: 'nodenext' },
    rootTypes: 'dist/index.d.ts',
    checkLibs: true,
  },
  {
    name: 'bundler',
    type: 'module',
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler' },
    rootTypes: 'dist/index.d.ts',
    checkLibs: false,
  },
];

export function tsconfigFor(c: TsConsumer): string {
  return `${JSON.stringify(
    {
      compilerOptions: {
        target: 'es2022',
        ...c.compilerOptions,
        strict: true,
        noEmit: true,
        skipLibCheck: !c.checkLibs,
        types: ['node'],
      },
      files: ['index.ts'],
    },
    null,
    2,
  )}\n`;
}

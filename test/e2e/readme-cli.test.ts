/**
 * The README's command-line walk-through runs as written: the shell block under "The `secsh` command
 * line", in a fresh folder, with `secsh` on PATH (this checkout's CLI) and the port made free.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/sshd.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The first ```sh block after `heading` in the README. */
async function readmeBlock(heading: string): Promise<string> {
  const text = await readFile(join(ROOT, 'README.md'), 'utf8');
  const at = text.indexOf(heading);
  assert.ok(at >= 0, `README has no ${heading}`);
  const m = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  assert.ok(m, `no sh block after ${heading}`);
  return m[1] as string;
}

test('the README command-line walk-through runs: keygen, server, ssh, scp, sftp and keygen -l', async () => {
  const script = await readmeBlock('### The `secsh` command line');
  const dir = await mkdtemp(join(tmpdir(), 'secsh-readme-cli-'));
  try {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    const main = JSON.stringify(join(ROOT, 'src', 'cli', 'main.ts'));
    // The CLI on the runtime running this test: Node (through tsx), Bun, or Deno (its own TypeScript).
    const run =
      'deno' in process.versions
        ? `${JSON.stringify(process.execPath)} run --allow-all --no-check --no-lock --unstable-sloppy-imports ${main}`
        : `${JSON.stringify(process.execPath)} --import ${JSON.stringify(import.meta.resolve('tsx'))} ${main}`;
    await writeFile(join(bin, 'secsh'), `#!/bin/sh\nexec ${run} "$@"\n`);
    await chmod(join(bin, 'secsh'), 0o755);
    const port = String(await freePort());
    const home = join(dir, 'home');
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: home };
    delete env.SSH_AUTH_SOCK;
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn('/bin/bash', ['-e', '-c', script.replaceAll('2222', port)], {
        cwd: dir,
        env,
        detached: true,
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
      });
      const timer = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), 90_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        // The walk-through's background server, if a failed line left it running.
        try {
          process.kill(-(child.pid as number), 'SIGTERM');
        } catch {
          // the group is gone
        }
        resolve({ code, out, err });
      });
    });
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.match(r.out, /^hello$/m);
    assert.match(r.out, /^256 SHA256:\S+ .* \(ED25519\)$/m);
    assert.equal(await readFile(join(dir, 'notes-back.txt'), 'utf8'), 'some data\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

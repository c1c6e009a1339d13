/**
 * SFTP: mkdir -p, upload and download a file with progress, send and fetch a whole directory, list
 * it, and remove it all again (rm -r). Works in a fresh folder and leaves nothing behind.
 *
 *   SSH_HOST=example.com SSH_KEY=$HOME/.ssh/id_ed25519 npx tsx examples/sftp.ts
 *
 * SSH_REMOTE_DIR: the remote folder to create and remove (default `secsh-example-<pid>` in the remote
 * home). Connection settings as in exec.ts: SSH_HOST, SSH_PORT, SSH_USER, SSH_KEY or SSH_PASSWORD,
 * SSH_HOST_FINGERPRINT.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'secsh';

const env = process.env;
const client = await Client.connect({
  host: env.SSH_HOST ?? 'localhost',
  port: Number(env.SSH_PORT ?? 22),
  username: env.SSH_USER ?? userInfo().username,
  privateKey: env.SSH_KEY ? await readFile(env.SSH_KEY) : undefined,
  password: env.SSH_PASSWORD,
  hostKeyFingerprint: env.SSH_HOST_FINGERPRINT,
});

const MiB = 1024 * 1024;
const mib = (n: number) => (n / MiB).toFixed(1);
/** A progress callback printing a line each time another quarter is done. */
function quarters(label: string) {
  let shown = -1;
  return (p: { done: number; total: number; rate: number }) => {
    const step = p.total === 0 ? 100 : Math.floor((p.done * 4) / p.total) * 25;
    if (step <= shown) return;
    shown = step;
    console.log(`${label} ${step}% (${mib(p.done)} of ${mib(p.total)} MiB, ${mib(p.rate)} MiB/s)`);
  };
}
const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

// Something to send: one 8 MiB file and a small tree.
const local = await mkdtemp(join(tmpdir(), 'secsh-sftp-example-'));
await writeFile(join(local, 'big.bin'), randomBytes(8 * MiB));
await mkdir(join(local, 'site', 'css'), { recursive: true });
await writeFile(join(local, 'site', 'index.html'), '<h1>hello</h1>\n');
await writeFile(join(local, 'site', 'about.html'), '<p>about</p>\n');
await writeFile(join(local, 'site', 'css', 'style.css'), 'h1 { color: teal }\n');

const remote = env.SSH_REMOTE_DIR ?? `secsh-example-${process.pid}`;
const sftp = await client.sftp();
try {
  await sftp.mkdir(`${remote}/files`, { recursive: true }); // like mkdir -p

  const up = quarters('upload');
  await sftp.upload(join(local, 'big.bin'), `${remote}/files/big.bin`, {
    onProgress: (p) => up({ done: p.transferred, ...p }),
  });
  const down = quarters('download');
  // Downloads land in a temp file, are fsynced and renamed into place: no half-written file on failure.
  await sftp.download(`${remote}/files/big.bin`, join(local, 'big.copy'), {
    onProgress: (p) => down({ done: p.transferred, ...p }),
  });
  const same = (await sha256(join(local, 'big.bin'))) === (await sha256(join(local, 'big.copy')));
  console.log(same ? 'download matches the upload' : 'download DIFFERS from the upload');

  // Whole folders, several files in flight; progress counts bytes across all of them.
  let filesDone = 0;
  const sent = await sftp.uploadDir(join(local, 'site'), `${remote}/site`, {
    onProgress: (p) => {
      if (p.filesDone === filesDone) return; // also called as data lands; print once per file
      filesDone = p.filesDone;
      console.log(`  ${p.path}: ${p.filesDone} of ${p.files} files, ${p.bytes} of ${p.total} bytes`);
    },
  });
  console.log(`uploaded ${sent.files} files, ${sent.bytes} bytes`);

  for (const e of await sftp.readdir(`${remote}/site`)) {
    console.log(`  ${e.attrs.isDirectory() ? 'd' : '-'} ${e.filename.padEnd(12)} ${e.attrs.size}`);
  }
  const got = await sftp.downloadDir(`${remote}/site`, join(local, 'site-copy'));
  console.log(`downloaded ${got.files} files, ${got.bytes} bytes`);

  await sftp.rm(remote, { recursive: true }); // like rm -r
  console.log(`removed ${remote}: ${(await sftp.exists(remote)) ? 'still there' : 'gone'}`);
} finally {
  sftp.end();
  await client.close();
  await rm(local, { recursive: true, force: true });
}

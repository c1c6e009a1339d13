/**
 * `npm run check:package`: packs the package into a temporary folder (prepack builds it), checks the
 * tarball's file list, and runs publint and @arethetypeswrong/cli on the tarball. Exit 0 when all pass.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lintTarball, packTarball, REQUIRED_FILES, unexpectedFiles } from './pack.js';

const dir = await mkdtemp(join(tmpdir(), 'secsh-pack-'));
let failed = false;
try {
  const packed = await packTarball(dir);
  console.log(
    `packed ${packed.files.length} files, ${(packed.size / 1024).toFixed(0)} KiB (${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked)`,
  );
  const extra = unexpectedFiles(packed.files);
  const missing = REQUIRED_FILES.filter((f) => !packed.files.includes(f));
  if (extra.length) {
    failed = true;
    console.error(`files that should not be in the tarball:\n  ${extra.join('\n  ')}`);
  }
  if (missing.length) {
    failed = true;
    console.error(`files missing from the tarball:\n  ${missing.join('\n  ')}`);
  }
  for (const { tool, result } of await lintTarball(packed.tarball)) {
    console.log(`--- ${tool} (exit ${result.code})`);
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    if (result.code !== 0) failed = true;
  }
} catch (err) {
  failed = true;
  console.error(err instanceof Error ? err.message : err);
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(failed ? 'check:package: FAILED' : 'check:package: tarball contents, publint and attw OK');
process.exitCode = failed ? 1 : 0;

/** The package's version, for `secsh --version` and `secsh ssh -V`. */

/** The version in package.json next to the sources or the build ('unknown' when there is none). */
export async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(await readFile(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'secsh' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return 'unknown';
}

/**
 * The API reference's wiring, without running typedoc (that is `npm run docs:check`, ~20 s, run by CI):
 * every public entry point of package.json "exports" is documented, and typedoc is set to fail on the
 * warnings that mean a gap (an undocumented export, a type the API uses but does not export, a broken
 * {@link}).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);
const json = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(name, root), 'utf8'));

/** The source file behind each subpath of package.json "exports" ('.' → src/index.ts, './keys' → src/keys/index.ts). */
function exportedEntryPoints(): string[] {
  const exports = json('package.json').exports as Record<string, unknown>;
  return Object.keys(exports)
    .filter((k) => k !== './package.json')
    .map((k) => (k === '.' ? 'src/index.ts' : `src/${k.slice(2)}/index.ts`))
    .sort();
}

test('typedoc documents exactly the entry points package.json exports', () => {
  const config = json('typedoc.json');
  const entryPoints = [...(config.entryPoints as string[])].sort();
  assert.deepEqual(entryPoints, exportedEntryPoints());
  for (const e of entryPoints) readFileSync(new URL(e, root)); // each exists
});

test('each entry point names its module as users import it (secsh, secsh/keys, …)', () => {
  for (const e of exportedEntryPoints()) {
    const want = e === 'src/index.ts' ? 'secsh' : `secsh/${e.split('/')[1]}`;
    const text = readFileSync(new URL(e, root), 'utf8');
    assert.match(text, new RegExp(`@module ${want.replace('/', '\\/')}\\n`), e);
  }
});

test('typedoc fails on undocumented exports, unexported types the API uses and broken links', () => {
  const config = json('typedoc.json');
  assert.equal(config.treatWarningsAsErrors, true);
  const validation = config.validation as Record<string, boolean>;
  for (const v of ['notExported', 'invalidLink', 'notDocumented']) assert.equal(validation[v], true, v);
  // The default list of kinds that need a comment covers functions, classes, methods, properties
  // (options) and type aliases; a narrower list would let gaps through.
  assert.equal(config.requiredToBeDocumented, undefined);
  const scripts = json('package.json').scripts as Record<string, string>;
  assert.equal(scripts.docs, 'typedoc');
  assert.equal(scripts['docs:check'], 'typedoc --emit none');
});

test('the generated reference is not committed', () => {
  const ignore = readFileSync(new URL('.gitignore', root), 'utf8').split('\n');
  assert.ok(ignore.includes('docs/api/'));
});

/**
 * Shared by the WebAssembly generators (build-poly1305-wasm.mjs, build-sntrup761-wasm.mjs): compiles WAT
 * with the `wabt` devDependency and writes, or with --check verifies, a TypeScript file holding the
 * module as a base64 constant after the generator's own header lines.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import wabtInit from 'wabt';

/** The binary module for `wat` (bulk memory and SIMD enabled); throws on invalid WAT. */
export async function compileWat(name, wat) {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat(name, wat, { bulk_memory: true, simd: true });
  parsed.resolveNames();
  parsed.validate();
  const { buffer } = parsed.toBinary({});
  parsed.destroy();
  return buffer;
}

/**
 * `header` lines, then `export const <constName> =` and the module in base64, 100 characters a line.
 * Writes `out`, or with --check on the command line exits 1 when `out` differs (naming `generator`).
 */
export function writeModuleFile(out, header, constName, bytes, generator) {
  const base64 = Buffer.from(bytes).toString('base64');
  const lines = [...header, `export const ${constName} =`];
  for (let i = 0; i < base64.length; i += 100) {
    lines.push(`  '${base64.slice(i, i + 100)}'${i + 100 >= base64.length ? ';' : ' +'}`);
  }
  const text = `${lines.join('\n')}\n`;
  if (process.argv.includes('--check')) {
    const current = readFileSync(out, 'utf8');
    if (current !== text) {
      console.error(`${out} is stale: rerun node ${generator}`);
      process.exit(1);
    }
    console.log(`${out} is up to date`);
  } else {
    writeFileSync(out, text);
    console.log(`wrote ${out} (${bytes.length} bytes of wasm)`);
  }
}

/**
 * The WebAssembly self-check of sntrup761 (sntrup761-poly.ts, run once on first use) must end in a
 * decision whatever the module does: a module that traps during the check is a failed check, and the
 * plain-JavaScript arithmetic takes over. This file replaces globalThis.WebAssembly before the module
 * is first used, so it needs a process of its own (node --test gives every file one).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

/** The parts of the WebAssembly global this file touches (the project's lib has no WebAssembly types). */
interface WasmGlobal {
  Module: unknown;
  Instance: unknown;
  RuntimeError: new (message: string) => Error;
}
const scope = globalThis as { WebAssembly?: WasmGlobal };
const realWasm = scope.WebAssembly;
after(() => {
  scope.WebAssembly = realWasm;
});

/** A stand-in WebAssembly whose module instantiates but traps in every export, as a broken engine would. */
function trappingWasm(): WasmGlobal {
  const RuntimeError = realWasm?.RuntimeError ?? Error;
  const trap = (): never => {
    throw new RuntimeError('unreachable');
  };
  class Module {}
  class Instance {
    readonly exports = {
      mem: { buffer: new ArrayBuffer(65536) },
      rqDivsteps: trap,
      r3Divsteps: trap,
      mult: trap,
      wipe: () => {},
    };
  }
  return { ...realWasm, Module, Instance, RuntimeError };
}

test('a WebAssembly module that traps in its self-check gives way to the JavaScript arithmetic', async () => {
  scope.WebAssembly = trappingWasm();
  const { sntrup761KeyPair, sntrup761Encapsulate, sntrup761Decapsulate } = await import(
    '../../../src/crypto/sntrup761.js'
  );
  const { sntrup761UsesWasm } = await import('../../../src/crypto/sntrup761-poly.js');
  for (let i = 0; i < 2; i++) {
    const { publicKey, secretKey } = sntrup761KeyPair();
    const { ciphertext, sharedKey } = sntrup761Encapsulate(publicKey);
    assert.deepEqual(sntrup761Decapsulate(ciphertext, secretKey), sharedKey);
  }
  assert.equal(sntrup761UsesWasm(), false);
});

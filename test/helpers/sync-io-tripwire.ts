/**
 * A preload (`node --import tsx --import ./test/helpers/sync-io-tripwire.ts …`) for a server process:
 * once the process has printed its "listening" line, every call of a node:fs `*Sync` function or of
 * spawnSync/execSync/execFileSync made from secsh's src/ is recorded (the call still runs), and at
 * exit the record is written to stderr as one line `SYNC-IO-CALLS <json array>`.
 */
import childProcess from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

type Fn = (...args: unknown[]) => unknown;
const calls: string[] = [];
let recording = false;
const writeSync = fs.writeSync;

function tripwire(obj: Record<string, unknown>, label: string, name: string): void {
  const orig = obj[name];
  if (typeof orig !== 'function') return;
  obj[name] = function (this: unknown, ...args: unknown[]) {
    if (recording) {
      const ours = (new Error().stack ?? '')
        .split('\n')
        .find((l) => /[/\\]src[/\\]/.test(l) && !l.includes('node_modules'));
      if (ours) calls.push(`${label}.${name} ${String(args[0]).slice(0, 80)} ${ours.trim()}`);
    }
    return (orig as Fn).apply(this, args);
  };
}

const fsObj = fs as unknown as Record<string, unknown>;
for (const name of Object.keys(fs)) if (name.endsWith('Sync')) tripwire(fsObj, 'fs', name);
const cpObj = childProcess as unknown as Record<string, unknown>;
for (const name of ['spawnSync', 'execSync', 'execFileSync']) tripwire(cpObj, 'child_process', name);
syncBuiltinESMExports();

const write = process.stdout.write.bind(process.stdout) as (...a: unknown[]) => boolean;
process.stdout.write = ((...args: unknown[]) => {
  if (String(args[0]).includes('listening')) recording = true;
  return write(...args);
}) as typeof process.stdout.write;

process.on('exit', () => {
  recording = false;
  writeSync(2, `SYNC-IO-CALLS ${JSON.stringify(calls)}\n`);
});

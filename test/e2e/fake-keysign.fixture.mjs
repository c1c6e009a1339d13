// A stand-in for OpenSSH's ssh-keysign, speaking its protocol: request on stdin
// (uint32 length, byte 2, uint32 fd, string data), reply on stdout (uint32 length, byte 2, string
// signature). It checks that the fd it is told of is fd 3 and a socket, and signs with the PKCS#8
// Ed25519 key in FAKE_KEYSIGN_KEY. FAKE_KEYSIGN_MODE: ok | refuse (exit 1 with a message, as
// ssh-keysign's fatal()) | garbage (a reply that is not one) | version (a reply of version 3) |
// huge (1 MiB of reply).
import { createPrivateKey, sign } from 'node:crypto';
import { fstatSync, readFileSync } from 'node:fs';

const mode = process.env.FAKE_KEYSIGN_MODE ?? 'ok';
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const str = (b) => Buffer.concat([u32(b.length), b]);

if (mode === 'refuse') {
  process.stderr.write('ssh-keysign: ssh-keysign not enabled in /etc/ssh/ssh_config\n');
  process.exit(1);
}
const input = readFileSync(0);
const length = input.readUInt32BE(0);
if (length !== input.length - 4 || input[4] !== 2) {
  process.stderr.write('bad request framing\n');
  process.exit(1);
}
const fd = input.readUInt32BE(5);
if (fd !== 3 || !fstatSync(3).isSocket()) {
  process.stderr.write(`fd ${fd} is not a socket\n`);
  process.exit(1);
}
const dataLength = input.readUInt32BE(9);
const data = input.subarray(13, 13 + dataLength);
if (mode === 'huge') {
  process.stdout.write(Buffer.alloc(1024 * 1024, 0x41));
  process.exit(0);
}
if (mode === 'garbage') {
  process.stdout.write(Buffer.from('\0\0\0\x05hello'));
  process.exit(0);
}
const key = createPrivateKey(process.env.FAKE_KEYSIGN_KEY ?? '');
const signature = str(Buffer.concat([str(Buffer.from('ssh-ed25519')), str(sign(null, data, key))]));
const body = Buffer.concat([Buffer.from([mode === 'version' ? 3 : 2]), signature]);
process.stdout.write(Buffer.concat([u32(body.length), body]));

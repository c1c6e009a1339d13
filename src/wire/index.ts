export { MSG, MSG_RANGE } from './messages.js';
export { ownCopy } from './own-copy.js';
export { DEFAULT_MAX_STRING, mpintToBigint, SshReader } from './reader.js';
export { bigintToMpint, bigintToUnsigned, SshWriter, unsignedToMpint } from './writer.js';

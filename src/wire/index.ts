export { SshReader, mpintToBigint, DEFAULT_MAX_STRING } from './reader.js';
export { SshWriter, bigintToMpint, unsignedToMpint, bigintToUnsigned } from './writer.js';
export { MSG, MSG_RANGE } from './messages.js';

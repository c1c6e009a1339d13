export type { ChannelOpenRequest } from './channel.js';
export { Channel } from './channel.js';
export { Connection, isConnectionMessage } from './connection.js';
export { decodeTerminalModes, encodeTerminalModes, TERMINAL_MODES } from './modes.js';
export type { PtyOptions, SessionRequest, TcpipOpen } from './requests.js';
export {
  decodeSessionRequest,
  decodeTcpipOpen,
  encodeEnv,
  encodePtyRequest,
  encodeString,
  encodeTcpipOpen,
  encodeWindowChange,
} from './requests.js';
export type {
  ChannelRequestEvent,
  ConnectionOptions,
  ConnectionStats,
  ExitSignal,
  GlobalRequestHandler,
  PacketLink,
} from './types.js';

export { Channel } from './channel.js';
export { Connection, isConnectionMessage } from './connection.js';
export { decodeTerminalModes, encodeTerminalModes, TERMINAL_MODES } from './modes.js';
export type { SessionRequest, TcpipOpen } from './requests.js';
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
  ChannelOpenRequest,
  ChannelRequestEvent,
  ConnectionOptions,
  ConnectionStats,
  ExitSignal,
  GlobalRequestHandler,
  PacketLink,
  PtyOptions,
} from './types.js';

/**
 * The legacy scp protocol (`scp -t` / `scp -f`): wire format, source and sink over any Duplex, a
 * client that runs the remote side through an exec channel, and a server exec handler backed by an
 * SFTP backend.
 *
 * @module secsh/scp
 */

export type { ScpClientOptions, ScpClientResult, ScpExecTarget, ScpRemoteCommandOptions } from './client.js';
export { scpDownload, scpRemoteCommand, scpUpload } from './client.js';
export type { ScpFile, ScpFs } from './fs.js';
export { errorText as scpErrorText, localScpFs } from './fs.js';
export type { ScpAck, ScpControl, ScpErrorKind, ScpLimits, ScpReaderOptions } from './protocol.js';
export {
  formatEntry as formatScpEntry,
  formatTimes as formatScpTimes,
  isPlainName,
  parseControl as parseScpControl,
  SCP_MAX_LINE,
  ScpError,
  ScpReader,
} from './protocol.js';
export type { ScpCommand, ScpServerOptions, ScpSessionLike } from './server.js';
export { parseScpCommand, scpExecHandler } from './server.js';
export type { ScpSinkOptions } from './sink.js';
export { scpSink } from './sink.js';
export type { ScpProgress, ScpResult, ScpSourceOptions, ScpTransferOptions } from './source.js';
export { scpSource } from './source.js';

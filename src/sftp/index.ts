/**
 * SFTP v3 with the OpenSSH extensions: client, server and codec.
 *
 * @module secsh/sftp
 */

export type { SftpAttrs } from './attrs.js';
export { SftpStats } from './attrs.js';
export type { SftpBackend, SftpBackendDir, SftpBackendFile, UsersGroups } from './backend.js';
export { longname } from './backend.js';
export type {
  AppendData,
  AppendOptions,
  CopyOptions,
  OpenFlags,
  RmdirOptions,
  RmOptions,
  SftpClientOptions,
  SftpClientStats,
  SftpDirEntry,
  SftpEntryType,
} from './client.js';
export { openFlags, SftpClient, SftpFileHandle } from './client.js';
export type { SftpLimits, SftpName, SftpPath, SftpStatvfs } from './codec.js';
export { displayPath, joinRemote } from './codec.js';
export { EXT, FX, FXF, FXP, MAX_PACKET, type SymlinkOrder, symlinkOrderFor } from './constants.js';
export type { DirTransferOptions, DirTransferProgress, DirTransferResult } from './dir-transfer.js';
export { nodeCodeToStatus, SftpError, statusToNodeCode } from './errors.js';
export type { PipelineOptions, ReadStreamOptions, WriteStreamOptions } from './handle.js';
export { pipelinedRead, pipelinedReadV, SftpFileBase } from './handle.js';
export type { LocalFsBackendOptions } from './local-backend.js';
export { LocalFsBackend } from './local-backend.js';
export type { SftpServerOptions, SftpSessionLike } from './server.js';
export { serveSftp, sftpSubsystemHandler } from './server.js';
export type { TransferOptions, TransferProgress } from './transfer.js';
export { PART_SUFFIX } from './transfer.js';

/**
 * secsh — a native TypeScript SSHv2 library.
 *
 * @example
 * import { Client } from 'secsh';
 * const client = await Client.connect({ host, username, privateKey, hostKeyFingerprint });
 * console.log((await client.exec('uname -a')).stdout);
 *
 * @module secsh
 */

export type {
  AddConstraints,
  AgentClientOptions,
  AgentIdentity,
  AllowedDestination,
  DestinationHop,
  ExtensionConstraint,
  HostKeySpec,
  SessionBinding,
} from './agent/index.js';
export {
  type AgentAddOptions,
  AgentClient,
  AgentServer,
  type AgentServerDestination,
  type AgentServerHop,
  type AgentServerOptions,
} from './agent/index.js';
export type { SessionPermissions } from './auth/cert-options.js';
export { certificatePermissions, effectivePermissions, UNRESTRICTED_PERMISSIONS } from './auth/cert-options.js';
export type { AuthTransport, ClientAuthOptions, KeyboardInteractiveRequest } from './auth/client.js';
export { authenticateClient } from './auth/client.js';
export type { HostbasedCredentials } from './auth/hostbased.js';
export { MessageQueue } from './auth/queue.js';
export type { AuthRestrictions } from './auth/restrictions.js';
export { authorizedKeyFromAllows, authorizedKeyRestrictions } from './auth/restrictions.js';
export type {
  AuthContext,
  AuthDecision,
  AuthHandler,
  AuthMethod,
  AuthResult,
  AuthStep,
  Prompt,
  ServerAuthOptions,
  ServerAuthTransport,
} from './auth/server.js';
export { authenticateServer, DEFAULT_HOSTBASED_ALGORITHMS, DEFAULT_PUBLICKEY_ALGORITHMS } from './auth/server.js';
export type {
  Algorithms,
  ConnectOptions,
  ExecOptions,
  ExecResult,
  HostKeyTarget,
  JumpHost,
  Logger,
  PtyOptions,
  RemoteProcess,
  SshConfigSource,
} from './client/client.js';
export { Client } from './client/client.js';
export type { HostbasedOptions, HostKeysUpdateQuestion, HostKeysUpdateResult } from './client/options.js';
export type {
  ClientHostClaim,
  ForwardEnd,
  KnownHostsAddOptions,
  KnownHostsEntry,
  KnownHostsMarker,
  KnownHostsPolicy,
  KnownHostsResult,
  PassphrasePrompt,
  ResolvedSshConfig,
  ResolveSshConfigOptions,
  SshForward,
  StrictHostKeyChecking,
  UnknownHostKeyQuestion,
} from './config/index.js';
export {
  applyAlgorithmEdit,
  hashKnownHostsName,
  KnownHosts,
  knownClientHost,
  knownHostsName,
  knownHostsVerifier,
  loadKnownHostsFiles,
  resolveSshConfig,
} from './config/index.js';
export type {
  ChannelOpenRequest,
  ChannelRequestEvent,
  ConnectionOptions,
  ConnectionStats,
  ExitSignal,
  GlobalRequestHandler,
  PacketLink,
  SessionRequest,
} from './connection/index.js';
export { Channel, Connection } from './connection/index.js';
export type { AlgorithmKind, AlgorithmLists, AlgorithmOption, AlgorithmOptions } from './crypto/algorithms.js';
export {
  CERTIFICATE_HOST_KEY_ALGORITHMS,
  DEFAULT_ALGORITHMS,
  INSECURE_ALGORITHMS,
  resolveAlgorithmList,
  resolveAlgorithms,
  supportedAlgorithms,
} from './crypto/algorithms.js';
export * from './errors.js';
export type { BindOptions, LocalForwardOptions } from './forward/local.js';
export type {
  ForwardDirection,
  ForwardPolicy,
  ForwardRequest,
  ForwardRequestBase,
  ServerForwardingOptions,
} from './forward/policy.js';
export { permitListenAllows, permitOpenAllows } from './forward/policy.js';
export type { RemoteForwardOptions, RemoteOrigin } from './forward/remote.js';
export type { ServerForwardStats } from './forward/server-forwarding.js';
export { serverForwardStats } from './forward/server-forwarding.js';
export type { SessionForwardOptions } from './forward/session-forward.js';
export type { DynamicForwardOptions } from './forward/socks-forward.js';
export type { Forward, ForwardAddress, ForwardCloseOptions, ForwardStats } from './forward/types.js';
export type { X11Options } from './forward/x11.js';
export type {
  AllowedSigner,
  AuthorizedKey,
  AuthorizedKeyOption,
  CertificateOptions,
  CertificateVerifyOptions,
  FindPrincipalsOptions,
  IssueCertificateOptions,
  ParseAuthorizedKeysOptions,
  ParsePrivateKeyOptions,
  ParseSecurityKeyFileOptions,
  PpkArgon2Options,
  PrivateKeyExportOptions,
  PublicKeyExportOptions,
  ReadPrivateKeyFileOptions,
  SecurityKeyFile,
  SignatureVerification,
  Signer,
  SignSshsigOptions,
  SshSignature,
  SshsigData,
  SshsigFailure,
  SshsigHashAlgorithm,
  SshsigVerification,
  VerifySshsigOptions,
} from './keys/index.js';
export {
  CERT_FOREVER,
  Certificate,
  CertificateSigner,
  certificateAlgorithmFor,
  certificateOf,
  findPrincipals,
  generatePrivateKey,
  issueCertificate,
  matchPrincipals,
  PrivateKey,
  PublicKey,
  parseAllowedSigners,
  parseAuthorizedKeyLine,
  parseAuthorizedKeys,
  parseCertificate,
  parseKey,
  parsePrivateKey,
  parsePublicKey,
  parseRevokedKeys,
  parseSecurityKeyFile,
  parseSshsig,
  RevocationList,
  readPrivateKeyFile,
  SshsigError,
  signSshsig,
  verifySshsig,
  writePrivateKeyFile,
} from './keys/index.js';
export type { KeyType, SecurityKeySignatureInfo, SecurityKeyType, SignatureAlgorithm } from './keys/types.js';
export type {
  ControlHost,
  ControlListenOptions,
  MuxConnectOptions,
  MuxExecOptions,
  MuxForwardSpec,
  SharedConnectOptions,
} from './mux/index.js';
export {
  ControlListener,
  checkControl,
  connectShared,
  exitControl,
  listenControl,
  MuxClient,
  openControlForward,
} from './mux/index.js';
export type {
  ScpAck,
  ScpClientOptions,
  ScpClientResult,
  ScpCommand,
  ScpControl,
  ScpErrorKind,
  ScpExecTarget,
  ScpFile,
  ScpFs,
  ScpLimits,
  ScpProgress,
  ScpReaderOptions,
  ScpRemoteCommandOptions,
  ScpResult,
  ScpServerOptions,
  ScpSessionLike,
  ScpSinkOptions,
  ScpSourceOptions,
  ScpTransferOptions,
} from './scp/index.js';
export {
  formatScpEntry,
  formatScpTimes,
  isPlainName as isPlainScpName,
  localScpFs,
  parseScpCommand,
  parseScpControl,
  SCP_MAX_LINE,
  ScpError,
  ScpReader,
  scpDownload,
  scpErrorText,
  scpExecHandler,
  scpRemoteCommand,
  scpSink,
  scpSource,
  scpUpload,
} from './scp/index.js';
export type { LocalForwardingOptions, LocalProcessOptions, X11ForwardingOptions } from './server/local.js';
export { localProcessHandler, runLocalProcess } from './server/local.js';
export type { AuthAttempt, ServerOptions } from './server/server.js';
export { Server, ServerConnection } from './server/server.js';
export type {
  AgentForwardRequest,
  EnvRequest,
  ExecRequest,
  PtyInfo,
  PtyRequest,
  SessionOptions,
  SessionRequestBase,
  SessionStart,
  SubsystemRequest,
  X11Info,
  X11Request,
} from './server/session.js';
export { defaultAcceptEnv, Session } from './server/session.js';
export type {
  AppendData,
  AppendOptions,
  CopyOptions,
  DirTransferOptions,
  DirTransferProgress,
  DirTransferResult,
  LocalFsBackendOptions,
  OpenFlags,
  ReadStreamOptions,
  RmdirOptions,
  RmOptions,
  SftpAttrs,
  SftpBackend,
  SftpBackendDir,
  SftpBackendFile,
  SftpClientOptions,
  SftpClientStats,
  SftpDirEntry,
  SftpEntryType,
  SftpLimits,
  SftpName,
  SftpPath,
  SftpServerOptions,
  SftpSessionLike,
  SftpStatvfs,
  SymlinkOrder,
  TransferOptions,
  TransferProgress,
  UsersGroups,
  WriteStreamOptions,
} from './sftp/index.js';
export {
  displayPath,
  FX as SFTP_STATUS,
  FXF as SFTP_OPEN_FLAGS,
  joinRemote,
  LocalFsBackend,
  openFlags,
  SftpClient,
  SftpError,
  SftpFileHandle,
  SftpStats,
  serveSftp,
  sftpSubsystemHandler,
} from './sftp/index.js';
export { ping } from './transport/ping.js';
export type { SessionHostKey } from './transport/session-keys.js';
export type { GexSizes, NegotiatedAlgorithms, RekeyLimit, TransportOptions } from './transport/transport.js';
export { Transport } from './transport/transport.js';

/**
 * secsh — a native TypeScript SSHv2 library.
 *
 * @example
 * import { Client } from 'secsh';
 * const client = await Client.connect({ host, username, privateKey, hostKeyFingerprint });
 * console.log((await client.exec('uname -a')).stdout);
 */
export { Client } from './client.js';
export type { ConnectOptions, ExecOptions, ExecResult, RemoteProcess, PtyOptions, Algorithms, Logger } from './client.js';
export { Transport } from './transport/transport.js';
export type { TransportOptions, RekeyLimit, NegotiatedAlgorithms } from './transport/transport.js';
export { Connection, Channel } from './connection/index.js';
export { authenticateClient } from './auth/client.js';
export type { ClientAuthOptions, KeyboardInteractiveRequest } from './auth/client.js';
export { MessageQueue } from './auth/queue.js';
export { AgentClient } from './agent/index.js';
export { PublicKey, PrivateKey, parsePrivateKey, parsePublicKey, generatePrivateKey } from './keys/index.js';
export type { Signer } from './keys/index.js';
export type { KeyType, SignatureAlgorithm } from './keys/types.js';
export {
  DEFAULT_ALGORITHMS,
  INSECURE_ALGORITHMS,
  resolveAlgorithms,
  resolveAlgorithmList,
  supportedAlgorithms,
} from './crypto/algorithms.js';
export type { AlgorithmKind, AlgorithmLists, AlgorithmOptions, AlgorithmOption } from './crypto/algorithms.js';
export * from './errors.js';
export { Server, ServerConnection } from './server.js';
export type { ServerOptions, AuthAttempt } from './server.js';
export { authenticateServer, DEFAULT_PUBLICKEY_ALGORITHMS } from './auth/server.js';
export type { AuthContext, AuthDecision, AuthHandler, AuthMethod, AuthResult, AuthStep, Prompt, ServerAuthOptions } from './auth/server.js';
export { Session, defaultAcceptEnv } from './server/session.js';
export type { PtyInfo, ExecRequest, SubsystemRequest, EnvRequest, PtyRequest, SessionOptions } from './server/session.js';
export { localProcessHandler, runLocalProcess } from './server/local.js';
export type { LocalProcessOptions } from './server/local.js';
export {
  KnownHosts,
  hashKnownHostsName,
  knownHostsName,
  resolveSshConfig,
  applyAlgorithmEdit,
  knownHostsVerifier,
  loadKnownHostsFiles,
} from './config/index.js';
export type {
  KnownHostsEntry,
  KnownHostsMarker,
  KnownHostsResult,
  KnownHostsAddOptions,
  KnownHostsPolicy,
  StrictHostKeyChecking,
  ResolveSshConfigOptions,
  ResolvedSshConfig,
  SshForward,
  ForwardEnd,
} from './config/index.js';

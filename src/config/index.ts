/**
 * The config layer: known_hosts, ssh_config and the client's host key policy.
 *
 * @module secsh/config
 */

export {
  type JumpHostSpec,
  loadIdentityFiles,
  type PassphrasePrompt,
  parseJumpHost,
  type SshConfigConnectSettings,
  sshConfigConnectSettings,
  supportedAlgorithmOption,
} from './connect-config.js';
export { expandHome, homeDirectory } from './home.js';
export {
  type KnownHostsPolicy,
  knownHostsVerifier,
  loadKnownHostsFiles,
  preferKnownHostKeyAlgorithms,
  type StrictHostKeyChecking,
  type UnknownHostKeyQuestion,
} from './host-key-policy.js';
export { type ClientHostClaim, knownClientHost } from './known-client-hosts.js';
export {
  hashKnownHostsName,
  KnownHosts,
  type KnownHostsAddOptions,
  type KnownHostsEntry,
  type KnownHostsMarker,
  type KnownHostsResult,
  knownHostsName,
} from './known-hosts.js';
export { matchPattern, matchPatternList } from './pattern.js';
export {
  applyAlgorithmEdit,
  defaultSshConfigPath,
  type ForwardEnd,
  type ResolvedSshConfig,
  type ResolveSshConfigOptions,
  resolveSshConfig,
  type SshForward,
} from './ssh-config.js';

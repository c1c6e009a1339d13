/** The config layer: known_hosts, ssh_config and the client's host key policy. */
export {
  KnownHosts,
  type KnownHostsAddOptions,
  type KnownHostsEntry,
  type KnownHostsMarker,
  type KnownHostsResult,
  hashKnownHostsName,
  knownHostsName,
} from './known-hosts.js';
export {
  type KnownHostsPolicy,
  type StrictHostKeyChecking,
  knownHostsVerifier,
  loadKnownHostsFiles,
  preferKnownHostKeyAlgorithms,
} from './host-key-policy.js';
export {
  type ForwardEnd,
  type ResolveSshConfigOptions,
  type ResolvedSshConfig,
  type SshForward,
  applyAlgorithmEdit,
  defaultSshConfigPath,
  resolveSshConfig,
} from './ssh-config.js';
export {
  type SshConfigConnectSettings,
  loadIdentityFiles,
  parseJumpHost,
  sshConfigConnectSettings,
  supportedAlgorithmOption,
} from './connect-config.js';
export { matchPattern, matchPatternList } from './pattern.js';

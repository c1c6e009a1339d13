/** The ssh-agent layer: a client whose identities act as {@link Signer}s. */

export { AgentClient, type AgentClientOptions, type AgentIdentity } from './client.js';
export {
  type AddConstraints,
  type AllowedDestination,
  type DestinationHop,
  type ExtensionConstraint,
  encodeSessionBind,
  type HostKeySpec,
  type SessionBinding,
} from './codec.js';
export { defaultAgentPath, exchangeOnce, WINDOWS_AGENT_PIPE } from './connection.js';
export type {
  ConstraintHop as AgentServerHop,
  DestinationConstraint as AgentServerDestination,
} from './constraints.js';
export { AGENT_CONSTRAIN, AGENT_EXT, AGENT_MSG, MAX_AGENT_RESPONSE, SIGN_FLAGS } from './protocol.js';
export {
  type AgentAddOptions,
  AgentServer,
  type AgentServerOptions,
  MAX_AGENT_REQUEST,
} from './server.js';

/** The ssh-agent layer: a client whose identities act as {@link Signer}s. */
export { AgentClient, type AgentIdentity } from './client.js';
export { AGENT_MSG, MAX_AGENT_RESPONSE, SIGN_FLAGS } from './protocol.js';

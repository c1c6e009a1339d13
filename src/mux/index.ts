/** OpenSSH connection sharing (ControlMaster, PROTOCOL.mux): attach to a master, or be one. */
export type { MuxConnectOptions, MuxExecOptions } from './client.js';
export { checkControl, exitControl, MuxClient, openControlForward } from './client.js';
export type { MuxForwardSpec } from './codec.js';
export type { SharedConnectOptions } from './connect.js';
export { connectShared } from './connect.js';
export type { ControlHost, ControlListenOptions } from './master.js';
export { ControlListener, listenControl } from './master.js';

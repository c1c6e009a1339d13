/**
 * Keeps the first channel after authentication from waiting on TCP's delayed ACK.
 *
 * OpenSSH's sshd turns Nagle's algorithm off only once a session starts. Right after authentication
 * it writes several small packets (hostkeys-00@openssh.com, then one SSH_MSG_DEBUG per line of
 * authorized_keys options, one write each); the second waits in sshd's kernel until the first is
 * acknowledged, and the CHANNEL_OPEN_CONFIRMATION queues behind it. A client with nothing to send
 * acknowledges only when its delayed-ACK timer fires (40 ms on Linux), so the first exec took ~50 ms
 * longer than the ones after it. Sending a packet at once carries the ACK: while the client waits for
 * a reply, input that made it send nothing is answered with an SSH_MSG_IGNORE, a few times per
 * connection.
 */

import type { Connection } from '../connection/index.js';
import type { Transport } from '../transport/transport.js';

/** SSH_MSG_IGNORE with empty data. */
const IGNORE = Buffer.from([2, 0, 0, 0, 0]);
/** IGNOREs one connection may send this way: enough for the messages that follow authentication. */
const BUDGET = 8;

/** Answers quiet input with an IGNORE while `connection` awaits a reply, up to {@link BUDGET} times. */
export function quickAckWhileWaiting(transport: Transport, connection: Connection): void {
  let left = BUDGET;
  transport.onQuietInput = () => {
    if (!connection.awaitingReply) return;
    transport.send(IGNORE);
    if (--left === 0) transport.onQuietInput = undefined;
  };
}

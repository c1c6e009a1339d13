/** The client's keepalive (ssh's ServerAliveInterval / ServerAliveCountMax). */
import type { Connection } from '../connection/index.js';
import { TimeoutError } from '../errors.js';
import type { Transport } from '../transport/transport.js';

/**
 * Every `interval` ms of server silence, sends a `keepalive@openssh.com` global request; after
 * `countMax` unanswered ones the transport is destroyed with a TimeoutError. Returns the (unref'd) timer.
 */
export function startKeepalive(
  transport: Transport,
  connection: Connection,
  interval: number,
  countMax: number,
): NodeJS.Timeout {
  let missed = 0;
  const timer = setInterval(() => {
    if (Date.now() - transport.lastReceived < interval) {
      missed = 0;
      return;
    }
    if (++missed > countMax) {
      transport.destroy(new TimeoutError(`no answer to ${countMax} keepalives`));
      return;
    }
    connection.globalRequest('keepalive@openssh.com', undefined, true).then(
      () => {
        missed = 0;
      },
      () => {},
    );
  }, interval);
  timer.unref();
  return timer;
}

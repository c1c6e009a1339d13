/**
 * The master side of proxy mode: a mux client speaks the connection protocol to us (as to a server)
 * and each channel it opens is opened again on the real connection and spliced to it — data both
 * ways with each side's own window, EOF, CLOSE, requests and their replies, exit status and signal.
 * Channel numbers are each side's own, so nothing is renumbered by hand.
 */
import { debuglog } from 'node:util';
import type { Channel, ChannelOpenRequest, Connection } from '../connection/index.js';
import { ChannelOpenError, ChannelOpenFailure } from '../errors.js';

const debug = debuglog('secsh');

/** Channel types a proxy client may open through the master. */
const RELAYED_TYPES = new Set(['session', 'direct-tcpip', 'direct-streamlocal@openssh.com']);
/** Requests not relayed: their channels (agent, X11) would reach the master, not the mux client. */
const REFUSED_REQUESTS = new Set(['auth-agent-req@openssh.com', 'auth-agent-req', 'x11-req']);

/** Serves every channel `down` (the mux client's side) opens by opening it on `up`. */
export function relayChannels(down: Connection, up: Connection): void {
  down.onChannelOpen = (req) => {
    void relayOpen(req, up);
  };
}

async function relayOpen(req: ChannelOpenRequest, up: Connection): Promise<void> {
  if (!RELAYED_TYPES.has(req.type)) {
    req.reject(ChannelOpenFailure.UNKNOWN_CHANNEL_TYPE, 'channel type not relayed by this master');
    return;
  }
  let upCh: Channel;
  try {
    upCh = req.type === 'session' ? await up.openSession() : await up.openChannel(req.type, req.data);
  } catch (e) {
    const code = e instanceof ChannelOpenError ? e.reasonCode : ChannelOpenFailure.CONNECT_FAILED;
    const text = e instanceof ChannelOpenError ? e.description : 'the master connection is gone';
    req.reject(code, text);
    return;
  }
  let downCh: Channel;
  try {
    downCh = req.accept();
  } catch {
    upCh.destroy();
    return;
  }
  splice(downCh, upCh);
}

function splice(down: Channel, up: Channel): void {
  const swallow = (e: Error): void => debug('mux relay: channel %d: %s', down.localId, e.message);
  down.on('error', swallow);
  up.on('error', swallow);
  down.pipe(up);
  // A session's EOF is passed on only with its CLOSE: our EOF after the client's would make this side
  // close the channel at once, before an exit status that the server sends after its EOF.
  const session = up.type === 'session';
  up.pipe(down, { end: !session });
  up.stderr.pipe(down.stderrOut, { end: false });
  down.stderr.resume();
  // What the server sends after a request's reply (its output, exit status, CLOSE) can come in the
  // same read as the reply, and the reply reaches the mux client only once the upstream promise
  // settles, after the channel's 'close' and exit events. So while a relayed reply is pending, the
  // exit status and the close wait for it: the mux client sees the reply first, as the server sent it.
  let pending = 0;
  const waiting: Array<() => void> = [];
  const inOrder = (f: () => void): void => {
    if (pending > 0) waiting.push(f);
    else f();
  };
  const settled = (): void => {
    pending--;
    while (pending === 0 && waiting.length > 0) (waiting.shift() as () => void)();
  };
  down.on('request', (ev) => {
    if (REFUSED_REQUESTS.has(ev.type)) {
      ev.reject();
      return;
    }
    pending++;
    up.request(ev.type, ev.data, ev.wantReply)
      .then(
        (ok) => (ok ? ev.accept() : ev.reject()),
        () => ev.reject(),
      )
      .finally(settled);
  });
  up.on('request', (ev) => {
    down.request(ev.type, ev.data, ev.wantReply).then(
      (ok) => (ok ? ev.accept() : ev.reject()),
      () => ev.reject(),
    );
  });
  up.on('exit-status', (code: number) =>
    inOrder(() => {
      if (!down.destroyed) down.sendExitStatus(code);
    }),
  );
  up.on('exit-signal', (s: { signal: string; coreDumped: boolean; message: string }) =>
    inOrder(() => {
      if (!down.destroyed) down.sendExitSignal(s.signal, s.coreDumped, s.message);
    }),
  );
  // The server closed its side: finish what is queued for the mux client, then close there too.
  up.once('close', () =>
    inOrder(() => {
      if (down.destroyed) return;
      if (!down.writableEnded) down.end();
      if (down.writableFinished) down.destroy();
      else down.once('finish', () => down.destroy());
    }),
  );
  // The mux client closed: close the server's channel.
  down.once('close', () => {
    if (!up.destroyed) up.destroy();
  });
}

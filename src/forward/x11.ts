/**
 * X11 forwarding, the client side of `ssh -X` / `ssh -Y` (RFC 4254 §6.3): a session sends `x11-req`
 * with a random fake MIT-MAGIC-COOKIE-1; each `x11` channel the server then opens must begin with an
 * X11 connection setup carrying that fake cookie (checked in constant time), which is replaced by the
 * display's real cookie (from xauth) before the bytes reach the local display. A channel with another
 * cookie is closed; `x11` channels before any x11-req are refused.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import type { Channel, ChannelOpenRequest, Connection } from '../connection/index.js';
import { InvalidArgumentError } from '../errors.js';
import { SshReader, SshWriter } from '../wire/index.js';
import { ChannelDispatcher } from './dispatch.js';
import { connectTarget, type SpliceCounters, splice } from './splice.js';
import {
  encodeX11Setup,
  MAX_X11_AUTH_FIELD,
  MIT_MAGIC_COOKIE,
  parseDisplay,
  parseX11Setup,
  parseXauthList,
  setupHasCookie,
  type X11Display,
} from './x11-setup.js';

export { parseDisplay } from './x11-setup.js';

const debug = debuglog('secsh');

/** The `x11` option of exec, spawn and shell. */
export interface X11Options {
  /** The local display (default `$DISPLAY`): `:0`, `localhost:10.0`, `host:1`. */
  display?: string;
  /**
   * Give the remote clients the display's own cookie (`ssh -Y`). Default false (`ssh -X`): an
   * untrusted cookie is generated with `xauth generate … untrusted`; when that fails (no X server
   * SECURITY extension), no authorization data is sent, as with no cookie at all.
   */
  trusted?: boolean;
  /** Screen number sent in x11-req (default: the display's `.screen`, else 0). */
  screen?: number;
  /** Forward only the first X11 connection (default false). */
  singleConnection?: boolean;
  /** The xauth program (default `xauth` on PATH). */
  xauthPath?: string;
}

/** Counters of the X11 channels of one connection. */
export interface X11Stats extends SpliceCounters {
  /** X11 channels accepted. */
  accepted: number;
  /** Relays open now (from the accept until both sides close). */
  open: number;
  /** Channels closed for a wrong cookie, a bad setup, or an unreachable display. */
  failed: number;
}

/** One x11-req: its fake cookie and what replaces it. */
interface Grant {
  fake: Buffer;
  /** The real authorization (undefined: none is sent). */
  real: { name: Buffer; data: Buffer } | undefined;
  display: X11Display;
  singleConnection: boolean;
  used: boolean;
  /** Untrusted cookies expire (xauth's timeout): x11 channels after this time (ms) are refused, as ssh does. */
  expires: number;
}

interface X11State {
  grants: Grant[];
  stats: X11Stats;
}

const states = new WeakMap<Connection, X11State>();
/** How long an x11 channel may take to send its setup (ms). */
const SETUP_TIMEOUT_MS = 30_000;
const MAX_GRANTS = 64;
/** Lifetime of a generated untrusted cookie (s), ssh's ForwardX11Timeout default. */
const UNTRUSTED_TIMEOUT_S = 1200;

/** Counters of the X11 relays of `connection` (undefined before any x11-req). */
export function x11Stats(connection: Connection): Readonly<X11Stats> | undefined {
  return states.get(connection)?.stats;
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000, maxBuffer: 64 * 1024 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(String(stdout));
    });
  });
}

/** The real cookie for a display: `xauth list` (trusted) or a generated untrusted one. */
async function realCookie(d: X11Display, opts: X11Options, warn: (m: string) => void): Promise<Buffer | undefined> {
  const xauth = opts.xauthPath ?? 'xauth';
  let cookie: Buffer | undefined;
  let why = opts.trusted ? 'none listed for the display' : 'untrusted cookie not generated';
  try {
    if (opts.trusted) cookie = parseXauthList(await run(xauth, ['list', d.xauthName]));
    else {
      const dir = await mkdtemp(join(tmpdir(), 'secsh-xauth-'));
      try {
        const file = join(dir, 'xauthfile');
        await run(xauth, [
          '-f',
          file,
          'generate',
          d.xauthName,
          MIT_MAGIC_COOKIE,
          'untrusted',
          'timeout',
          String(UNTRUSTED_TIMEOUT_S),
        ]);
        cookie = parseXauthList(await run(xauth, ['-f', file, 'list', d.xauthName]));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  } catch (e) {
    // The reason without the command line (it names a temporary path).
    const err = e as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
    why = `${why}: ${err.code === 'ENOENT' ? `${xauth} not found` : err.killed ? 'xauth timed out' : `xauth failed (${err.code ?? 'error'})`}`;
  }
  if (!cookie) warn(`secsh: no xauth data for the X11 display (${why}); X11 connections go without authorization`);
  return cookie;
}

/** A grant still takes connections: not a used single-connection one, not past its timeout. */
function usable(g: Grant): boolean {
  return !(g.singleConnection && g.used) && Date.now() < g.expires;
}

/** Decodes an `x11` open: originator address and port. */
export function decodeX11Open(data: Buffer): { originHost: string; originPort: number } {
  const r = new SshReader(data);
  const originHost = r.string(1024).toString('utf8');
  const originPort = r.uint32();
  r.ensureEnd('x11 open');
  return { originHost, originPort };
}

/**
 * Reads the setup prefix from `ch`, finds the grant whose fake cookie it carries and relays the
 * channel, with the real cookie, to that grant's display.
 */
function relay(ch: Channel, state: X11State): void {
  const stats = state.stats;
  // Open from the accept until both sides have closed; every path below releases it once.
  stats.open++;
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const cleanup = () => {
    clearTimeout(timer);
    ch.off('data', onData);
    ch.off('end', onEnd);
    ch.off('close', onEnd);
  };
  const fail = (why: string) => {
    if (settled) return;
    settled = true;
    cleanup();
    stats.open--;
    stats.failed++;
    debug('forward: x11 channel closed: %s', why);
    ch.destroy();
  };
  const timer = setTimeout(() => fail('no X11 setup in time'), SETUP_TIMEOUT_MS);
  timer.unref();
  const onEnd = () => fail('channel ended before the X11 setup');
  const onData = (c: Buffer) => {
    chunks.push(c);
    size += c.length;
    const buf = chunks.length === 1 ? c : Buffer.concat(chunks, size);
    const setup = parseX11Setup(buf);
    if (setup === 'short') {
      if (size > 12 + 2 * MAX_X11_AUTH_FIELD) fail('X11 setup too long');
      return;
    }
    if (setup === 'bad') return fail('malformed X11 setup');
    const grant = state.grants.find((g) => usable(g) && setupHasCookie(setup, g.fake));
    if (!grant) return fail('X11 setup with a wrong authentication cookie');
    settled = true;
    cleanup();
    ch.pause();
    grant.used = true;
    const head = Buffer.concat([
      encodeX11Setup({
        ...setup,
        authName: grant.real ? grant.real.name : Buffer.alloc(0),
        authData: grant.real ? grant.real.data : Buffer.alloc(0),
      }),
      buf.subarray(setup.length),
    ]);
    connectTarget(grant.display.target).then(
      (sock) => {
        void splice(ch, sock, stats, head).done.then(() => {
          stats.open--;
        });
      },
      (e: Error) => {
        stats.open--;
        stats.failed++;
        debug('forward: x11 display unreachable: %s', e.message);
        ch.destroy();
      },
    );
  };
  ch.on('error', () => {});
  ch.on('data', onData);
  ch.once('end', onEnd);
  ch.once('close', onEnd);
}

function accept(req: ChannelOpenRequest, state: X11State): boolean {
  try {
    decodeX11Open(req.data);
  } catch {
    return false;
  }
  if (!state.grants.some(usable)) return false;
  let ch: Channel;
  try {
    ch = req.accept();
  } catch {
    return true;
  }
  state.stats.accepted++;
  relay(ch, state);
  return true;
}

/**
 * Prepares X11 forwarding for the session `channel` (the display's real cookie looked up first) and
 * sends `x11-req` (want_reply). Resolves true when the server accepted.
 */
export async function requestX11Forwarding(
  connection: Connection,
  channel: Channel,
  opts: X11Options,
  env: NodeJS.ProcessEnv,
  warn: (m: string) => void,
): Promise<boolean> {
  if (!opts || typeof opts !== 'object') throw new InvalidArgumentError('x11 must be true or an options object');
  const display = parseDisplay(opts.display ?? env.DISPLAY ?? '');
  const screen = opts.screen ?? display.screen;
  if (!Number.isInteger(screen) || screen < 0 || screen > 65535)
    throw new InvalidArgumentError('x11 screen must be an integer 0-65535');
  const real = await realCookie(display, opts, warn);
  const fake = randomBytes(16);
  let state = states.get(connection);
  if (!state) {
    const s: X11State = { grants: [], stats: { accepted: 0, open: 0, failed: 0, bytesOut: 0, bytesIn: 0 } };
    state = s;
    states.set(connection, s);
    ChannelDispatcher.for(connection).on('x11', (req) => accept(req, s));
  }
  if (state.grants.length >= MAX_GRANTS) state.grants.shift();
  state.grants.push({
    fake,
    real: real ? { name: Buffer.from(MIT_MAGIC_COOKIE, 'latin1'), data: real } : undefined,
    display,
    singleConnection: opts.singleConnection === true,
    used: false,
    expires: opts.trusted || !real ? Number.POSITIVE_INFINITY : Date.now() + UNTRUSTED_TIMEOUT_S * 1000,
  });
  const data = new SshWriter()
    .bool(opts.singleConnection === true)
    .string(MIT_MAGIC_COOKIE)
    .string(fake.toString('hex'))
    .uint32(screen)
    .toBuffer();
  return channel.request('x11-req', data, true);
}

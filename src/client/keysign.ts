/**
 * Hostbased signatures from OpenSSH's setuid `ssh-keysign`, as `ssh` gets them: the helper reads the
 * host's private keys (root-only) and signs a hostbased request for the user running it, after
 * checking the request names the local name of the connection's socket and that user.
 *
 * Its protocol (OpenSSH sshconnect2.c ssh_keysign, msg.c): the socket is its fd 3; on stdin
 * `uint32 length, byte version (2), uint32 fd, string data`; on stdout `uint32 length, byte version,
 * string signature`; exit status 0.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { lookupService } from 'node:dns/promises';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { AuthError } from '../errors.js';
import type { PublicKey, Signer } from '../keys/index.js';
import type { SignatureAlgorithm } from '../keys/types.js';
import { SshReader, SshWriter } from '../wire/index.js';

/** Where Debian, Ubuntu and Fedora install ssh-keysign (ssh's compiled-in path there). */
export const DEFAULT_KEYSIGN_PATH = '/usr/lib/openssh/ssh-keysign';

/** The public halves of the host keys ssh offers for hostbased, in ssh's order of preference here. */
export const HOST_PUBLIC_KEY_FILES: readonly string[] = [
  '/etc/ssh/ssh_host_ed25519_key.pub',
  '/etc/ssh/ssh_host_ecdsa_key.pub',
  '/etc/ssh/ssh_host_rsa_key.pub',
];

const VERSION = 2;
/** The fd the socket gets in ssh-keysign (stdin, stdout, stderr, then the socket). */
const SOCKET_FD = 3;
const MAX_REPLY = 64 * 1024;
const MAX_SIGNATURE = 16 * 1024;
const MAX_STDERR = 4096;
/** Longest piece of ssh-keysign's stderr quoted in an error. */
const MAX_SAID = 200;
const TIMEOUT_MS = 30_000;

/**
 * The host name ssh-keysign expects in a request over `socket`: the name of its local address
 * (getnameinfo with NI_NAMEREQD, as OpenSSH's get_local_name), or `fallback` (the host name) when it
 * has none.
 */
export async function keysignHostname(socket: Socket, fallback: string): Promise<string> {
  const address = socket.localAddress;
  if (!address) return fallback;
  try {
    return (await lookupService(address, socket.localPort ?? 0)).hostname;
  } catch {
    return fallback;
  }
}

/** A {@link Signer} whose signatures ssh-keysign makes with the host key `publicKey`, for requests over `socket`. */
export class KeysignSigner implements Signer {
  readonly publicKey: PublicKey;
  readonly #socket: Socket;
  readonly #path: string;

  constructor(publicKey: PublicKey, socket: Socket, path: string = DEFAULT_KEYSIGN_PATH) {
    this.publicKey = publicKey;
    this.#socket = socket;
    this.#path = path;
  }

  /**
   * Signs `data` (string session id || the hostbased USERAUTH_REQUEST); ssh-keysign takes the
   * algorithm from the request itself. Rejects with {@link AuthError} naming what ssh-keysign said
   * when it refuses, fails or does not answer within 30 s, or why it could not be started (with the
   * error as `cause`; the auth layer then skips hostbased).
   */
  sign(data: Uint8Array, _algorithm: SignatureAlgorithm): Promise<Buffer> {
    const request = new SshWriter(data.length + 16)
      .uint32(1 + 4 + 4 + data.length)
      .byte(VERSION)
      .uint32(SOCKET_FD)
      .string(data)
      .toBuffer();
    return new Promise<Buffer>((resolve, reject) => {
      // The socket is fd 3 in the child; stdin, stdout and stderr are pipes. It goes by its fd number:
      // given as the Socket, node would stop reading it here for good (it expects the child to read).
      const fd = socketFd(this.#socket);
      if (fd === undefined)
        return reject(new AuthError('ssh-keysign: the connection has no socket descriptor to pass'));
      let child: ChildProcessByStdio<Writable, Readable, Readable>;
      try {
        // Some failures (ENOTDIR, a bad path or descriptor) are thrown here rather than emitted.
        child = spawn(this.#path, [], { stdio: ['pipe', 'pipe', 'pipe', fd] }) as ChildProcessByStdio<
          Writable,
          Readable,
          Readable
        >;
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        return reject(new AuthError(`ssh-keysign: cannot be started: ${err.message}`, [], { cause: err }));
      }
      const out: Buffer[] = [];
      let outLength = 0;
      let err = '';
      let settled = false;
      const done = () => {
        settled = true;
        clearTimeout(timer);
        this.#socket.off('close', gone);
      };
      const fail = (why: string, cause?: unknown) => {
        if (settled) return;
        done();
        child.kill('SIGKILL');
        reject(new AuthError(`ssh-keysign: ${why}`, [], cause === undefined ? undefined : { cause }));
      };
      const timer = setTimeout(() => fail('no answer'), TIMEOUT_MS);
      // It holds a copy of the socket: once the connection is gone (closed, timed out) it must not keep it open.
      const gone = () => fail('the connection closed');
      this.#socket.once('close', gone);
      child.once('error', (e) => fail(e.message, e));
      child.stdin.on('error', () => {}); // it may exit before reading: the exit says why
      child.stdout.on('data', (c: Buffer) => {
        outLength += c.length;
        if (outLength > MAX_REPLY) fail('reply too long');
        else out.push(c);
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (s: string) => {
        if (err.length < MAX_STDERR) err += s.slice(0, MAX_STDERR - err.length);
      });
      child.once('close', (code, signal) => {
        if (settled) return;
        const said = lastLine(err);
        if (code !== 0) return fail(said || `exited with ${signal ?? `status ${code}`}`);
        try {
          const sig = parseReply(Buffer.concat(out));
          done();
          resolve(sig);
        } catch (e) {
          fail(e instanceof Error ? e.message : String(e), e);
        }
      });
      child.stdin.end(request);
    });
  }
}

/** The last line of what ssh-keysign wrote to stderr, short and with control characters shown as `?`. */
function lastLine(err: string): string {
  const line = err.trim().split('\n').at(-1) ?? '';
  const shown = line.replace(/\p{Cc}/gu, '?');
  return shown.length > MAX_SAID ? `${shown.slice(0, MAX_SAID)}…` : shown;
}

/** The file descriptor of a TCP socket (POSIX), or undefined. */
function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** The signature in ssh-keysign's reply (`uint32 length, byte version, string signature`). */
function parseReply(reply: Buffer): Buffer {
  const r = new SshReader(reply);
  const length = r.uint32();
  if (length !== reply.length - 4) throw new Error(`reply of ${reply.length} bytes announces ${length}`);
  if (r.byte() !== VERSION) throw new Error('reply of another protocol version');
  const sig = Buffer.from(r.string(MAX_SIGNATURE));
  r.ensureEnd('ssh-keysign reply');
  return sig;
}

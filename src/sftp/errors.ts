/**
 * SftpError: an SFTP status other than OK, with a Node-style code and the path involved.
 */
import { SshError } from '../errors.js';
import { FX } from './constants.js';

const NODE_CODES: Record<number, string> = {
  [FX.EOF]: 'EOF',
  [FX.NO_SUCH_FILE]: 'ENOENT',
  [FX.PERMISSION_DENIED]: 'EACCES',
  [FX.FAILURE]: 'EIO',
  [FX.BAD_MESSAGE]: 'EBADMSG',
  [FX.NO_CONNECTION]: 'ENOTCONN',
  [FX.CONNECTION_LOST]: 'ECONNRESET',
  [FX.OP_UNSUPPORTED]: 'ENOSYS',
};

/** Maps an SFTP status code to a Node-style error code. */
export function statusToNodeCode(status: number): string {
  return NODE_CODES[status] ?? 'EIO';
}

/** Maps a Node error code (from `fs`) to the closest SFTP v3 status. */
export function nodeCodeToStatus(code: string | undefined): number {
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ELOOP':
      return FX.NO_SUCH_FILE;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return FX.PERMISSION_DENIED;
    case 'ENOSYS':
    case 'ENOTSUP':
    case 'EOPNOTSUPP':
      return FX.OP_UNSUPPORTED;
    case 'EBADMSG':
    case 'EINVAL':
      return FX.BAD_MESSAGE;
    case 'EOF':
      return FX.EOF;
    default:
      return FX.FAILURE;
  }
}

/** An SFTP request failed: carries the SFTP `status`, a Node-style `nodeCode` and the `path`. */
export class SftpError extends SshError {
  /** SSH_FX_* status from the server (or FX.CONNECTION_LOST / FX.NO_CONNECTION when the channel failed). */
  readonly status: number;
  /** Node-style code: ENOENT, EACCES, EIO, ENOSYS, … */
  readonly nodeCode: string;
  /** The path (or paths, joined with ' -> ') the request was about, when there was one. */
  readonly path: string | undefined;
  /** The server's message text. */
  readonly serverMessage: string;
  constructor(status: number, serverMessage: string, path?: string, errno?: string, options?: ErrorOptions) {
    const e = errno ?? statusToNodeCode(status);
    super(
      `${e}: ${serverMessage || 'SFTP request failed'}${path !== undefined ? `, ${path}` : ''}`,
      'ERR_SSH_SFTP',
      undefined,
      options,
    );
    this.status = status;
    this.nodeCode = e;
    this.path = path;
    this.serverMessage = serverMessage;
  }
}

/**
 * SFTP version 3 constants (draft-ietf-secsh-filexfer-02) and the OpenSSH extension names.
 */

/** Packet types. */
export const FXP = {
  /** SSH_FXP_INIT: the client's first packet, with its version (3). */
  INIT: 1,
  /** SSH_FXP_VERSION: the server's reply to INIT, with its version and extensions. */
  VERSION: 2,
  /** SSH_FXP_OPEN: open a file (path, SSH_FXF_* flags, attributes); answered by HANDLE. */
  OPEN: 3,
  /** SSH_FXP_CLOSE: close a file or directory handle. */
  CLOSE: 4,
  /** SSH_FXP_READ: read up to a length at an offset; answered by DATA or an EOF status. */
  READ: 5,
  /** SSH_FXP_WRITE: write bytes at an offset. */
  WRITE: 6,
  /** SSH_FXP_LSTAT: attributes of a path, not following a final symlink. */
  LSTAT: 7,
  /** SSH_FXP_FSTAT: attributes of an open handle. */
  FSTAT: 8,
  /** SSH_FXP_SETSTAT: change the attributes of a path. */
  SETSTAT: 9,
  /** SSH_FXP_FSETSTAT: change the attributes of an open handle. */
  FSETSTAT: 10,
  /** SSH_FXP_OPENDIR: open a directory for listing. */
  OPENDIR: 11,
  /** SSH_FXP_READDIR: the next batch of names from a directory handle. */
  READDIR: 12,
  /** SSH_FXP_REMOVE: remove a file. */
  REMOVE: 13,
  /** SSH_FXP_MKDIR: create a directory. */
  MKDIR: 14,
  /** SSH_FXP_RMDIR: remove an empty directory. */
  RMDIR: 15,
  /** SSH_FXP_REALPATH: canonicalise a path on the server. */
  REALPATH: 16,
  /** SSH_FXP_STAT: attributes of a path, following symlinks. */
  STAT: 17,
  /** SSH_FXP_RENAME: rename a path (fails if the target exists, in v3). */
  RENAME: 18,
  /** SSH_FXP_READLINK: the target of a symlink. */
  READLINK: 19,
  /** SSH_FXP_SYMLINK: create a symlink (argument order differs between servers; see {@link SymlinkOrder}). */
  SYMLINK: 20,
  /** SSH_FXP_STATUS: a reply with an SSH_FX_* code and a message. */
  STATUS: 101,
  /** SSH_FXP_HANDLE: a reply carrying an opaque handle. */
  HANDLE: 102,
  /** SSH_FXP_DATA: a reply carrying bytes read. */
  DATA: 103,
  /** SSH_FXP_NAME: a reply carrying names with attributes. */
  NAME: 104,
  /** SSH_FXP_ATTRS: a reply carrying attributes. */
  ATTRS: 105,
  /** SSH_FXP_EXTENDED: a request named by an extension string (see {@link EXT}). */
  EXTENDED: 200,
  /** SSH_FXP_EXTENDED_REPLY: an extension-specific reply. */
  EXTENDED_REPLY: 201,
} as const;

/** SSH_FX_* status codes. */
export const FX = {
  /** SSH_FX_OK: success. */
  OK: 0,
  /** SSH_FX_EOF: end of file, or no more directory entries. */
  EOF: 1,
  /** SSH_FX_NO_SUCH_FILE: the path does not exist (ENOENT). */
  NO_SUCH_FILE: 2,
  /** SSH_FX_PERMISSION_DENIED: not allowed (EACCES/EPERM). */
  PERMISSION_DENIED: 3,
  /** SSH_FX_FAILURE: any other failure (OpenSSH also uses it for EEXIST and ENOTEMPTY). */
  FAILURE: 4,
  /** SSH_FX_BAD_MESSAGE: the request was malformed. */
  BAD_MESSAGE: 5,
  /** SSH_FX_NO_CONNECTION: no connection to the server (client-side only). */
  NO_CONNECTION: 6,
  /** SSH_FX_CONNECTION_LOST: the connection was lost (client-side only). */
  CONNECTION_LOST: 7,
  /** SSH_FX_OP_UNSUPPORTED: the server does not implement the operation. */
  OP_UNSUPPORTED: 8,
} as const;

/** SSH_FILEXFER_ATTR_* flags. */
export const ATTR = {
  SIZE: 0x1,
  UIDGID: 0x2,
  PERMISSIONS: 0x4,
  ACMODTIME: 0x8,
  EXTENDED: 0x80000000,
} as const;

/** SSH_FXF_* open flags. */
export const FXF = {
  /** SSH_FXF_READ: open for reading. */
  READ: 0x1,
  /** SSH_FXF_WRITE: open for writing. */
  WRITE: 0x2,
  /** SSH_FXF_APPEND: every write goes to the end of the file. */
  APPEND: 0x4,
  /** SSH_FXF_CREAT: create the file if it does not exist. */
  CREAT: 0x8,
  /** SSH_FXF_TRUNC: truncate an existing file to 0 bytes (needs CREAT). */
  TRUNC: 0x10,
  /** SSH_FXF_EXCL: fail if the file exists (needs CREAT). */
  EXCL: 0x20,
} as const;

/** OpenSSH extension names (PROTOCOL, §4). */
export const EXT = {
  /** Rename that replaces an existing target, as `rename(2)`. */
  POSIX_RENAME: 'posix-rename@openssh.com',
  /** `statvfs(2)` of a path. */
  STATVFS: 'statvfs@openssh.com',
  /** `fstatvfs(2)` of an open handle. */
  FSTATVFS: 'fstatvfs@openssh.com',
  /** `link(2)`: create a hard link. */
  HARDLINK: 'hardlink@openssh.com',
  /** `fsync(2)` of an open handle. */
  FSYNC: 'fsync@openssh.com',
  /** SETSTAT that does not follow a final symlink. */
  LSETSTAT: 'lsetstat@openssh.com',
  /** The server's packet, read, write and open-handle limits. */
  LIMITS: 'limits@openssh.com',
  /** REALPATH that also expands a leading `~` or `~user`. */
  EXPAND_PATH: 'expand-path@openssh.com',
  /** Copy bytes between two open handles on the server. */
  COPY_DATA: 'copy-data',
  /** A user's home directory. */
  HOME_DIRECTORY: 'home-directory',
  /** User and group names for numeric ids. */
  USERS_GROUPS_BY_ID: 'users-groups-by-id@openssh.com',
} as const;

/** The protocol version this implementation speaks. */
export const SFTP_VERSION = 3;
/** Largest SFTP packet (length field value) accepted or sent: 256 KiB, as OpenSSH. */
export const MAX_PACKET = 256 * 1024;
/** Largest READ length this implementation asks for or serves (255 KiB, leaving room for the header). */
export const MAX_READ = MAX_PACKET - 1024;

/**
 * The order of SSH_FXP_SYMLINK's two paths. OpenSSH (and so nearly every server and client) sends the
 * target first, the reverse of the draft; AsyncSSH follows the draft (link path first) with any peer
 * whose version line contains neither `OpenSSH` nor `paramiko` (secsh's own, unless configured so).
 */
export type SymlinkOrder = 'target-first' | 'link-first';

/**
 * The SYMLINK order to use with a peer whose SSH version line is `version`, when ours is `ourVersion`
 * (AsyncSSH looks at our line: one naming OpenSSH or paramiko gets OpenSSH's order from it).
 */
export function symlinkOrderFor(version: string | undefined, ourVersion?: string): SymlinkOrder {
  if (version === undefined || !/^SSH-2\.0-AsyncSSH_/i.test(version)) return 'target-first';
  return ourVersion !== undefined && /OpenSSH|paramiko/.test(ourVersion) ? 'target-first' : 'link-first';
}
/** Largest handle string (the draft says at most 256 bytes). */
export const MAX_HANDLE = 256;
/** Most names in one SSH_FXP_NAME reply that is accepted. */
export const MAX_NAMES = 16384;
/** Most extension pairs in a VERSION packet or attrs. */
export const MAX_EXTENSIONS = 256;

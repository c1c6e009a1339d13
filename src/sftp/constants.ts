/**
 * SFTP version 3 constants (draft-ietf-secsh-filexfer-02) and the OpenSSH extension names.
 */

/** Packet types. */
export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

/** SSH_FX_* status codes. */
export const FX = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
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
  READ: 0x1,
  WRITE: 0x2,
  APPEND: 0x4,
  CREAT: 0x8,
  TRUNC: 0x10,
  EXCL: 0x20,
} as const;

/** OpenSSH extension names (PROTOCOL, §4). */
export const EXT = {
  POSIX_RENAME: 'posix-rename@openssh.com',
  STATVFS: 'statvfs@openssh.com',
  FSTATVFS: 'fstatvfs@openssh.com',
  HARDLINK: 'hardlink@openssh.com',
  FSYNC: 'fsync@openssh.com',
  LSETSTAT: 'lsetstat@openssh.com',
  LIMITS: 'limits@openssh.com',
  EXPAND_PATH: 'expand-path@openssh.com',
  COPY_DATA: 'copy-data',
  HOME_DIRECTORY: 'home-directory',
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

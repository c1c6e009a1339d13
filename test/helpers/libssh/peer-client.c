/*
 * A small SSH client on libssh for secsh's interop tests (built by test/helpers/libssh.ts).
 * Connects, checks the host key's SHA256 fingerprint against -f, logs in by key (-i) or password
 * (-w), then runs `command` with stdin/stdout/stderr joined to the channel and exits with its exit
 * status; or, with -U/-D, uploads/downloads one file over SFTP.
 *
 * peer-client -p port -l user -f SHA256:fp[,SHA256:fp...] (-i key | -w password) [-x kex]
 *             [-H hostkey-algs] [-c ciphers] [-m macs] [-z compression] [-r rekey-bytes]
 *             (command | -U local:remote | -D remote:local)
 * Prints "ALGS <kex> <cipher-out> <mac-out>" on stderr after the key exchange.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>

static int fail(ssh_session s, const char *what) {
  fprintf(stderr, "peer-client: %s: %s\n", what, ssh_get_error(s));
  return 2;
}

static int host_ok(ssh_session s, const char *allowed) {
  ssh_key k = NULL;
  unsigned char *hash = NULL;
  size_t hlen = 0;
  if (ssh_get_server_publickey(s, &k) != SSH_OK) return 0;
  int r = ssh_get_publickey_hash(k, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen);
  ssh_key_free(k);
  if (r != 0) return 0;
  char *fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
  ssh_clean_pubkey_hash(&hash);
  int ok = fp && strstr(allowed, fp) != NULL;
  if (!ok) fprintf(stderr, "peer-client: host key %s not in %s\n", fp ? fp : "?", allowed);
  free(fp);
  return ok;
}

/* Copies a local file to the server (-U) or a remote file here (-D) over SFTP. */
static int sftp_copy(ssh_session s, char *spec, int upload) {
  char *colon = strchr(spec, ':'), buf[32768];
  if (!colon) return 2;
  *colon = 0;
  const char *src = spec, *dst = colon + 1;
  sftp_session sf = sftp_new(s);
  if (!sf || sftp_init(sf) != SSH_OK) return fail(s, "sftp");
  sftp_file rf = upload ? sftp_open(sf, dst, O_WRONLY | O_CREAT | O_TRUNC, 0644) : sftp_open(sf, src, O_RDONLY, 0);
  int lf = upload ? open(src, O_RDONLY) : open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!rf || lf < 0) return fail(s, "open");
  for (;;) {
    ssize_t n = upload ? read(lf, buf, sizeof buf) : sftp_read(rf, buf, sizeof buf);
    if (n < 0) return fail(s, "read");
    if (n == 0) break;
    ssize_t w = upload ? sftp_write(rf, buf, (size_t)n) : write(lf, buf, (size_t)n);
    if (w != n) return fail(s, "write");
  }
  close(lf);
  if (sftp_close(rf) != SSH_OK) return fail(s, "close");
  sftp_free(sf);
  return 0;
}

/* Runs `cmd`, pumping stdin to the channel and its output to stdout/stderr; returns its exit status. */
static int exec_cmd(ssh_session s, const char *cmd) {
  ssh_channel ch = ssh_channel_new(s);
  if (!ch || ssh_channel_open_session(ch) != SSH_OK || ssh_channel_request_exec(ch, cmd) != SSH_OK)
    return fail(s, "exec");
  char buf[32768];
  int in_open = 1;
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  while (!ssh_channel_is_closed(ch)) {
    struct pollfd p[2] = {{ssh_get_fd(s), POLLIN, 0}, {0, POLLIN, 0}};
    poll(p, in_open && ssh_channel_window_size(ch) > 0 ? 2 : 1, 20);
    for (int err = 0; err < 2; err++) {
      int n;
      while ((n = ssh_channel_read_nonblocking(ch, buf, sizeof buf, err)) > 0)
        if (write(err ? 2 : 1, buf, (size_t)n) != n) return 2;
      if (n == SSH_ERROR) return fail(s, "read");
    }
    if (ssh_channel_is_eof(ch)) break;
    uint32_t win = ssh_channel_window_size(ch);
    if (in_open && win > 0) {
      ssize_t n = read(0, buf, win < sizeof buf ? win : sizeof buf);
      if (n > 0 && ssh_channel_write(ch, buf, (uint32_t)n) != n) return fail(s, "write");
      if (n == 0 || (n < 0 && errno != EAGAIN)) in_open = 0, ssh_channel_send_eof(ch);
    }
  }
  int status = ssh_channel_get_exit_status(ch);
  ssh_channel_free(ch);
  return status < 0 ? 3 : status;
}

int main(int argc, char **argv) {
  ssh_session s = ssh_new();
  int opt, no = 0, verbosity = SSH_LOG_NOLOG;
  const char *fps = "", *identity = NULL, *password = NULL;
  char *up = NULL, *down = NULL;
  uint64_t rekey = 0;
  ssh_options_set(s, SSH_OPTIONS_HOST, "127.0.0.1");
  ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
  ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
  while ((opt = getopt(argc, argv, "p:l:f:i:w:x:H:c:m:z:r:U:D:")) != -1) {
    switch (opt) {
    case 'p': ssh_options_set(s, SSH_OPTIONS_PORT_STR, optarg); break;
    case 'l': ssh_options_set(s, SSH_OPTIONS_USER, optarg); break;
    case 'f': fps = optarg; break;
    case 'i': identity = optarg; break;
    case 'w': password = optarg; break;
    case 'x': ssh_options_set(s, SSH_OPTIONS_KEY_EXCHANGE, optarg); break;
    case 'H': ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, optarg); break;
    case 'c':
      ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S, optarg);
      ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C, optarg);
      break;
    case 'm':
      ssh_options_set(s, SSH_OPTIONS_HMAC_C_S, optarg);
      ssh_options_set(s, SSH_OPTIONS_HMAC_S_C, optarg);
      break;
    case 'z': ssh_options_set(s, SSH_OPTIONS_COMPRESSION, optarg); break;
    case 'r': rekey = strtoull(optarg, NULL, 10); break;
    case 'U': up = optarg; break;
    case 'D': down = optarg; break;
    default: return fprintf(stderr, "usage: see the comment at the top of peer-client.c\n"), 2;
    }
  }
  if (rekey) ssh_options_set(s, SSH_OPTIONS_REKEY_DATA, &rekey);
  if (ssh_connect(s) != SSH_OK) return fail(s, "connect");
  fprintf(stderr, "ALGS %s %s %s\n", ssh_get_kex_algo(s), ssh_get_cipher_out(s), ssh_get_hmac_out(s));
  if (!host_ok(s, fps)) return 4;
  int auth = SSH_AUTH_DENIED;
  if (identity) {
    ssh_key k = NULL;
    if (ssh_pki_import_privkey_file(identity, NULL, NULL, NULL, &k) != SSH_OK) return fail(s, "key");
    auth = ssh_userauth_publickey(s, NULL, k);
    ssh_key_free(k);
  } else if (password) {
    auth = ssh_userauth_password(s, NULL, password);
  }
  if (auth != SSH_AUTH_SUCCESS) return fail(s, "auth");
  int r = up ? sftp_copy(s, up, 1) : down ? sftp_copy(s, down, 0) : optind < argc ? exec_cmd(s, argv[optind]) : 2;
  ssh_disconnect(s);
  ssh_free(s);
  return r;
}

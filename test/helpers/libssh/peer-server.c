/*
 * A small SSH server on libssh for secsh's interop tests (built by test/helpers/libssh.ts).
 * One user, by password and/or public key; each session runs its exec command (or the sftp
 * subsystem, as /usr/lib/openssh/sftp-server) under /bin/sh with pipes; a process per connection.
 *
 * peer-server -u user [-w password] [-a key.pub]... -k hostkey... [-x kex] [-H hostkey-algs]
 *             [-c ciphers] [-m macs] [-z compression] [-r rekey-bytes]
 * Prints "PORT <n>" once it listens on 127.0.0.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

static const char *user, *password, *compression;
static ssh_key authorized[8];
static int nauth;
static uint64_t rekey;

static int key_allowed(ssh_key k) {
  for (int i = 0; i < nauth; i++)
    if (k && ssh_key_cmp(k, authorized[i], SSH_KEY_CMP_PUBLIC) == 0) return 1;
  return 0;
}

static int authenticate(ssh_session s) {
  ssh_message m;
  while ((m = ssh_message_get(s)) != NULL) {
    if (ssh_message_type(m) == SSH_REQUEST_AUTH) {
      int sub = ssh_message_subtype(m), ok = 0;
      int me = strcmp(ssh_message_auth_user(m), user) == 0;
      if (sub == SSH_AUTH_METHOD_PASSWORD && me && password &&
          strcmp(ssh_message_auth_password(m), password) == 0)
        ok = 1;
      if (sub == SSH_AUTH_METHOD_PUBLICKEY && me && key_allowed(ssh_message_auth_pubkey(m))) {
        int st = ssh_message_auth_publickey_state(m);
        if (st == SSH_PUBLICKEY_STATE_NONE) {
          ssh_message_auth_reply_pk_ok_simple(m);
          ssh_message_free(m);
          continue;
        }
        ok = st == SSH_PUBLICKEY_STATE_VALID;
      }
      if (ok) {
        ssh_message_auth_reply_success(m, 0);
        ssh_message_free(m);
        return 0;
      }
      ssh_message_auth_set_methods(m, SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_PUBLICKEY);
    }
    ssh_message_reply_default(m);
    ssh_message_free(m);
  }
  return -1;
}

/* Copies what `fd` has to the channel; returns -1 at its end (or when the client is gone). */
static int drain(ssh_channel ch, int fd, int err) {
  char buf[32768];
  ssize_t r = read(fd, buf, sizeof buf);
  if (r < 0 && errno == EAGAIN) return 0;
  if (r <= 0) return -1;
  int w = err ? ssh_channel_write_stderr(ch, buf, (uint32_t)r) : ssh_channel_write(ch, buf, (uint32_t)r);
  return w == SSH_ERROR ? -2 : 0;
}

/* Runs `cmd` with its stdin, stdout and stderr joined to the channel; sends its exit status. */
static void run(ssh_session s, ssh_channel ch, const char *cmd) {
  int in[2], out[2], err[2];
  if (pipe(in) || pipe(out) || pipe(err)) return;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0), dup2(out[1], 1), dup2(err[1], 2);
    for (int fd = 3; fd < 256; fd++) close(fd);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(in[0]), close(out[1]), close(err[1]);
  int fds[3] = {in[1], out[0], err[0]};
  for (int i = 0; i < 3; i++) fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
  char pend[32768];
  int plen = 0, poff = 0, gone = 0;
  while (!gone && (fds[1] >= 0 || fds[2] >= 0)) {
    struct pollfd p[4] = {{ssh_get_fd(s), POLLIN, 0}};
    int n = 1;
    for (int i = 1; i < 3; i++)
      if (fds[i] >= 0) p[n++] = (struct pollfd){fds[i], POLLIN, 0};
    if (fds[0] >= 0 && poff < plen) p[n++] = (struct pollfd){fds[0], POLLOUT, 0};
    poll(p, n, 20);
    if (fds[0] >= 0 && poff == plen) {
      int r = ssh_channel_read_nonblocking(ch, pend, sizeof pend, 0);
      if (r > 0) plen = r, poff = 0;
      else if (r == SSH_ERROR) gone = 1;
      else if (ssh_channel_is_eof(ch)) close(fds[0]), fds[0] = -1;
    }
    if (fds[0] >= 0 && poff < plen) {
      ssize_t w = write(fds[0], pend + poff, (size_t)(plen - poff));
      if (w > 0) poff += (int)w;
      else if (w < 0 && errno != EAGAIN) close(fds[0]), fds[0] = -1;
    }
    for (int i = 1; i < 3; i++) {
      int r = fds[i] >= 0 ? drain(ch, fds[i], i == 2) : 0;
      if (r == -2) gone = 1;
      if (r < 0) close(fds[i]), fds[i] = -1;
    }
  }
  for (int i = 0; i < 3; i++)
    if (fds[i] >= 0) close(fds[i]);
  if (gone) kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  if (gone) return;
  ssh_channel_request_send_exit_status(ch, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  ssh_channel_send_eof(ch);
  ssh_channel_close(ch);
}

/* Serves session channels one after another until the client disconnects. */
static void serve(ssh_session s) {
  ssh_channel ch = NULL;
  ssh_message m;
  while ((m = ssh_message_get(s)) != NULL) {
    int type = ssh_message_type(m), sub = ssh_message_subtype(m);
    if (!ch && type == SSH_REQUEST_CHANNEL_OPEN && sub == SSH_CHANNEL_SESSION) {
      ch = ssh_message_channel_request_open_reply_accept(m);
    } else if (ch && type == SSH_REQUEST_CHANNEL &&
               (sub == SSH_CHANNEL_REQUEST_EXEC ||
                (sub == SSH_CHANNEL_REQUEST_SUBSYSTEM &&
                 strcmp(ssh_message_channel_request_subsystem(m), "sftp") == 0))) {
      const char *cmd = sub == SSH_CHANNEL_REQUEST_EXEC ? ssh_message_channel_request_command(m)
                                                        : "exec /usr/lib/openssh/sftp-server";
      char *copy = strdup(cmd);
      ssh_message_channel_request_reply_success(m);
      ssh_message_free(m);
      run(s, ch, copy);
      free(copy);
      ssh_channel_free(ch);
      ch = NULL;
      continue;
    } else {
      ssh_message_reply_default(m);
    }
    ssh_message_free(m);
  }
}

int main(int argc, char **argv) {
  ssh_bind b = ssh_bind_new();
  int opt, zero = 0, no = 0;
  ssh_bind_options_set(b, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);
  ssh_bind_options_set(b, SSH_BIND_OPTIONS_BINDADDR, "127.0.0.1");
  ssh_bind_options_set(b, SSH_BIND_OPTIONS_BINDPORT, &zero);
  while ((opt = getopt(argc, argv, "u:w:a:k:x:H:c:m:z:r:")) != -1) {
    switch (opt) {
    case 'u': user = optarg; break;
    case 'w': password = optarg; break;
    case 'a':
      if (nauth < 8 && ssh_pki_import_pubkey_file(optarg, &authorized[nauth]) == SSH_OK) nauth++;
      else return fprintf(stderr, "bad public key %s\n", optarg), 2;
      break;
    case 'k': ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY, optarg); break;
    case 'x': ssh_bind_options_set(b, SSH_BIND_OPTIONS_KEY_EXCHANGE, optarg); break;
    case 'H': ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, optarg); break;
    case 'c':
      ssh_bind_options_set(b, SSH_BIND_OPTIONS_CIPHERS_C_S, optarg);
      ssh_bind_options_set(b, SSH_BIND_OPTIONS_CIPHERS_S_C, optarg);
      break;
    case 'm':
      ssh_bind_options_set(b, SSH_BIND_OPTIONS_HMAC_C_S, optarg);
      ssh_bind_options_set(b, SSH_BIND_OPTIONS_HMAC_S_C, optarg);
      break;
    case 'z': compression = optarg; break;
    case 'r': rekey = strtoull(optarg, NULL, 10); break;
    default: return fprintf(stderr, "usage: see the comment at the top of peer-server.c\n"), 2;
    }
  }
  if (!user || ssh_bind_listen(b) != SSH_OK) return fprintf(stderr, "listen: %s\n", ssh_get_error(b)), 1;
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  getsockname(ssh_bind_get_fd(b), (struct sockaddr *)&a, &alen);
  printf("PORT %d\n", ntohs(a.sin_port));
  fflush(stdout);
  signal(SIGCHLD, SIG_IGN);
  for (;;) {
    ssh_session s = ssh_new();
    if (ssh_bind_accept(b, s) != SSH_OK) {
      ssh_free(s);
      continue;
    }
    if (fork() == 0) {
      signal(SIGCHLD, SIG_DFL);
      ssh_bind_free(b);
      if (compression) ssh_options_set(s, SSH_OPTIONS_COMPRESSION, compression);
      if (rekey) ssh_options_set(s, SSH_OPTIONS_REKEY_DATA, &rekey);
      if (ssh_handle_key_exchange(s) == SSH_OK && authenticate(s) == 0) serve(s);
      ssh_disconnect(s);
      ssh_free(s);
      _exit(0);
    }
    ssh_free(s);
  }
}

/*
 * vsock-echo: both ends of the end-to-end vsock check, one static binary.
 *   vsock-echo listen PORT              (in the guest) accept AF_VSOCK connections on PORT and
 *                                        echo what arrives, one connection at a time
 *   vsock-echo listen-once PORT         (in the guest) accept one connection, echo one line back
 *                                        and print it
 *   vsock-echo connect CID PORT MESSAGE (in the guest) connect to CID:PORT, send MESSAGE and a
 *                                        newline, print the line that comes back
 *   vsock-echo uds-connect PATH PORT MESSAGE
 *                                       (on the host) the hybrid-vsock handshake: connect to
 *                                        the Unix socket PATH, send "CONNECT PORT\n", expect
 *                                        "OK ...\n", then send MESSAGE and print the echo
 *   vsock-echo uds-hold PATH PORT MESSAGE
 *                                       (on the host) as uds-connect, then keeps the connection
 *                                        open until the other end closes it, and says so
 *   vsock-echo uds-listen PATH          (on the host) accept on the Unix socket PATH (where
 *                                        ember forwards guest connections) and echo
 * Exit status 0 on success; messages on stderr otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static int fail(const char* what) {
  fprintf(stderr, "vsock-echo: %s: %s\n", what, strerror(errno));
  return 1;
}

static int write_all(int fd, const char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Reads up to and including '\n' (or len-1 bytes); returns the length, -1 on error/EOF. */
static ssize_t read_line(int fd, char* buf, size_t len) {
  size_t got = 0;
  while (got + 1 < len) {
    ssize_t n = read(fd, buf + got, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return got > 0 ? (ssize_t)got : -1;
    got++;
    if (buf[got - 1] == '\n') break;
  }
  buf[got] = 0;
  return (ssize_t)got;
}

static void echo(int c) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(c, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || write_all(c, buf, (size_t)n) != 0) break;
  }
  close(c);
}

static int serve(int s) {
  if (listen(s, 16) != 0) return fail("listen");
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR) continue;
      return fail("accept");
    }
    echo(c);
  }
}

static int exchange(int s, const char* message) {
  char line[4096];
  snprintf(line, sizeof line, "%s\n", message);
  if (write_all(s, line, strlen(line)) != 0) return fail("write");
  if (read_line(s, line, sizeof line) < 0) return fail("read echo");
  printf("%s", line);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 3 && (strcmp(argv[1], "listen") == 0 || strcmp(argv[1], "listen-once") == 0)) {
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0) return fail("socket(AF_VSOCK)");
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = (unsigned)atoi(argv[2]), .svm_cid = VMADDR_CID_ANY};
    if (bind(s, (struct sockaddr*)&a, sizeof a) != 0) return fail("bind");
    if (strcmp(argv[1], "listen") == 0) return serve(s);
    if (listen(s, 1) != 0) return fail("listen");
    int c = accept(s, NULL, NULL);
    if (c < 0) return fail("accept");
    char line[4096];
    if (read_line(c, line, sizeof line) < 0) return fail("read");
    if (write_all(c, line, strlen(line)) != 0) return fail("write");
    printf("%s", line);
    close(c);
    return 0;
  }
  if (argc == 5 && strcmp(argv[1], "connect") == 0) {
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0) return fail("socket(AF_VSOCK)");
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = (unsigned)atoi(argv[3]), .svm_cid = (unsigned)atoi(argv[2])};
    if (connect(s, (struct sockaddr*)&a, sizeof a) != 0) return fail("connect");
    return exchange(s, argv[4]);
  }
  const int hold = argc == 5 && strcmp(argv[1], "uds-hold") == 0;
  if ((argc == 5 && strcmp(argv[1], "uds-connect") == 0) || hold || (argc == 3 && strcmp(argv[1], "uds-listen") == 0)) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) return fail("socket(AF_UNIX)");
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(argv[2]) >= sizeof a.sun_path) {
      fprintf(stderr, "vsock-echo: path too long\n");
      return 1;
    }
    strcpy(a.sun_path, argv[2]);
    if (argc == 3) {
      unlink(argv[2]);
      if (bind(s, (struct sockaddr*)&a, sizeof a) != 0) return fail("bind");
      return serve(s);
    }
    if (connect(s, (struct sockaddr*)&a, sizeof a) != 0) return fail("connect");
    char line[256];
    snprintf(line, sizeof line, "CONNECT %s\n", argv[3]);
    if (write_all(s, line, strlen(line)) != 0) return fail("write CONNECT");
    line[0] = '\0';  /* a connection closed before any answer must not show the command as one */
    if (read_line(s, line, sizeof line) < 0 || strncmp(line, "OK ", 3) != 0) {
      fprintf(stderr, "vsock-echo: no OK after CONNECT (got '%s')\n", line);
      return 1;
    }
    if (exchange(s, argv[4]) != 0) return 1;
    if (!hold) return 0;
    fflush(stdout);
    /* Held until the other end goes: ember closing it (the VMM ended, or a transport reset). */
    char buf[256];
    for (;;) {
      ssize_t n = read(s, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
    }
    printf("held connection closed\n");
    return 0;
  }
  fprintf(stderr, "usage: vsock-echo listen|listen-once PORT | connect CID PORT MSG | uds-connect|uds-hold PATH PORT MSG | uds-listen PATH\n");
  return 2;
}

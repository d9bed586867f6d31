/*
 * e2e-bench: the measuring ends of benchmarks/device_bench.py, one static binary used in the
 * guest and on the host side (L1). Busybox has no fio and its nc copies through a small buffer,
 * which would measure the guest's CPU rather than the device.
 *
 *   e2e-bench seqread PATH MIB         read MIB MiB from the start of PATH with O_DIRECT, 1 MiB
 *                                      requests
 *   e2e-bench seqwrite PATH MIB        write MIB MiB of a fixed pattern the same way, then fsync
 *   e2e-bench randread PATH SECONDS    4 KiB O_DIRECT preads at random 4 KiB-aligned offsets
 *                                      over the whole of PATH, one at a time, for SECONDS
 *   e2e-bench send ENDPOINT MIB        connect (retrying for up to 120 s until the other end
 *                                      listens, at most once a second), write MIB MiB, shut the
 *                                      sending side and wait for the peer to close
 *   e2e-bench recv ENDPOINT            listen, accept one connection and read it to its end
 *
 * ENDPOINT, connecting:  tcp:IPV4:PORT | vsock:CID:PORT | hvsock:UDS_PATH:PORT (a Firecracker-
 *                        style hybrid vsock: connect to the Unix socket, "CONNECT PORT\n",
 *                        expect "OK ...\n")
 * ENDPOINT, listening:   tcp-listen:PORT | vsock-listen:PORT | unix-listen:PATH
 * send and recv each take either kind: who listens and who sends are independent.
 *
 * Prints one line on success, e.g.
 *   seqread bytes 33554432 seconds 0.412 mib_per_s 77.67
 *   randread ops 9012 seconds 5.000 iops 1802.4
 *   recv bytes 33554432 seconds 1.203 mib_per_s 26.60
 * (recv's clock starts at the first byte received: connection set-up is not counted.)
 * Exit status 0 on success; a message on stderr and status 1 otherwise, 2 for bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { BLOCK = 4096, SEQ_CHUNK = 1 << 20, NET_CHUNK = 256 << 10, MAX_MIB = 1 << 20 };
static const double CONNECT_RETRY_SECONDS = 120.0;

static int fail(const char* what) {
  fprintf(stderr, "e2e-bench: %s: %s\n", what, strerror(errno));
  return 1;
}

static int usage(void) {
  fprintf(stderr,
          "usage: e2e-bench seqread|seqwrite PATH MIB | randread PATH SECONDS |\n"
          "       send ENDPOINT MIB | recv ENDPOINT\n"
          "  ENDPOINT: tcp:IPV4:PORT vsock:CID:PORT hvsock:UDS:PORT (connect)\n"
          "            tcp-listen:PORT vsock-listen:PORT unix-listen:PATH (listen)\n");
  return 2;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A decimal in [min, max]; -1 when the text is not one. */
static long long parse_count(const char* text, long long min, long long max) {
  char* end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return -1;
  return v;
}

static void* aligned_buffer(size_t size, unsigned char fill) {
  void* p = NULL;
  if (posix_memalign(&p, BLOCK, size) != 0) return NULL;
  memset(p, fill, size);
  return p;
}

/* Size in bytes of a block device or regular file; -1 on error. */
static long long size_of(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -1;
  if (S_ISBLK(st.st_mode)) {
    uint64_t bytes = 0;
    if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) return -1;
    return (long long)bytes;
  }
  return (long long)st.st_size;
}

static void report_rate(const char* what, long long bytes, double seconds) {
  double mib = (double)bytes / (1024.0 * 1024.0);
  printf("%s bytes %lld seconds %.3f mib_per_s %.2f\n", what, bytes, seconds,
         seconds > 0 ? mib / seconds : 0.0);
}

/* Opens PATH with O_DIRECT and an aligned buffer of `buf_size` bytes; on failure says why,
 * returns -1 and holds nothing. `size` gets the size of the file or device. */
static int open_direct(const char* path, int flags, size_t buf_size, unsigned char fill,
                       long long* size, unsigned char** buf) {
  int fd = open(path, flags | O_DIRECT);
  if (fd < 0) {
    fail(path);
    return -1;
  }
  *size = size_of(fd);
  if (*size < 0) {
    fail("size");
    close(fd);
    return -1;
  }
  *buf = aligned_buffer(buf_size, fill);
  if (*buf == NULL) {
    fail("posix_memalign");
    close(fd);
    return -1;
  }
  return fd;
}

/* One whole request at OFFSET (retried on EINTR); 0, or -1 with errno set. */
static int transfer(int fd, unsigned char* buf, size_t len, off_t offset, int writing) {
  for (;;) {
    ssize_t n = writing ? pwrite(fd, buf, len, offset) : pread(fd, buf, len, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n == (ssize_t)len) return 0;
    if (n >= 0) errno = EIO;  /* a short transfer: past the end, or the device gave up */
    return -1;
  }
}

static int seq(const char* path, const char* mib_text, int writing) {
  long long mib = parse_count(mib_text, 1, MAX_MIB);
  if (mib < 0) return usage();
  long long size = 0;
  unsigned char* buf = NULL;
  int fd = open_direct(path, writing ? O_WRONLY : O_RDONLY, SEQ_CHUNK, 0x5a, &size, &buf);
  if (fd < 0) return 1;
  long long bytes = mib * SEQ_CHUNK;
  int status = 0;
  if (size < bytes) {
    fprintf(stderr, "e2e-bench: %s holds %lld bytes, fewer than %lld MiB\n", path, size, mib);
    status = 1;
    goto out;
  }
  double t0 = now_s();
  for (long long off = 0; off < bytes; off += SEQ_CHUNK) {
    if (transfer(fd, buf, SEQ_CHUNK, (off_t)off, writing) != 0) {
      status = fail(writing ? "pwrite" : "pread");
      goto out;
    }
  }
  if (writing && fsync(fd) != 0) {
    status = fail("fsync");
    goto out;
  }
  report_rate(writing ? "seqwrite" : "seqread", bytes, now_s() - t0);
out:
  free(buf);
  close(fd);
  return status;
}

/* xorshift64*: a cheap, fixed-seed generator (the same offsets on every VMM). */
static uint64_t next_random(uint64_t* state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static int randread(const char* path, const char* seconds_text) {
  long long seconds = parse_count(seconds_text, 1, 3600);
  if (seconds < 0) return usage();
  long long size = 0;
  unsigned char* buf = NULL;
  int fd = open_direct(path, O_RDONLY, BLOCK, 0, &size, &buf);
  if (fd < 0) return 1;
  uint64_t blocks = (uint64_t)size / BLOCK;
  int status = 0;
  if (blocks == 0) {
    fprintf(stderr, "e2e-bench: %s is smaller than one 4 KiB block\n", path);
    status = 1;
    goto out;
  }
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  long long ops = 0;
  double t0 = now_s(), t1 = t0, end = t0 + (double)seconds;
  while (t1 < end) {
    off_t off = (off_t)((next_random(&state) % blocks) * BLOCK);
    if (transfer(fd, buf, BLOCK, off, 0) != 0) {
      status = fail("pread");
      goto out;
    }
    ops++;
    if ((ops & 15) == 0) t1 = now_s();
  }
  t1 = now_s();
  printf("randread ops %lld seconds %.3f iops %.1f\n", ops, t1 - t0, (double)ops / (t1 - t0));
out:
  free(buf);
  close(fd);
  return status;
}

/* --- stream endpoints ----------------------------------------------------------------------- */

static int write_all(int fd, const void* data, size_t len) {
  const char* p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Splits "a:b" at its LAST colon (a UDS path may hold colons); returns b, or NULL. */
static char* split_last(char* text) {
  char* colon = strrchr(text, ':');
  if (colon == NULL) return NULL;
  *colon = '\0';
  return colon + 1;
}

static int fill_unix(struct sockaddr_un* a, const char* path) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof a->sun_path) {
    fprintf(stderr, "e2e-bench: Unix socket path too long: %s\n", path);
    return -1;
  }
  strcpy(a->sun_path, path);
  return 0;
}

/* The hybrid-vsock handshake on a connected Unix socket: "CONNECT PORT\n" -> "OK ...\n". */
static int hvsock_handshake(int s, const char* port) {
  /* A VMM that never answers must not hang us: the retry loop tries again. */
  struct timeval limit = {.tv_sec = 10, .tv_usec = 0}, none = {0, 0};
  if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) != 0) return -1;
  char line[128];
  snprintf(line, sizeof line, "CONNECT %s\n", port);
  if (write_all(s, line, strlen(line)) != 0) return -1;
  size_t got = 0;
  while (got + 1 < sizeof line) {
    ssize_t n = read(s, line + got, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    if (line[got++] == '\n') break;
  }
  line[got] = '\0';
  if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none) != 0) return -1;
  return strncmp(line, "OK ", 3) == 0 ? 0 : -1;
}

/* One connection attempt to a connecting ENDPOINT (modified in place); -1 on failure. */
static int connect_once(char* spec) {
  char buf[512];
  if (strlen(spec) >= sizeof buf) return -1;
  strcpy(buf, spec);
  int s = -1;
  if (strncmp(buf, "tcp:", 4) == 0) {
    char* port = split_last(buf + 4);
    long long p = port ? parse_count(port, 1, 65535) : -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(p < 0 ? 0 : p))};
    if (p < 0 || inet_pton(AF_INET, buf + 4, &a.sin_addr) != 1) return -2;
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr*)&a, sizeof a) != 0) goto failed;
    return s;
  }
  if (strncmp(buf, "vsock:", 6) == 0) {
    char* port = split_last(buf + 6);
    long long p = port ? parse_count(port, 0, UINT32_MAX) : -1;
    long long cid = parse_count(buf + 6, 0, UINT32_MAX);
    if (p < 0 || cid < 0) return -2;
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = (unsigned)p,
                            .svm_cid = (unsigned)cid};
    s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr*)&a, sizeof a) != 0) goto failed;
    return s;
  }
  if (strncmp(buf, "hvsock:", 7) == 0) {
    char* port = split_last(buf + 7);
    struct sockaddr_un a;
    if (port == NULL || parse_count(port, 0, UINT32_MAX) < 0 || fill_unix(&a, buf + 7) != 0)
      return -2;
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr*)&a, sizeof a) != 0) goto failed;
    if (hvsock_handshake(s, port) != 0) goto failed;
    return s;
  }
  return -2;
failed:
  if (s >= 0) close(s);
  return -1;
}

/* Retries with a growing pause (to 1 s), so that a peer that listens only later is not flooded
 * while it measures something else. */
static int connect_retrying(char* spec) {
  double give_up = now_s() + CONNECT_RETRY_SECONDS;
  useconds_t pause = 50 * 1000;
  for (;;) {
    int s = connect_once(spec);
    if (s >= 0) return s;
    if (s == -2) return -2;  /* not a connecting endpoint: the caller says so */
    if (now_s() >= give_up) return -1;
    usleep(pause);
    if (pause < 1000 * 1000) pause *= 2;
  }
}

/* Listens on a listening ENDPOINT and accepts one connection; -2 for a bad endpoint. */
static int accept_one(const char* spec) {
  int s = -1;
  if (strncmp(spec, "tcp-listen:", 11) == 0) {
    long long p = parse_count(spec + 11, 1, 65535);
    if (p < 0) return -2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p),
                            .sin_addr.s_addr = htonl(INADDR_ANY)};
    int one = 1;
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return -1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr*)&a, sizeof a) != 0) goto failed;
  } else if (strncmp(spec, "vsock-listen:", 13) == 0) {
    long long p = parse_count(spec + 13, 0, UINT32_MAX);
    if (p < 0) return -2;
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = (unsigned)p,
                            .svm_cid = VMADDR_CID_ANY};
    s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0 || bind(s, (struct sockaddr*)&a, sizeof a) != 0) goto failed;
  } else if (strncmp(spec, "unix-listen:", 12) == 0) {
    struct sockaddr_un a;
    if (fill_unix(&a, spec + 12) != 0) return -2;
    unlink(spec + 12);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0 || bind(s, (struct sockaddr*)&a, sizeof a) != 0) goto failed;
  } else {
    return -2;
  }
  if (listen(s, 1) != 0) goto failed;
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c >= 0) {
      close(s);
      return c;
    }
    if (errno != EINTR) break;
  }
failed:
  if (s >= 0) close(s);
  return -1;
}

static int is_listening(const char* spec) {
  return strncmp(spec, "tcp-listen:", 11) == 0 || strncmp(spec, "vsock-listen:", 13) == 0 ||
         strncmp(spec, "unix-listen:", 12) == 0;
}

static int open_stream(char* spec) {
  int s = is_listening(spec) ? accept_one(spec) : connect_retrying(spec);
  if (s == -2) fprintf(stderr, "e2e-bench: bad endpoint %s\n", spec);
  else if (s < 0) fail(spec);
  return s;
}

static int send_stream(char* spec, const char* mib_text) {
  long long mib = parse_count(mib_text, 1, MAX_MIB);
  if (mib < 0) return usage();
  int s = open_stream(spec);
  if (s < 0) return 1;
  unsigned char* buf = aligned_buffer(NET_CHUNK, 0xa5);
  int status = 0;
  long long bytes = mib * (1 << 20);
  double t0 = now_s();
  if (buf == NULL) {
    status = fail("posix_memalign");
    goto out;
  }
  for (long long sent = 0; sent < bytes; sent += NET_CHUNK) {
    if (write_all(s, buf, NET_CHUNK) != 0) {
      status = fail("write");
      goto out;
    }
  }
  if (shutdown(s, SHUT_WR) != 0) {
    status = fail("shutdown");
    goto out;
  }
  /* The peer closes once it has read everything: only then is the data across. */
  for (;;) {
    ssize_t n = read(s, buf, NET_CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
  }
  report_rate("send", bytes, now_s() - t0);
out:
  close(s);
  free(buf);
  return status;
}

static int recv_stream(char* spec) {
  int s = open_stream(spec);
  if (s < 0) return 1;
  unsigned char* buf = aligned_buffer(NET_CHUNK, 0);
  if (buf == NULL) {
    close(s);
    return fail("posix_memalign");
  }
  long long bytes = 0;
  double t0 = 0;
  int status = 0;
  for (;;) {
    ssize_t n = read(s, buf, NET_CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = fail("read");
      break;
    }
    if (n == 0) break;
    if (bytes == 0) t0 = now_s();
    bytes += n;
  }
  double seconds = bytes > 0 ? now_s() - t0 : 0.0;
  close(s);
  free(buf);
  if (status != 0) return status;
  report_rate("recv", bytes, seconds);
  return bytes > 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 4 && strcmp(argv[1], "seqread") == 0) return seq(argv[2], argv[3], 0);
  if (argc == 4 && strcmp(argv[1], "seqwrite") == 0) return seq(argv[2], argv[3], 1);
  if (argc == 4 && strcmp(argv[1], "randread") == 0) return randread(argv[2], argv[3]);
  if (argc == 4 && strcmp(argv[1], "send") == 0) return send_stream(argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "recv") == 0) return recv_stream(argv[2]);
  return usage();
}

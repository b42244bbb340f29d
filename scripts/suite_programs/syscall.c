/* syscall: issue one named system call directly, so tracepoint/kprobe tests have a known trigger.
 *   syscall nanosleep NSEC | read | open | openat | execve PATH [ARGS...] | connect IPV4 PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char TEMP_NAME[] = "bpftrace_runtime_test_syscall_gen_open_temp";

static int usage(void)
{
  fprintf(stderr, "usage: syscall nanosleep NSEC | read | open | openat | execve PATH [ARG...] | connect IP PORT\n");
  return 1;
}

static void temp_path(char *buf, size_t len)
{
  const char *dir = getenv("TMPDIR");
  snprintf(buf, len, "%s/%s", dir && *dir ? dir : "/tmp", TEMP_NAME);
}

static int do_nanosleep(const char *arg)
{
  double ns = arg ? strtod(arg, NULL) : 100;
  struct timespec req = { (time_t)(ns / 1e9), (long)((long long)ns % 1000000000LL) };
  return syscall(SYS_nanosleep, &req, NULL) == 0 ? 0 : 1;
}

static int do_read(void)
{
  char buf[16];
  int fd = open("/dev/zero", O_RDONLY);
  if (fd < 0)
    return 1;
  long n = syscall(SYS_read, fd, buf, sizeof(buf));
  close(fd);
  return n == (long)sizeof(buf) ? 0 : 1;
}

/* flags are O_CREAT alone (64): a test waits for exactly that value among the loader's own openat calls */
static int do_open(int at)
{
  char path[4096];
  temp_path(path, sizeof(path));
  int fd = at ? (int)syscall(SYS_openat, AT_FDCWD, path, O_CREAT, 0600)
#ifdef SYS_open
              : (int)syscall(SYS_open, path, O_CREAT, 0600);
#else
              : (int)syscall(SYS_openat, AT_FDCWD, path, O_CREAT, 0600);
#endif
  if (fd < 0)
    return 1;
  close(fd);
  unlink(path);
  return 0;
}

static int do_connect(const char *ip, const char *port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)) };
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
    return usage();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 1;
  connect(fd, (struct sockaddr *)&sa, sizeof(sa)); /* refused is fine: the call is what is traced */
  close(fd);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc < 2)
    return usage();
  const char *what = argv[1];
  if (!strcmp(what, "nanosleep"))
    return do_nanosleep(argc > 2 ? argv[2] : NULL);
  if (!strcmp(what, "read"))
    return do_read();
  if (!strcmp(what, "open"))
    return do_open(0);
  if (!strcmp(what, "openat"))
    return do_open(1);
  if (!strcmp(what, "execve") && argc > 2) {
    extern char **environ;
    syscall(SYS_execve, argv[2], &argv[2], environ);
    return 1; /* a failed exec (e.g. a path that does not exist) still made the call */
  }
  if (!strcmp(what, "connect") && argc > 3)
    return do_connect(argv[2], argv[3]);
  return usage();
}

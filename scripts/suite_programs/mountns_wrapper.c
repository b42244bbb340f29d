/* mountns_wrapper PROG [ARGS...]: run testprogs/PROG from /tmp/bpftrace-unshare-mountns-test, a tmpfs
 * mounted in a new, private mount namespace (so the path does not exist outside it). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

static const char DIR_NAME[] = "/tmp/bpftrace-unshare-mountns-test";

static int copy_file(const char *from, const char *to)
{
  struct stat st;
  int in = open(from, O_RDONLY);
  if (in < 0 || fstat(in, &st) < 0)
    return -1;
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (out < 0)
    return -1;
  off_t off = 0;
  while (off < st.st_size)
    if (sendfile(out, in, &off, st.st_size - off) <= 0)
      return -1;
  close(in);
  return close(out);
}

int main(int argc, char **argv)
{
  char self[PATH_MAX], src[PATH_MAX + 64], dst[PATH_MAX];
  if (argc < 2) {
    fprintf(stderr, "usage: mountns_wrapper PROG [ARGS...]\n");
    return 1;
  }
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n < 0)
    return 1;
  self[n] = 0;
  *strrchr(self, '/') = 0;
  snprintf(src, sizeof(src), "%s/%s", self, argv[1]);
  snprintf(dst, sizeof(dst), "%s/%s", DIR_NAME, argv[1]);
  mkdir(DIR_NAME, 0755);
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
      mount("tmpfs", DIR_NAME, "tmpfs", 0, NULL) < 0) {
    perror("mountns_wrapper: mount namespace");
    return 1;
  }
  if (copy_file(src, dst) < 0) {
    perror(src);
    return 1;
  }
  execv(dst, &argv[1]);
  perror(dst);
  return 127;
}

/* mountns_pivot_wrapper PROG [ARGS...]: run testprogs/PROG as /PROG inside a new mount namespace whose
 * root is a fresh tmpfs (pivot_root), with /lib, /lib64 and /usr bound in so it can still load libc. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int copy_file(int in, const char *to)
{
  struct stat st;
  if (fstat(in, &st) < 0)
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

static void bind_dir(const char *root, const char *dir)
{
  char target[PATH_MAX];
  struct stat st;
  if (lstat(dir, &st) < 0)
    return;
  snprintf(target, sizeof(target), "%s%s", root, dir);
  if (S_ISLNK(st.st_mode)) { /* merged-/usr systems: /lib -> usr/lib */
    char link[PATH_MAX];
    ssize_t n = readlink(dir, link, sizeof(link) - 1);
    if (n > 0) {
      link[n] = 0;
      symlink(link, target);
    }
    return;
  }
  mkdir(target, 0755);
  mount(dir, target, NULL, MS_BIND | MS_REC, NULL);
}

int main(int argc, char **argv)
{
  /* the new root is a tmpfs over /tmp, seen only in the new namespace: nothing is left behind */
  char self[PATH_MAX], src[PATH_MAX + 64], dst[PATH_MAX + 64], root[] = "/tmp";
  if (argc < 2) {
    fprintf(stderr, "usage: mountns_pivot_wrapper PROG [ARGS...]\n");
    return 1;
  }
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n < 0)
    return 1;
  self[n] = 0;
  *strrchr(self, '/') = 0;
  snprintf(src, sizeof(src), "%s/%s", self, argv[1]);
  int in = open(src, O_RDONLY); /* opened before /tmp is covered (the program may live there) */
  if (in < 0) {
    perror(src);
    return 1;
  }
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
      mount("tmpfs", root, "tmpfs", 0, NULL) < 0) {
    perror("mountns_pivot_wrapper: mount namespace");
    return 1;
  }
  snprintf(dst, sizeof(dst), "%s/%s", root, argv[1]);
  if (copy_file(in, dst) < 0) {
    perror(src);
    return 1;
  }
  bind_dir(root, "/usr");
  bind_dir(root, "/lib");
  bind_dir(root, "/lib64");
  snprintf(dst, sizeof(dst), "%s/old", root);
  mkdir(dst, 0755);
  if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", "old") < 0 || chdir("/") < 0) {
    perror("pivot_root");
    return 1;
  }
  umount2("/old", MNT_DETACH);
  rmdir("/old");
  snprintf(dst, sizeof(dst), "/%s", argv[1]);
  execv(dst, &argv[1]);
  perror(dst);
  return 127;
}

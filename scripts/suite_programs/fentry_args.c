/* fentry_args CMD SIZE: call bpf(CMD, attr, SIZE) with a non-zero tail past the kernel's attr (E2BIG). */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  static char attr[65536];
  if (argc < 3)
    return 1;
  long size = atol(argv[2]);
  if (size < 0 || size > (long)sizeof(attr))
    return 1;
  memset(attr, 0xff, sizeof(attr));
  syscall(SYS_bpf, atoi(argv[1]), attr, (unsigned int)size);
  return 0;
}

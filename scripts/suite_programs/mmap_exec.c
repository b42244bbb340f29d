/* mmap_exec FILE: map FILE (raw machine code) executable and jump to its first byte. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  struct stat st;
  if (argc < 2)
    return 1;
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0 || fstat(fd, &st) < 0) {
    perror(argv[1]);
    return 1;
  }
  void *code = mmap(NULL, st.st_size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  if (code == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  ((void (*)(void))code)();
  return 0;
}

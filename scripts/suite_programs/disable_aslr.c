/* disable_aslr PROG [ARGS...]: run PROG with address space randomisation off. */
#include <stdio.h>
#include <sys/personality.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: disable_aslr PROG [ARGS...]\n");
    return 1;
  }
  if (personality(ADDR_NO_RANDOMIZE) == -1)
    perror("personality");
  execv(argv[1], &argv[1]);
  perror(argv[1]);
  return 127;
}

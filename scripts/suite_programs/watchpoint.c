/* watchpoint: write the address of an 8-byte variable to /tmp/watchpoint_mem, then store to it
 * every 10 ms for 10 s. */
#include <stdio.h>
#include <time.h>

static volatile unsigned long target;

int main(void)
{
  struct timespec pause = { 0, 10 * 1000 * 1000 };
  FILE *f = fopen("/tmp/watchpoint_mem", "w");
  if (!f)
    return 1;
  fprintf(f, "%p\n", (void *)&target);
  fclose(f);
  for (int i = 0; i < 1000; i++) {
    target = (unsigned long)i;
    nanosleep(&pause, NULL);
  }
  return 0;
}

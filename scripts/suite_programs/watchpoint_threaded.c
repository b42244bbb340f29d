/* watchpoint_threaded [N]: map 0x10000000 and start a thread that writes there every 10 ms for 10 s
 * (N, if given, stops after N seconds instead). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static int seconds = 10;

static void *writer(void *arg)
{
  volatile char *p = arg;
  struct timespec pause = { 0, 10 * 1000 * 1000 };
  for (int i = 0; i < seconds * 100; i++) {
    *p = (char)i;
    nanosleep(&pause, NULL);
  }
  return NULL;
}

int main(int argc, char **argv)
{
  pthread_t t;
  if (argc > 1 && atoi(argv[1]) > 0)
    seconds = atoi(argv[1]);
  void *mem = mmap((void *)0x10000000, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (mem != (void *)0x10000000) {
    perror("mmap 0x10000000");
    return 1;
  }
  if (pthread_create(&t, NULL, writer, mem) != 0)
    return 1;
  pthread_join(t, NULL);
  return 0;
}

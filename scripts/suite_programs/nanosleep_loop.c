/* nanosleep_loop: call nanosleep every 10 ms for 30 s. */
#include <time.h>

int main(void)
{
  struct timespec pause = { 0, 10 * 1000 * 1000 };
  for (int i = 0; i < 3000; i++)
    nanosleep(&pause, NULL);
  return 0;
}

/* work_loop: burn CPU for 30 s (a busy target for pid filters). */
#include <time.h>

int main(void)
{
  volatile unsigned long n = 0;
  time_t end = time(NULL) + 30;
  while (time(NULL) < end)
    for (int i = 0; i < 1000000; i++)
      n++;
  return 0;
}

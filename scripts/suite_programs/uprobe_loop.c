/* uprobe_loop: call uprobeFunction1 from spin() from main every 10 ms for 30 s (stack tests). */
#include <time.h>

__attribute__((noinline)) int uprobeFunction1(int x)
{
  return x * 2;
}

__attribute__((noinline)) int spin(int x)
{
  struct timespec pause = { 0, 10 * 1000 * 1000 };
  nanosleep(&pause, 0);
  return uprobeFunction1(x) + 1;
}

int main(void)
{
  int total = 0;
  for (int i = 0; i < 3000; i++)
    total += spin(i);
  return total == 0;
}

/* uprobe_symres: call test() a few times, then exit. */
#include <time.h>

__attribute__((noinline)) int test(int x)
{
  return x + 1;
}

int main(void)
{
  struct timespec pause = { 0, 50 * 1000 * 1000 };
  int total = 0;
  for (int i = 0; i < 20; i++) {
    total += test(i);
    nanosleep(&pause, 0);
  }
  return total == 0;
}

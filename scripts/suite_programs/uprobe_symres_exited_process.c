/* uprobe_symres_exited_process: call test() through test2() for 3 s, then exit
 * (symbols must still resolve once the process is gone). */
#include <time.h>

__attribute__((noinline)) int test(int x)
{
  return x + 1;
}

__attribute__((noinline)) int test2(int x)
{
  return test(x) + 1;
}

int main(void)
{
  struct timespec pause = { 0, 100 * 1000 * 1000 };
  int total = 0;
  for (int i = 0; i < 30; i++) {
    total += test2(i);
    nanosleep(&pause, 0);
  }
  return total == 0;
}

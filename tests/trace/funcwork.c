/* funcwork: a target for the function tests of purebpf trace (uaddr, macaddr, container_of, stacks).
 * No argument: one pass, then exit.  "spin": call spin() forever (for tracers that start later). */
#include <string.h>
#include <unistd.h>

struct Pair {
  const char *name;
  unsigned char mac[6];
  int m;
  int n;
};

int GLOBAL_X = 0x1234567;
volatile int spins;
short GLOBAL_S = 77;

__attribute__((noinline)) int take(struct Pair *p, int *n) { return p->m + *n; }
__attribute__((noinline)) int minus(int x) { return x - 10; }
__attribute__((noinline)) int spin(int x) { return x * 2; }
__attribute__((noinline)) int bad(struct Pair *p) { return p == 0; }

int main(int argc, char **argv)
{
  struct Pair p = { "x", { 1, 2, 3, 0xab, 0xcd, 0xef }, 2, 3 };
  int total = 0;
  if (argc > 1 && strcmp(argv[1], "spin") == 0) {
    for (;;) {
      spins = spin(spins + 1) & 0xffff;  /* volatile: the call stays in the loop */
      usleep(10000);
    }
  }
  usleep(50000);
  total += take(&p, &p.n);
  for (int i = 0; i < 20; i++)
    total += minus(i);
  total += bad(0);
  return total == 0;
}

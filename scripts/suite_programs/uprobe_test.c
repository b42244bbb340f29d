/* uprobe_test: functions with DWARF-described arguments for uprobe tests.
 * Line numbers matter: line 22 is uprobeFunction1's entry, lines 34/36/39 run in order. */
#include <stdint.h>
#include <string.h>
#include <time.h>

struct Foo {
  int a;
  char b[10];
  int c[3];
};

struct Bar {
  struct Foo *foos[2];
};

int GLOBAL_A = 0x55555555;
int GLOBAL_B = 0x88888888;
int GLOBAL_C = 0x33333333;
char GLOBAL_D = 8;

__attribute__((noinline)) int uprobeFunction1(int *n, char c) {  /* entry on this line: keep the brace here */
  return *n + c;
}


__attribute__((noinline)) struct Foo *uprobeFunction2(struct Foo *foo1, struct Foo *foo2)
{
  return foo1->a > foo2->a ? foo1 : foo2;
}

static void step(int *n, char c, struct Foo *foo1, struct Foo *foo2)
{
  uprobeFunction1(n, c);
  uprobeFunction2(foo1, foo2);
  uprobeFunction1(n, c);
}

__attribute__((noinline)) int uprobeFunctionBar(struct Bar *bar) { return bar->foos[0]->a; }

int main(int argc, char **argv)
{
  (void)argv;
  struct Foo foo1 = { .a = 123, .b = "hello", .c = { 1, 2, 3 } };
  struct Foo foo2 = { .a = 456, .b = "world", .c = { 4, 5, 6 } };
  struct Bar bar = { .foos = { &foo1, &foo2 } };
  int n = 13;
  char c = 'x';
  struct timespec pause = { 0, 10 * 1000 * 1000 };
  /* call everything every 10 ms for 10 s: long enough for a tracer started after us */
  for (int i = 0; i < 1000 && argc > 0; i++) {
    step(&n, c, &foo1, &foo2);
    uprobeFunctionBar(&bar);
    nanosleep(&pause, NULL);
  }
  return 0;
}

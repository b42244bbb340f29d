/* complex_struct: a struct of a string pointer and arrays of several element sizes. */
#include <stdint.h>

struct MyStruct {
  const char *a;
  char b[4];
  uint8_t c[4];
  int d[4];
  uint16_t e[4];
  uint64_t f[4];
};

__attribute__((noinline)) int func(struct MyStruct *s) { return s->b[0]; }

int main(void)
{
  static const char bytes[] = { 9, 8, 7, 6, 0 };
  struct MyStruct s = {
    .a = bytes, .b = { 5, 4, 3, 2 }, .c = { 1, 2, 3, 4 }, .d = { 5, 6, 7, 8 },
    .e = { 9, 10, 11, 12 }, .f = { 13, 14, 15, 16 },
  };
  func(&s);
  return 0;
}

/* struct_walk: clear() gets an array of 10 structs (a = i, b = 100) and its length. */
#include <stdint.h>

struct C {
  uint32_t a;
  uint64_t b;
};

__attribute__((noinline)) void clear(struct C *c, int size)
{
  for (int i = 0; i < size; i++)
    c[i].a = 0;
}

int main(void)
{
  struct C c[10];
  for (int i = 0; i < 10; i++) {
    c[i].a = (uint32_t)i;
    c[i].b = 100;
  }
  clear(c, 10);
  return (int)c[0].a;
}

/* struct_array: an array of structs inside a struct: w[i].a = 100+i, w[i].t.a = i, w[i].t.b[1] = 100-2i. */
#include <stdint.h>

struct T {
  uint32_t a;
  uint32_t b[2];
};

struct W {
  uint32_t a;
  struct T t;
};

struct C {
  uint32_t a;
  void *b;
  struct W w[10];
};

__attribute__((noinline)) void clear(struct C *c) { c->a = 0; }

int main(void)
{
  struct C c = { .a = 1 };
  for (uint32_t i = 0; i < 10; i++) {
    c.w[i].a = 100 + i;
    c.w[i].t.a = i;
    c.w[i].t.b[0] = i * 3;
    c.w[i].t.b[1] = 100 - 2 * i;
  }
  clear(&c);
  return (int)c.a;
}

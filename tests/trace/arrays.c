/* arrays: arrays of arrays, arrays of structs, a flexible array member and a float, passed to
 * inspect() for the uprobes of test_arrays.py.  Values: grid.cell[r][c] = 10 * r + c,
 * box.items[i] = { .id = 200 + i, .in = { .v = -i, .tag = "t<i>" } }, box.tail[k] = 40 + k. */
#include <stdio.h>
#include <string.h>

struct grid {
  int cell[2][3];
};

struct item {
  unsigned short id;
  struct {
    int v;
    char tag[4];
  } in;
};

struct box {
  long n;
  struct item items[5];
  union {
    int i;
    float f;
  } u;
  int tail[0];
};

static struct {
  struct box box;
  int storage[3];
} held;
static struct grid g;
static struct box other;

__attribute__((noinline)) int inspect(struct box *a, struct box *b, struct grid *g)
{
  return (int)a->n + (int)b->n + g->cell[0][0];
}

int main(void)
{
  for (int r = 0; r < 2; r++)
    for (int c = 0; c < 3; c++)
      g.cell[r][c] = 10 * r + c;
  held.box.n = 5;
  for (int i = 0; i < 5; i++) {
    held.box.items[i].id = (unsigned short)(200 + i);
    held.box.items[i].in.v = -i;
    snprintf(held.box.items[i].in.tag, sizeof(held.box.items[i].in.tag), "t%d", i);
  }
  held.box.u.i = 9;
  for (int k = 0; k < 3; k++)
    held.storage[k] = 40 + k;
  memcpy(&other, &held.box, sizeof(other));
  other.items[4].in.v = 77;
  return inspect(&held.box, &other, &g) == 12345;
}

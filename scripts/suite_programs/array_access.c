/* array_access: functions taking arrays, arrays in structs and pointer arrays. */
#include <stdint.h>

struct A {
  int x[4];
  uint8_t y[4];
};

struct B {
  int y[2][2];
};

struct C {
  int *z[4];
};

struct D {
  int x;
  int y[0];
};

__attribute__((noinline)) int test_struct(struct A *a, struct B *b) { return a->x[0] + b->y[0][0]; }
__attribute__((noinline)) int test_array(int *a) { return a[0]; }
__attribute__((noinline)) int test_ptr_array(struct C *c) { return *c->z[0]; }
__attribute__((noinline)) int test_arrays(struct A *a, struct A *b) { return a->x[0] + b->x[0]; }
__attribute__((noinline)) int test_variable_array(struct D *d) { return d->y[0]; }

static struct {
  struct D d;
  int storage[4];
} var = { { 4 }, { 1, 2, 3, 4 } };

int main(void)
{
  struct A a = { { 1, 2, 3, 4 }, { 0xaa, 0xbb, 0xcc, 0xdd } };
  struct A a2 = { { 5, 6, 7, 8 }, { 0x11, 0x22, 0x33, 0x44 } };
  struct B b = { { { 5, 6 }, { 7, 8 } } };
  int arr[4] = { 1, 2, 3, 4 };
  int one = 1, two = 2, three = 3, four = 4;
  struct C c = { { &one, &two, &three, &four } };
  test_struct(&a, &b);
  test_array(arr);
  test_ptr_array(&c);
  test_arrays(&a, &a2);
  test_variable_array(&var.d);
  return 0;
}

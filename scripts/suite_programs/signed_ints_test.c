/* signed_ints_test: a struct holding an unsigned long of 0. */
struct x {
  unsigned long x;
};

__attribute__((noinline)) int test_signed_ints(struct x *v) { return v->x != 0; }

int main(void)
{
  struct x v = { 0 };
  return test_signed_ints(&v);
}

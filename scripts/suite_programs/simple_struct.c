/* simple_struct: pass a two-int struct, and a pointer to its second field. */
struct Foo {
  int m;
  int n;
};

__attribute__((noinline)) int func(struct Foo *foo) { return foo->m + foo->n; }
__attribute__((noinline)) int n_func(int *n) { return *n; }

int main(void)
{
  struct Foo foo = { 2, 3 };
  func(&foo);
  n_func(&foo.n);
  return 0;
}

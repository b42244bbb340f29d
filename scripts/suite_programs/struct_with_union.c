/* struct_with_union: a struct holding a union. */
union N {
  int i;
  float f;
};

struct Foo {
  int m;
  union N n;
};

__attribute__((noinline)) int func(struct Foo *foo) { return foo->m; }

int main(void)
{
  struct Foo foo = { .m = 2, .n = { .i = 5 } };
  func(&foo);
  return 0;
}

/* nested_struct_test: a struct with an anonymous struct member. */
struct Foo {
  int m;
  struct {
    int x;
    int y;
  } bar;
  int n;
};

__attribute__((noinline)) int test_nested_struct(struct Foo *foo) { return foo->bar.x; }

int main(void)
{
  struct Foo foo = { .m = 10, .bar = { 20, 30 }, .n = 40 };
  test_nested_struct(&foo);
  return 0;
}

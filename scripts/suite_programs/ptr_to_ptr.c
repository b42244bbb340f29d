/* ptr_to_ptr: function() gets a pointer to a pointer to a struct (a = 123). */
struct Foo {
  int a;
  char b[10];
};

__attribute__((noinline)) int function(struct Foo **pp) { return (*pp)->a; }

int main(void)
{
  struct Foo foo = { 123, "hello" };
  struct Foo *p = &foo;
  return function(&p) != 123;
}

/* helper_error_test: pass a NULL pointer so reading through it fails (EFAULT). */
#include <stddef.h>

struct foo {
  int a;
};

__attribute__((noinline)) int test_helper_error(struct foo *p) { return p != NULL; }

int main(void)
{
  return test_helper_error(NULL);
}

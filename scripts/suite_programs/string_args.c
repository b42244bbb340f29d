/* string_args: print() gets a pointer to "hello" followed by more text. */
#include <stdio.h>

__attribute__((noinline)) void print(const char *s)
{
  fputs(s, stdout);
}

int main(void)
{
  char text[] = "hello\nworld\n";
  print(text);
  return 0;
}

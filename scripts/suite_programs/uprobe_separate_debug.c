/* uprobe_separate_debug: fn's arguments are described only by a separate debug file (testprogs/.debug). */
#include <stdio.h>

__attribute__((noinline)) int fn(int n, const char *str)
{
  return n + (str[0] != 0);
}

int main(void)
{
  return fn(1, "hello") != 2;
}

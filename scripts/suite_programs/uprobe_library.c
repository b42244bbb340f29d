/* uprobe_library: call libc's fread (size 1, count 16) a few times. */
#include <stdio.h>

int main(void)
{
  char buf[16];
  FILE *f = fopen("/dev/zero", "r");
  if (!f)
    return 1;
  for (int i = 0; i < 5; i++)
    if (fread(buf, 1, sizeof(buf), f) != sizeof(buf))
      return 1;
  fclose(f);
  return 0;
}

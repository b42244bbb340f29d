/* watchpoint_exec: put a `ret` at 0x10000000 and call it a few times (x86_64 and aarch64). */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void)
{
#if defined(__x86_64__)
  static const unsigned char ret[] = { 0xc3 };
#elif defined(__aarch64__)
  static const unsigned char ret[] = { 0xc0, 0x03, 0x5f, 0xd6 };
#else
  return 1;
#endif
  void *code = mmap((void *)0x10000000, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != (void *)0x10000000) {
    perror("mmap 0x10000000");
    return 1;
  }
  memcpy(code, ret, sizeof(ret));
  __builtin___clear_cache((char *)code, (char *)code + sizeof(ret));
  for (int i = 0; i < 3; i++)
    ((void (*)(void))code)();
  return 0;
}

/* usdt_multi_args:probe1 with twelve arguments of 4 and 8 bytes, half in registers, half in memory. */
#include <stdint.h>
#include "usdt_sdt.h"

int main(void) {
  uint32_t a = 0xdeadbeef, b = 1, d = 0xcafebabe, e = 0x8badf00d, f = 0xfeedface, k = 42;
  uint64_t c = UINT64_MAX, g = 0x0123456789abcdefULL, h = 0, i = 0x7fffffffffffffffULL;
  uint64_t j = 0x5555555555555555ULL, l = 0xaaaaaaaaaaaaaaaaULL;
  for (;;)
    USDT(usdt_multi_args, probe1, "4@%0 4@%1 8@%2 4@%3 4@%4 4@%5 8@%6 8@%7 8@%8 8@%9 4@%10 8@%11",
         "r"(a), "r"(b), "r"(c), "r"(d), "r"(e), "r"(f), "m"(g), "m"(h), "m"(i), "m"(j), "m"(k), "m"(l));
}

/* test:probe1 and test:probe2, whose arguments are narrower than 64 bits (a 1-byte 1, a 2-byte -2...). */
#include <unistd.h>
#include "usdt_sdt.h"

int main(void) {
  volatile unsigned char one = 1;
  volatile short minus_two = -2;
  for (;;) {
    unsigned char a = one;
    short b = minus_two;
    USDT(test, probe1, "1@%0 -2@%1", "q"(a), "r"(b));
    USDT(test, probe2, "1@%0 -2@%1", "q"(a), "m"(b));
    usleep(100000);
  }
}

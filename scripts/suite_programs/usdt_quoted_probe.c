/* A probe whose name carries double quotes: test:"probe1", with arg0 = 1. */
#include <unistd.h>
#include "usdt_sdt.h"

int main(void) {
  for (;;) {
    USDT_NAMED(test, "\\\"probe1\\\"", "-4@%0", "i"(1));
    usleep(100000);
  }
}

/* tracetest:testprobe inlined at two places: arg1 is 999 at the first, 100 at the second. */
#include <unistd.h>
#include "usdt_sdt.h"

static inline __attribute__((always_inline)) void mark(long when, int value) {
  USDT(tracetest, testprobe, "-8@%0 -4@%1", "r"(when), "ri"(value));
}

int main(void) {
  for (long n = 0;; n++) {
    mark(n, 999);
    mark(n, 100);
    usleep(100000);
  }
}

/* Three probes with 2, 1 and 3 sites. */
#include <unistd.h>
#include "usdt_sdt.h"

int main(void) {
  for (long n = 0;; n++) {
    USDT(tracetest, testprobe, "-8@%0", "r"(n));
    USDT(tracetest, testprobe, "-8@%0", "r"(n));
    USDT(tracetest, testprobe2, "-8@%0", "r"(n));
    USDT(tracetest, testprobe3, "-8@%0", "r"(n));
    USDT(tracetest, testprobe3, "-8@%0", "r"(n));
    USDT(tracetest, testprobe3, "-8@%0", "r"(n));
    usleep(10000);
  }
}

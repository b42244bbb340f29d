/* Three probes, each passing (seconds, a "Hello WorldN" string), ten times a second. */
#include <sys/time.h>
#include <unistd.h>
#include "usdt_sdt.h"

static char first[] = "Hello World1", second[] = "Hello World2", third[] = "Hello World3";

int main(void) {
  for (;;) {
    struct timeval now;
    gettimeofday(&now, 0);
    long sec = now.tv_sec;
    USDT(tracetest, testprobe, "-8@%0 8@%1", "r"(sec), "r"(first));
    USDT(tracetest, testprobe2, "-8@%0 8@%1", "r"(sec), "r"(second));
    USDT(tracetest2, testprobe2, "-8@%0 8@%1", "r"(sec), "r"(third));
    usleep(100000);
  }
}

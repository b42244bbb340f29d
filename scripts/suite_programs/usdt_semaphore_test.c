/* A probe behind a semaphore: it fires, with the text "USDT semaphore: N", only while a tracer holds it. */
#include <stdio.h>
#include <unistd.h>
#include "usdt_sdt.h"

USDT_SEM(tracetest, testprobe);

int main(void) {
  char text[64];
  for (;;) {
    if (USDT_ENABLED(tracetest, testprobe)) {
      snprintf(text, sizeof text, "USDT semaphore: %d", USDT_SEM_NAME(tracetest, testprobe));
      long zero = 0;
      USDT_SEMA(tracetest, testprobe, "-8@%0 8@%1", "r"(zero), "r"(text));
    }
    usleep(100000);
  }
}

/* tracetest:testprobe (arg0: seconds, arg1: a marker) at two sites, both from the always-inlined myclock():
 *   - marker 999: myclock inlined straight into loop();
 *   - marker 100: myclock inlined into mywrapper_inlined(), itself inlined into mywrapper(), a real function
 *     called by loop(), called by main().
 * So the 100 site's user stack is: [inlined] myclock, [inlined] mywrapper_inlined, mywrapper, loop, main, libc.
 * Built -O2 with frame pointers.  noipa keeps mywrapper and loop real functions with their own frames (no
 * inlining, cloning or sibling calls), and `running` keeps loop() returning, so main's return address stays
 * inside main.  Each round fires 999 then 100, ten rounds a second. */
#include <sys/time.h>
#include <unistd.h>
#include "usdt_sdt.h"

static volatile int running = 1;

static inline __attribute__((always_inline)) void myclock(int marker) {
  struct timeval now;
  gettimeofday(&now, 0);
  long sec = now.tv_sec;
  USDT(tracetest, testprobe, "-8@%0 -4@%1", "r"(sec), "ri"(marker));
}

static inline __attribute__((always_inline)) void mywrapper_inlined(void) {
  myclock(100);
}

__attribute__((noipa)) void mywrapper(void) {
  mywrapper_inlined();
}

__attribute__((noipa)) static void loop(void) {
  while (running) {
    myclock(999);
    mywrapper();
    usleep(100000);
  }
}

int main(void) {
  loop();
  return 0;
}

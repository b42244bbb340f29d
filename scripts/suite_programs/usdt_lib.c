/* Calls into libusdt_tp.so, whose probe fires, ten times a second. */
#include <unistd.h>

void usdt_tp_fire(long n);

int main(void) {
  for (long n = 0;; n++) {
    usdt_tp_fire(n);
    usleep(100000);
  }
}

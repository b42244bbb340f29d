/* A shared library with a probe of its own (tracetestlib:lib_probe_1), for usdt_lib. */
#include "usdt_sdt.h"

void usdt_tp_fire(long n) {
  USDT(tracetestlib, lib_probe_1, "-8@%0", "r"(n));
}

/* intptrcast: fn gets an array of uint16 whose second element is 1110. */
#include <stdint.h>

__attribute__((noinline)) int fn(uint16_t *values) { return values[0] + values[1]; }

int main(void)
{
  uint16_t values[4] = { 7, 1110, 9, 11 };
  fn(values);
  return 0;
}

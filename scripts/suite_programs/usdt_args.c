/* One value, 0xf7f6f5f4f3f2f1f0, passed at every size and signedness (u64 s64 u32 s32 u16 s16 u8 s8, in
 * that order), once as constants, once in registers, once in memory and once through base+index*scale. */
#include <stdint.h>
#include "usdt_sdt.h"

#define V 0xf7f6f5f4f3f2f1f0ULL

int main(void) {
  volatile uint64_t src = V;
  uint64_t u64 = src; int64_t s64 = (int64_t)src; uint32_t u32 = (uint32_t)src; int32_t s32 = (int32_t)src;
  uint16_t u16 = (uint16_t)src; int16_t s16 = (int16_t)src; uint8_t u8 = (uint8_t)src; int8_t s8 = (int8_t)src;
  USDT(usdt_args, const_u64, "8@%0", "i"((int64_t)V));
  USDT(usdt_args, const_s64, "-8@%0", "i"((int64_t)V));
  USDT(usdt_args, const_u32, "4@%0", "i"((uint32_t)V));
  USDT(usdt_args, const_s32, "-4@%0", "i"((int32_t)V));
  USDT(usdt_args, const_u16, "2@%0", "i"((uint16_t)V));
  USDT(usdt_args, const_s16, "-2@%0", "i"((int16_t)V));
  USDT(usdt_args, const_u8, "1@%0", "i"((uint8_t)V));
  USDT(usdt_args, const_s8, "-1@%0", "i"((int8_t)V));
  USDT(usdt_args, reg_u64, "8@%0", "r"(u64));
  USDT(usdt_args, reg_s64, "-8@%0", "r"(s64));
  USDT(usdt_args, reg_u32, "4@%0", "r"(u32));
  USDT(usdt_args, reg_s32, "-4@%0", "r"(s32));
  USDT(usdt_args, reg_u16, "2@%0", "r"(u16));
  USDT(usdt_args, reg_s16, "-2@%0", "r"(s16));
  USDT(usdt_args, reg_u8, "1@%0", "q"(u8));
  USDT(usdt_args, reg_s8, "-1@%0", "q"(s8));
  USDT(usdt_args, addr_u64, "8@%0", "m"(u64));
  USDT(usdt_args, addr_s64, "-8@%0", "m"(s64));
  USDT(usdt_args, addr_u32, "4@%0", "m"(u32));
  USDT(usdt_args, addr_s32, "-4@%0", "m"(s32));
  USDT(usdt_args, addr_u16, "2@%0", "m"(u16));
  USDT(usdt_args, addr_s16, "-2@%0", "m"(s16));
  USDT(usdt_args, addr_u8, "1@%0", "m"(u8));
  USDT(usdt_args, addr_s8, "-1@%0", "m"(s8));
  static volatile uint64_t table[2] = {0, V};
  long i = src & 1;  /* 0: the value sits at 8(%base,%index,8) */
  USDT(usdt_args, index_u64, "8@8(%0,%1,8)", "r"(table), "r"(i));
  return 0;
}

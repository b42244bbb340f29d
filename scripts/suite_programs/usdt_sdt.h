/* A minimal writer of systemtap USDT notes (.note.stapsdt), for test programs.
 *
 * USDT(provider, name, "ARGSPEC", operands...) places a nop (the probe site) and
 * a note naming it.  ARGSPEC is the argument string with %N standing for the
 * asm operands, so the caller chooses where each argument lives:
 *   USDT(p, reg,   "-4@%0", "r"(int_value))      register
 *   USDT(p, mem,   "8@%0",  "m"(long_value))     memory
 *   USDT(p, const, "4@%0",  "i"(5))              constant ($5)
 * USDT_SEM(provider, name) declares the probe's semaphore and
 * USDT_SEMA(provider, name, ...) emits a probe that names it; guard the call
 * with USDT_ENABLED(provider, name) as sys/sdt.h users do.
 */
#ifndef USDT_SDT_H
#define USDT_SDT_H

#define USDT_STR_(x) #x
#define USDT_STR(x) USDT_STR_(x)

#define USDT_BASE_ASM \
  ".ifndef _.stapsdt.base\n" \
  ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
  ".weak _.stapsdt.base\n" \
  ".hidden _.stapsdt.base\n" \
  "_.stapsdt.base: .space 1\n" \
  ".size _.stapsdt.base, 1\n" \
  ".popsection\n" \
  ".endif\n"

#define USDT_NOTE_ASM(provider, name, sem, args) \
  "990: nop\n" \
  ".pushsection .note.stapsdt,\"\",\"note\"\n" \
  ".balign 4\n" \
  ".4byte 992f-991f, 994f-993f, 3\n" \
  "991: .asciz \"stapsdt\"\n" \
  "992: .balign 4\n" \
  "993: .8byte 990b\n" \
  ".8byte _.stapsdt.base\n" \
  ".8byte " sem "\n" \
  ".asciz \"" provider "\"\n" \
  ".asciz \"" name "\"\n" \
  ".asciz \"" args "\"\n" \
  "994: .balign 4\n" \
  ".popsection\n" \
  USDT_BASE_ASM

#define USDT(provider, name, args, ...) \
  __asm__ __volatile__(USDT_NOTE_ASM(#provider, #name, "0", args) :: __VA_ARGS__)

/* a probe name that is not a C identifier (e.g. with quotes): give it as an asm string */
#define USDT_NAMED(provider, name_asm, args, ...) \
  __asm__ __volatile__(USDT_NOTE_ASM(#provider, name_asm, "0", args) :: __VA_ARGS__)

#define USDT_SEM_NAME(provider, name) provider##_##name##_semaphore
#define USDT_SEM(provider, name) \
  __attribute__((section(".probes"))) volatile unsigned short USDT_SEM_NAME(provider, name)
#define USDT_ENABLED(provider, name) (USDT_SEM_NAME(provider, name) != 0)
#define USDT_SEMA(provider, name, args, ...) \
  __asm__ __volatile__(USDT_NOTE_ASM(#provider, #name, USDT_STR(USDT_SEM_NAME(provider, name)), args) \
                       :: __VA_ARGS__)

#endif

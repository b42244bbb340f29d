/* uprobe_namesan: functions whose symbol names hold characters a BPF program name cannot ('.', '$'). */
__attribute__((noinline)) int fn(int x) { return x + 1; }
__attribute__((noinline)) int fn_dot(int x) __asm__("fn.part.0");
__attribute__((noinline)) int fn_dot(int x) { return x + 2; }
__attribute__((noinline)) int fn_dollar(int x) __asm__("fn$1");
__attribute__((noinline)) int fn_dollar(int x) { return x + 3; }

int main(void)
{
  return fn(1) + fn_dot(2) + fn_dollar(3) == 0;
}

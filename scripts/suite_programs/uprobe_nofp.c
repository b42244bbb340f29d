/* uprobe_nofp: main -> funcA -> funcB -> funcC -> funcD, built without frame pointers. */
__attribute__((noinline)) int funcD(int x) { return x + 4; }
__attribute__((noinline)) int funcC(int x) { return funcD(x) + 3; }
__attribute__((noinline)) int funcB(int x) { return funcC(x) + 2; }
__attribute__((noinline)) int funcA(int x) { return funcB(x) + 1; }

int main(void)
{
  volatile int seed = 1;
  return funcA(seed) == 0;
}

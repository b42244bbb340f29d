/* uprobe_negative_retval: 221 calls of function1 returning -120..100 (sum -2210); main returns -100. */
__attribute__((noinline)) int function1(int x)
{
  return x - 10;
}

int main(void)
{
  int total = 0;
  for (int i = -110; i <= 110; i++)
    total += function1(i);
  return total == -2210 ? -100 : 1;
}

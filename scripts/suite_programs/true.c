/* true: do nothing and succeed; execve tests look for this path and its arguments. */
int main(void)
{
  return 0;
}

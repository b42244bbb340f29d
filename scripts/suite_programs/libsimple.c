/* libsimple.so: a shared library with one function, fun. */
int fun(int x)
{
  return x * 3;
}

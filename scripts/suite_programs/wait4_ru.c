/* wait4_ru: reap a child with wait4 and a non-NULL rusage pointer. */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
  struct rusage ru;
  int status;
  pid_t pid = fork();
  if (pid == 0)
    _exit(0);
  if (pid < 0)
    return 1;
  return syscall(SYS_wait4, pid, &status, 0, &ru) == pid ? 0 : 1;
}

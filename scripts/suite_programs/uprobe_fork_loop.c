/* uprobe_fork_loop: every 50 ms for 10 s, fork a child that calls uprobeFunction1, and call it here too
 * (a tracer given this pid must see only the parent's calls). */
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) int uprobeFunction1(int x)
{
  return x + 1;
}

int main(void)
{
  struct timespec pause = { 0, 50 * 1000 * 1000 };
  for (int i = 0; i < 200; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      uprobeFunction1(i);
      _exit(0);
    }
    uprobeFunction1(i);
    if (pid > 0)
      waitpid(pid, NULL, 0);
    nanosleep(&pause, NULL);
  }
  return 0;
}

/* multi_procs: "parent-proc" forks "son-proc", which calls stub() and forks "grandson-proc",
 * which calls stub() too. */
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) int stub(int x) { return x + 1; }

static void child_named(const char *name, int depth)
{
  pid_t pid = fork();
  if (pid != 0) {
    if (pid > 0)
      waitpid(pid, NULL, 0);
    return;
  }
  prctl(PR_SET_NAME, name);
  stub(depth);
  if (depth == 1)
    child_named("grandson-proc", 2);
  usleep(100 * 1000);
  _exit(0);
}

int main(void)
{
  prctl(PR_SET_NAME, "parent-proc");
  child_named("son-proc", 1);
  return 0;
}

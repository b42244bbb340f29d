/* multi_threads: a child process (main thread "parent-thread") starts "son-thread", which starts
 * "grandson-thread"; both call stub(). The first process keeps its own name and parents the child. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) int stub(int x) { return x + 1; }

static void *grandson(void *arg)
{
  prctl(PR_SET_NAME, "grandson-thread");
  stub(2);
  return arg;
}

static void *son(void *arg)
{
  pthread_t t;
  prctl(PR_SET_NAME, "son-thread");
  stub(1);
  if (pthread_create(&t, NULL, grandson, NULL) == 0)
    pthread_join(t, NULL);
  return arg;
}

int main(void)
{
  pid_t child = fork();
  if (child == 0) {
    pthread_t t;
    prctl(PR_SET_NAME, "parent-thread");
    if (pthread_create(&t, NULL, son, NULL) == 0)
      pthread_join(t, NULL);
    usleep(100 * 1000);
    return 0;
  }
  if (child > 0)
    waitpid(child, NULL, 0);
  return child < 0;
}

/* A workload whose syscalls the trace tests count: `pbtwork getpid N`,
 * `pbtwork open PATH...`, `pbtwork sleep MS`. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "getpid")) {
        for (int i = 0, n = atoi(argv[2]); i < n; i++) syscall(SYS_getpid);
    } else if (argc >= 3 && !strcmp(argv[1], "open")) {
        for (int i = 2; i < argc; i++) {
            int fd = open(argv[i], O_RDONLY);
            if (fd >= 0) close(fd);
        }
    } else if (argc >= 3 && !strcmp(argv[1], "sleep")) {
        struct timespec ts = {0, atol(argv[2]) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

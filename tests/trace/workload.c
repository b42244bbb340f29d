/* A workload whose syscalls the trace tests count: `pbtwork getpid N`,
 * `pbtwork open PATH...`, `pbtwork sleep MS`; `pbtwork struct` passes a known
 * struct to visit() for uprobes that read its members. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct point {
    int x;
    unsigned int flag : 1;
    unsigned int level : 3;
    char name[8];
    struct point *next;
};

__attribute__((noinline)) int visit(struct point *p) {
    __asm__ volatile("" : : "r"(p) : "memory");
    return p->x;
}

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
    } else if (argc >= 2 && !strcmp(argv[1], "struct")) {
        struct point last = {7, 0, 2, "last", NULL};
        struct point first = {-5, 1, 6, "pt", &last};
        visit(&first);
    }
    return 0;
}

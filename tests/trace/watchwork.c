/* Writes a global the watchpoint tests watch: `watchwork thread` from a thread started
 * after 200 ms, `watchwork loop` every 50 ms for 5 s (for -p). */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

volatile long watched;

static void *writer(void *arg) {
    for (int i = 0; i < 3; i++) watched = i + 1;
    return arg;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "thread")) {
        pthread_t t;
        usleep(200000);
        pthread_create(&t, NULL, writer, NULL);
        pthread_join(t, NULL);
    } else if (argc >= 2 && !strcmp(argv[1], "loop")) {
        for (int i = 0; i < 100; i++) {
            watched = i;
            usleep(50000);
        }
    }
    return 0;
}

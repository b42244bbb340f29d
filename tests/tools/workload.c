/* Workloads the tool tests watch: each mode does a known thing a known number of times.
 *
 *   work exec N PATH ARGS...   fork + execv(PATH, ARGS) N times, waiting for each
 *   work open N PATH FLAGS     open(PATH, FLAGS octal, 0640) N times
 *   work exit CODE             exit with CODE
 *   work die SIG               kill itself with SIG
 *   work kill N SIG            send SIG to a paused child N times, then kill(999999, SIG)
 *   work syscalls N            N getppid() calls and N failing close(-1) calls
 *   work sleep N USEC          N usleep(USEC) calls (N wakeups)
 *   work connect N PORT        N TCP connections to 127.0.0.1:PORT, accepted by this process
 *   work stat N PATH           N stat(PATH) calls
 *   work spin MS               burn CPU for MS milliseconds in spin_here()
 *   work leak N SIZE           N malloc(SIZE) never freed, N malloc+free, then pause 1 s
 *   work bind PORT             bind a TCP socket to 127.0.0.1:PORT
 *   work openrate N RATE PATH  N opens of PATH paced at RATE a second (for benchmarks)
 *   work hog MB                touch MB megabytes of fresh memory, 1 MB at a time (for OOM kills)
 *   work unlink N PATH         N times: create PATH, write 1 byte, sleep 10 ms, unlink it
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void do_exec(int n, char **argv) {
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execv(argv[0], argv);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
	}
}

static void do_connect(int n, int port) {
	int srv = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(srv, (struct sockaddr *)&addr, sizeof(addr)) || listen(srv, 16)) {
		perror("listen");
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&addr, sizeof(addr))) {
			perror("connect");
			exit(1);
		}
		int a = accept(srv, NULL, NULL);
		write(c, "hello", 5);
		char buf[8];
		read(a, buf, sizeof(buf));
		close(c);
		close(a);
	}
	close(srv);
	usleep(100000);
}

__attribute__((noinline)) void spin_here(long ms) {
	struct timespec start, now;
	volatile unsigned long x = 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (int i = 0; i < 100000; i++)
			x += i;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: work MODE ARGS...\n");
		return 2;
	}
	const char *mode = argv[1];
	int n = atoi(argv[2]);
	if (!strcmp(mode, "exec")) {
		do_exec(n, argv + 3);
	} else if (!strcmp(mode, "open")) {
		int flags = (int)strtol(argv[4], NULL, 8);
		for (int i = 0; i < n; i++) {
			int fd = open(argv[3], flags, 0640);
			if (fd >= 0)
				close(fd);
		}
	} else if (!strcmp(mode, "exit")) {
		exit(n);
	} else if (!strcmp(mode, "die")) {
		signal(n, SIG_DFL);
		kill(getpid(), n);
		pause();
	} else if (!strcmp(mode, "kill")) {
		int sig = atoi(argv[3]);
		for (int i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				pause();
				_exit(0);
			}
			kill(pid, sig);
			waitpid(pid, NULL, 0);
		}
		kill(999999, sig);
	} else if (!strcmp(mode, "syscalls")) {
		for (int i = 0; i < n; i++) {
			syscall(SYS_getppid);
			close(-1);
		}
	} else if (!strcmp(mode, "sleep")) {
		int usec = atoi(argv[3]);
		for (int i = 0; i < n; i++)
			usleep(usec);
	} else if (!strcmp(mode, "connect")) {
		do_connect(n, atoi(argv[3]));
	} else if (!strcmp(mode, "stat")) {
		struct stat st;
		for (int i = 0; i < n; i++)
			stat(argv[3], &st);
	} else if (!strcmp(mode, "spin")) {
		spin_here(n);
	} else if (!strcmp(mode, "leak")) {
		long size = atol(argv[3]);
		for (int i = 0; i < n; i++) {
			void *p = malloc(size);
			memset(p, 1, size);
			free(malloc(size));
		}
		sleep(1);
	} else if (!strcmp(mode, "openrate")) {
		double rate = atof(argv[3]);
		struct timespec start, now;
		clock_gettime(CLOCK_MONOTONIC, &start);
		for (int i = 0; i < n; i++) {
			double due = i / rate;
			do
				clock_gettime(CLOCK_MONOTONIC, &now);
			while ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 < due);
			int fd = open(argv[4], O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
	} else if (!strcmp(mode, "hog")) {
		for (int i = 0; i < n; i++)
			memset(malloc(1 << 20), 1, 1 << 20);
	} else if (!strcmp(mode, "unlink")) {
		for (int i = 0; i < n; i++) {
			int fd = open(argv[3], O_CREAT | O_WRONLY | O_TRUNC, 0640);
			write(fd, "x", 1);
			close(fd);
			usleep(10000);
			unlink(argv[3]);
		}
	} else if (!strcmp(mode, "bind")) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(n)};
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(s, (struct sockaddr *)&addr, sizeof(addr)))
			perror("bind");
		close(s);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}

/*
 * syscall-bench OP ITERS [PATH]: runs OP ITERS times and prints the mean ns per operation.
 *   open     open(PATH, O_RDONLY) + close
 *   stat     stat(PATH)
 *   getppid  getppid() (a syscall no ACES hook sees: what the slow path alone costs)
 *   forkexec fork, exec of this binary with OP "noop", wait
 *   tcp      a loopback TCP exchange: connect, send 64 bytes, read the 64-byte echo, close;
 *            served by a forked child that accepts, echoes and closes (a tiny request/response
 *            server under a closed-loop load generator)
 * Static, so exec cost does not depend on the dynamic loader of the host or the "container".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int full_io(int fd, char *buf, size_t n, int wr)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = wr ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* Starts the echo server on an ephemeral loopback port; returns its pid and fills *addr. */
static pid_t tcp_server(struct sockaddr_in *addr)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	socklen_t len = sizeof(*addr);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)addr, sizeof(*addr)) < 0 || listen(ls, 128) < 0 ||
	    getsockname(ls, (struct sockaddr *)addr, &len) < 0) {
		perror("listen");
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		char buf[64];
		for (;;) {
			int c = accept(ls, NULL, NULL);
			if (c < 0)
				_exit(1);
			if (full_io(c, buf, sizeof(buf), 0) == 0)
				full_io(c, buf, sizeof(buf), 1);
			close(c);
		}
	}
	close(ls);
	return pid;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "noop") == 0)
		return 0;
	if (argc < 3) {
		fprintf(stderr, "usage: syscall-bench open|stat|getppid|forkexec|tcp ITERS [PATH]\n");
		return 2;
	}
	const char *op = argv[1], *path = argc > 3 ? argv[3] : "/etc/passwd";
	long iters = atol(argv[2]);
	struct stat st;
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0) {
		perror("readlink");
		return 2;
	}
	self[n] = 0;
	if (iters <= 0)
		return 2;
	struct sockaddr_in addr;
	pid_t server = 0;
	char msg[64] = "aces-bench";

	if (strcmp(op, "tcp") == 0)
		server = tcp_server(&addr);
	long long t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		if (strcmp(op, "open") == 0) {
			int fd = open(path, O_RDONLY);
			if (fd < 0) {
				perror("open");
				return 1;
			}
			close(fd);
		} else if (strcmp(op, "stat") == 0) {
			if (stat(path, &st) < 0) {
				perror("stat");
				return 1;
			}
		} else if (strcmp(op, "getppid") == 0) {
			syscall(SYS_getppid);
		} else if (strcmp(op, "forkexec") == 0) {
			pid_t pid = fork();
			if (pid < 0) {
				perror("fork");
				return 1;
			}
			if (pid == 0) {
				execl(self, "syscall-bench", "noop", (char *)NULL);
				_exit(127);
			}
			int status;
			if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "child failed\n");
				return 1;
			}
		} else if (strcmp(op, "tcp") == 0) {
			int c = socket(AF_INET, SOCK_STREAM, 0);
			if (c < 0 || connect(c, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
			    full_io(c, msg, sizeof(msg), 1) < 0 || full_io(c, msg, sizeof(msg), 0) < 0) {
				perror("tcp");
				kill(server, SIGKILL);
				return 1;
			}
			close(c);
		} else {
			fprintf(stderr, "unknown op %s\n", op);
			return 2;
		}
	}
	long long t1 = now_ns();
	if (server) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
	}
	printf("%.1f\n", (double)(t1 - t0) / (double)iters);
	return 0;
}

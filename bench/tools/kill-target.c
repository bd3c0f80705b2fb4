/*
 * kill-target CGROUP_PROCS PATH: the victim of one block-latency trial. Joins the cgroup (a
 * fresh "container" key), makes a new pid namespace, forks its pid 1 and prints that child's
 * host pid. The child execs itself as the victim, which waits for one byte on stdin, then opens PATH for append. The parent
 * reports how the child ended ("signal N" or "exit N") once it has.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* pid 1 of the namespace: waits for one byte on stdin, opens PATH for append. */
static int victim(const char *path)
{
	char c;
	if (read(0, &c, 1) != 1)
		return 3;
	int fd = open(path, O_WRONLY | O_APPEND);
	/* Still alive: only a kill from outside can end it now (a namespace's pid 1 ignores
	 * default-action signals from inside it); exit 0 after 3 s says none came. */
	(void)fd;
	sleep(3);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--victim") == 0)
		return victim(argv[2]);
	if (argc != 3) {
		fprintf(stderr, "usage: kill-target CGROUP_PROCS PATH\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) != 0) {
		perror("cgroup.procs");
		return 2;
	}
	if (unshare(CLONE_NEWPID) < 0) {
		perror("unshare");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		/* Exec first: until its first exec a task that entered a new pid namespace is a runtime
		 * set-up task to ACES (runc init), not a container task. */
		execl("/proc/self/exe", "kill-target", "--victim", argv[2], (char *)NULL);
		_exit(127);
	}
	printf("%d\n", pid);
	fflush(stdout);
	int st;
	if (waitpid(pid, &st, 0) < 0) {
		perror("waitpid");
		return 2;
	}
	if (WIFSIGNALED(st))
		printf("signal %d\n", WTERMSIG(st));
	else
		printf("exit %d\n", WEXITSTATUS(st));
	return 0;
}

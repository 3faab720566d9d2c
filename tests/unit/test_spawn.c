/*
 * test_spawn - running a program: exit status, capture (bounded, with
 * stderr), stdin from /dev/null or given bytes, the clean environment,
 * the pre-exec hook, a process group of its own, exec failures, and the
 * time limit that kills the whole group, a grandchild included; the
 * caller's variables after PATH; spawn_start and spawn_check, which never
 * wait, with the same time limit.
 */
#include <sys/types.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "spawn.h"
#include "t.h"

static char sh[] = "/bin/sh", dash_c[] = "-c";

/* sh_run - /bin/sh -c script, stdout and stderr captured */
static int
sh_run(const char *script, const char *in, unsigned ms, char **out)
{
	char	*argv[] = { sh, dash_c, (char *)script, NULL };
	struct spawn s;

	memset(&s, 0, sizeof(s));
	s.path = "/bin/sh";
	s.argv = argv;
	s.in = in;
	s.out = SPAWN_CAPTURE;
	s.err = SPAWN_TO_OUT;
	s.cap_max = 1 << 20;
	s.time_ms = ms;
	return spawn_run(&s, out);
}

/* gone - pid no longer runs (absent, or a zombie for init to reap) */
static int
gone(pid_t pid)
{
	char	 path[64], buf[256], *p;
	FILE	*fp;
	size_t	 n;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return (p = strrchr(buf, ')')) != NULL && p[1] == ' ' &&
	    (p[2] == 'Z' || p[2] == 'X');
}

/* wait_gone - gone within ms */
static int
wait_gone(pid_t pid, unsigned ms)
{
	uint64_t end = clock_mono_ms() + ms;

	while (!gone(pid)) {
		if (clock_mono_ms() > end)
			return 0;
		usleep(10000);
	}
	return 1;
}

static void
test_status(void)
{
	char	*out;

	T_EQ_U(sh_run("exit 0", NULL, 0, &out), 0, "exit 0");
	free(out);
	T_EQ_U(sh_run("exit 3", NULL, 0, &out), 3, "exit 3");
	free(out);
	T_EQ_U(sh_run("kill -9 $$", NULL, 0, &out), SPAWN_SIGNAL + 9,
	    "killed by SIGKILL: 128 + 9");
	free(out);
}

static void
test_capture(void)
{
	char	*argv[] = { sh, dash_c, "echo out; echo err >&2", NULL };
	char	*out;
	struct spawn s;
	int	 st;

	st = sh_run("echo out; echo err >&2", NULL, 0, &out);
	T_EQ_U(st, 0, "capture: status");
	T_EQ_S(out, "out\nerr\n", "stdout and stderr captured in order");
	free(out);

	memset(&s, 0, sizeof(s));
	s.path = "/bin/sh";
	s.argv = argv;
	s.out = SPAWN_CAPTURE;
	s.err = SPAWN_NULL;
	s.cap_max = 100;
	T_EQ_U(spawn_run(&s, &out), 0, "stderr to /dev/null: status");
	T_EQ_S(out, "out\n", "stderr to /dev/null: only stdout captured");
	free(out);

	/* 1 MB of output into 1000 bytes: cut, and the program is not
	 * blocked on a full pipe */
	argv[2] = "head -c 1000000 /dev/zero | tr '\\0' x";
	s.err = SPAWN_TO_OUT;
	s.cap_max = 1000;
	s.time_ms = 10000;
	st = spawn_run(&s, &out);
	T_EQ_U(st, 0, "bounded capture: the program ran to its end");
	T_EQ_U(out != NULL ? strlen(out) : 0, 1000,
	    "bounded capture: cut at cap_max");
	free(out);

	s.cap_max = 0;
	st = spawn_run(&s, &out);
	T_EQ_U(st, 0, "capture of nothing: status");
	T_EQ_S(out, "", "capture of nothing: an empty string");
	free(out);
}

static void
test_stdin(void)
{
	char	*out, *big;
	size_t	 i, n = 1 << 20;
	int	 st;

	st = sh_run("cat; echo end", NULL, 5000, &out);
	T_EQ_U(st, 0, "stdin from /dev/null: status");
	T_EQ_S(out, "end\n", "stdin from /dev/null: empty at once");
	free(out);
	st = sh_run("cat", "a\nb\n", 5000, &out);
	T_EQ_S(out, "a\nb\n", "stdin from given bytes");
	free(out);
	/* more than a pipe holds, both ways: no deadlock */
	if ((big = malloc(n + 1)) == NULL)
		exit(2);
	for (i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	big[n] = '\0';
	st = sh_run("cat", big, 10000, &out);
	T_EQ_U(st, 0, "1 MB through stdin and out: status");
	T_OK(out != NULL && strcmp(out, big) == 0,
	    "1 MB through stdin and out: the same bytes");
	free(out);
	free(big);
}

static void
test_environment(void)
{
	char	*argv[] = { "env", NULL };
	char	*out;
	struct spawn s;

	setenv("MAILGOV_TEST_SECRET", "leak", 1);
	setenv("LD_PRELOAD", "", 1);
	memset(&s, 0, sizeof(s));
	s.path = "/usr/bin/env";
	s.argv = argv;
	s.out = SPAWN_CAPTURE;
	s.cap_max = 4096;
	T_EQ_U(spawn_run(&s, &out), 0, "env: status");
	T_EQ_S(out, SPAWN_PATH "\n", "env: the fixed PATH and nothing else");
	free(out);
	unsetenv("MAILGOV_TEST_SECRET");
	unsetenv("LD_PRELOAD");
}

/* hook - a pre-exec hook that moves to / or refuses */
static int
hook(void *arg)
{
	if (*(int *)arg)
		return -1;
	return chdir("/");
}

static void
test_pre_exec(void)
{
	char	*argv[] = { sh, dash_c, "pwd", NULL };
	char	*out;
	struct spawn s;
	int	 refuse = 0;

	if (chdir("/tmp") == -1)
		exit(2);
	memset(&s, 0, sizeof(s));
	s.path = "/bin/sh";
	s.argv = argv;
	s.out = SPAWN_CAPTURE;
	s.cap_max = 100;
	s.pre_exec = hook;
	s.arg = &refuse;
	T_EQ_U(spawn_run(&s, &out), 0, "pre-exec hook: status");
	T_EQ_S(out, "/\n", "pre-exec hook ran in the child, before exec");
	free(out);
	refuse = 1;
	T_EQ_U(spawn_run(&s, &out), 126, "a refusing hook: exit 126");
	T_EQ_S(out, "", "a refusing hook: nothing ran");
	free(out);
}

static void
test_process_group(void)
{
	char	*out = NULL;
	long	 pid = 0, pgid = 0;
	int	 st;

	/* field 5 of /proc/PID/stat is the process group */
	st = sh_run("echo $$; cut -d' ' -f5 /proc/$$/stat", NULL, 5000,
	    &out);
	T_EQ_U(st, 0, "process group: status");
	if (out == NULL || sscanf(out, "%ld\n%ld", &pid, &pgid) != 2)
		pid = -1;
	T_OK(pid > 0 && pgid == pid,
	    "a group of its own: pid %ld, pgid %ld", pid, pgid);
	T_OK(pgid != (long)getpgrp(), "not the caller's group (%ld)",
	    (long)getpgrp());
	free(out);
}

static void
test_exec_failure(void)
{
	char	*argv[] = { "nonexistent", NULL };
	char	*out = (char *)1;
	struct spawn s;
	int	 st;

	memset(&s, 0, sizeof(s));
	s.path = "/nonexistent/mailgov-test";
	s.argv = argv;
	s.out = SPAWN_CAPTURE;
	s.cap_max = 100;
	errno = 0;
	st = spawn_run(&s, &out);
	T_OK(st == SPAWN_FAILED && errno == ENOENT,
	    "exec of a missing file: SPAWN_FAILED with ENOENT, saw %d, %s",
	    st, strerror(errno));
	T_OK(out == NULL, "exec failure: no output");
}

static void
test_time_limit_kills_the_group(void)
{
	char	*out = NULL;
	long	 kid = 0, grandkid = 0;
	uint64_t t0, took;
	int	 st;

	/* the grandchild holds the capture pipe too */
	t0 = clock_mono_ms();
	st = sh_run("sleep 60 & echo $$ $!; sleep 60", NULL, 300, &out);
	took = clock_mono_ms() - t0;
	T_OK(st == SPAWN_TIMEDOUT, "sleeper: timed out, saw %d", st);
	T_OK(took >= 300 && took < 300 + SPAWN_GRACE_MS + 1000,
	    "sleeper: stopped after the limit (%" PRIu64 " ms)", took);
	if (out == NULL || sscanf(out, "%ld %ld", &kid, &grandkid) != 2)
		kid = grandkid = -1;
	T_OK(kid > 0 && gone((pid_t)kid), "sleeper: the child is gone");
	T_OK(grandkid > 0 && wait_gone((pid_t)grandkid, 2000),
	    "sleeper: the grandchild is gone too");
	free(out);
}

static void
test_time_limit_sigkill_after_grace(void)
{
	char	*out = NULL;
	long	 kid = 0, grandkid = 0;
	uint64_t t0, took;
	int	 st;

	/* both ignore SIGTERM: only the SIGKILL after the grace ends them */
	t0 = clock_mono_ms();
	st = sh_run("trap '' TERM; sleep 60 & echo $$ $!; sleep 60", NULL,
	    200, &out);
	took = clock_mono_ms() - t0;
	T_OK(st == SPAWN_TIMEDOUT, "TERM-proof: timed out, saw %d", st);
	T_OK(took >= 200 + SPAWN_GRACE_MS &&
	    took < 200 + SPAWN_GRACE_MS + 1000,
	    "TERM-proof: killed after limit and grace (%" PRIu64 " ms)",
	    took);
	if (out == NULL || sscanf(out, "%ld %ld", &kid, &grandkid) != 2)
		kid = grandkid = -1;
	T_OK(kid > 0 && gone((pid_t)kid), "TERM-proof: the child is gone");
	T_OK(grandkid > 0 && wait_gone((pid_t)grandkid, 2000),
	    "TERM-proof: the grandchild is gone too");
	free(out);
}

static void
test_within_the_limit(void)
{
	char	*out;

	T_EQ_U(sh_run("sleep 0.1; echo done", NULL, 5000, &out), 0,
	    "a program within its limit: its status");
	T_EQ_S(out, "done\n", "a program within its limit: its output");
	free(out);
}

static void
test_caller_variables(void)
{
	char	*argv[] = { "env", NULL };
	char	*vars[] = { "MAILGOV_EVENT=budget_over", "MAILGOV_SCRIPT=",
		    NULL };
	char	*many[SPAWN_ENV_MAX + 2];
	char	*out;
	struct spawn s;
	size_t	 i;

	memset(&s, 0, sizeof(s));
	s.path = "/usr/bin/env";
	s.argv = argv;
	s.out = SPAWN_CAPTURE;
	s.cap_max = 4096;
	s.env = vars;
	T_EQ_U(spawn_run(&s, &out), 0, "variables: status");
	T_EQ_S(out, SPAWN_PATH "\nMAILGOV_EVENT=budget_over\nMAILGOV_SCRIPT=\n",
	    "variables: PATH, then the caller's, in order");
	free(out);
	for (i = 0; i < SPAWN_ENV_MAX + 1; i++)
		many[i] = "X=1";
	many[i] = NULL;
	s.env = many;
	errno = 0;
	T_OK(spawn_run(&s, &out) == SPAWN_FAILED && errno == EINVAL,
	    "more than SPAWN_ENV_MAX variables: refused with EINVAL");
}

/* check_until - spawn_check every 10 ms until it is over */
static int
check_until(struct spawn_child *c, unsigned ms)
{
	uint64_t end = clock_mono_ms() + ms;
	int	 st;

	while ((st = spawn_check(c, clock_mono_ms())) == SPAWN_RUNNING &&
	    clock_mono_ms() < end)
		usleep(10000);
	return st;
}

static void
test_start_and_check(void)
{
	char	*argv[] = { sh, dash_c, "read x; exit $x", NULL };
	char	*hang[] = { sh, dash_c, "sleep 60 & echo $! > \"$F\"; sleep 60",
		    NULL };
	char	 file[] = "/tmp/test_spawn.XXXXXX", var[64], buf[32];
	char	*vars[] = { var, NULL };
	struct spawn s;
	struct spawn_child c;
	uint64_t t0, took;
	long	 grandkid = -1;
	FILE	*fp;
	int	 st, fd;

	memset(&s, 0, sizeof(s));
	s.path = "/bin/sh";
	s.argv = argv;
	s.in = "7\n";
	s.out = SPAWN_NULL;
	s.err = SPAWN_NULL;
	s.time_ms = 5000;
	T_OK(spawn_start(&s, &c) == 0, "start: started");
	T_OK(c.pid > 0, "start: a pid");
	T_EQ_U(check_until(&c, 5000), 7, "start: its exit status, from stdin");
	T_OK(c.pid == -1 && c.report == -1, "start: spent after the check");

	s.out = SPAWN_CAPTURE;
	errno = 0;
	T_OK(spawn_start(&s, &c) == -1 && errno == EINVAL,
	    "start: no capture");

	s.out = SPAWN_NULL;
	s.path = "/nonexistent/program";
	T_OK(spawn_start(&s, &c) == 0, "start of a missing program: forked");
	st = check_until(&c, 5000);
	T_OK(st == SPAWN_FAILED && errno == ENOENT,
	    "start of a missing program: failed with ENOENT (%d)", st);

	if ((fd = mkstemp(file)) == -1)
		exit(2);
	close(fd);
	snprintf(var, sizeof(var), "F=%s", file);
	s.path = "/bin/sh";
	s.argv = hang;
	s.in = NULL;
	s.env = vars;
	s.time_ms = 300;
	t0 = clock_mono_ms();
	T_OK(spawn_start(&s, &c) == 0, "hanging: started");
	T_EQ_U(spawn_check(&c, clock_mono_ms()), (uint64_t)(int64_t)
	    SPAWN_RUNNING, "hanging: running at first");
	st = check_until(&c, 5000);
	took = clock_mono_ms() - t0;
	T_OK(st == SPAWN_TIMEDOUT, "hanging: timed out, saw %d", st);
	T_OK(took >= 300 && took < 300 + SPAWN_GRACE_MS,
	    "hanging: stopped at the limit (%" PRIu64 " ms)", took);
	if ((fp = fopen(file, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) != NULL)
			grandkid = strtol(buf, NULL, 10);
		fclose(fp);
	}
	T_OK(grandkid > 0 && wait_gone((pid_t)grandkid, 2000),
	    "hanging: what it forked is gone too");
	unlink(file);
}

int
main(void)
{
	test_status();
	test_capture();
	test_stdin();
	test_environment();
	test_pre_exec();
	test_process_group();
	test_exec_failure();
	test_time_limit_kills_the_group();
	test_time_limit_sigkill_after_grace();
	test_within_the_limit();
	test_caller_variables();
	test_start_and_check();
	return t_done();
}

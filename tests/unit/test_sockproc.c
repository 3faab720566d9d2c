/*
 * test_sockproc - the process behind a socket: the scan of /proc finds
 * the process that holds a socket by its UID and inode (this process, a
 * child that holds it alone), and nobody for another UID, an inode no
 * one holds or inode 0; it stops at its bound.  As root, the helper
 * answers through the loop, once per socket, with what the scan found.
 * Prints the time of a whole scan of this host's /proc, the worst case.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "loop.h"
#include "origin.h"
#include "sockproc.h"
#include "t.h"

static void
stop(void *arg)
{
	loop_stop(arg);
}

static char	late_qid[SP_QIDLEN];
static uint32_t	late_pid;

static void
late(void *arg, const char *qid, int64_t account, const struct origin *o)
{
	(void)arg;
	(void)account;
	snprintf(late_qid, sizeof(late_qid), "%s", qid);
	late_pid = o->pid;
}

int
main(void)
{
	struct origin	 o;
	struct stat	 sb;
	struct sp_stats	 st;
	struct sockproc	*sp;
	struct loop	*loop;
	char		 exe[ORIGIN_READ_MAX], want[ORIGIN_MAX];
	uint32_t	 n, uid = (uint32_t)getuid();
	uint64_t	 t0;
	ssize_t		 k;
	pid_t		 pid;
	int		 s, p[2], i, r;

	alarm(30);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    fstat(s, &sb) == -1) {
		perror("socket");
		return 1;
	}
	k = readlink("/proc/self/exe", exe, sizeof(exe));
	origin_clean(want, sizeof(want), exe, k > 0 ? (size_t)k : 0);

	T_EQ_U(sockproc_scan("/proc", uid, sb.st_ino, 1000, SP_SCAN_MAX, NULL,
	    0, &o, &n), SP_FOUND, "this process's socket is found");
	T_EQ_U(o.pid, getpid(), "its pid");
	T_EQ_S(o.exe, want, "its executable");
	T_OK(strstr(o.cmd, "test_sockproc") != NULL, "its command line: %s",
	    o.cmd);
	T_EQ_U(o.script[0], 0, "no script: nobody claimed one");

	T_EQ_U(sockproc_scan("/proc", uid + 12345, sb.st_ino, 1000,
	    SP_SCAN_MAX, NULL, 0, &o, &n), SP_NOTFOUND,
	    "another UID's processes only");
	T_EQ_U(o.pid, 0, "nobody named for another UID");
	T_EQ_U(sockproc_scan("/proc", uid, 0, 1000, SP_SCAN_MAX, NULL, 0, &o,
	    &n), SP_NOTFOUND, "inode 0 (a socket its owner closed)");
	T_EQ_U(sockproc_scan("/proc", uid, sb.st_ino, 1000, 3, NULL, 0, &o,
	    &n),
	    SP_BOUNDED, "stops at its bound of entries");
	T_OK(n <= 3, "read %u entries, bound 3", n);
	T_EQ_U(sockproc_scan("/nonexistent", uid, sb.st_ino, 1000,
	    SP_SCAN_MAX, NULL, 0, &o, &n), SP_NOTFOUND, "no /proc");

	/* a child holds it alone: the child is named */
	if (pipe(p) == -1 || (pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		char c;

		close(p[1]);
		if (read(p[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[0]);
	close(s);
	T_EQ_U(sockproc_scan("/proc", uid, sb.st_ino, 1000, SP_SCAN_MAX, NULL,
	    0, &o, &n), SP_FOUND, "the socket held by a child");
	T_EQ_U(o.pid, pid, "the child's pid");
	T_EQ_U(sockproc_scan("/proc", uid, sb.st_ino, 1000, SP_SCAN_MAX, &pid,
	    1, &o, &n), SP_FOUND, "found through a hint");
	T_OK(n < 64, "a hint reads one fd directory: %u entries", n);
	T_EQ_U(o.pid, pid, "the hinted child");
	close(p[1]);
	waitpid(pid, NULL, 0);
	T_EQ_U(sockproc_scan("/proc", uid, sb.st_ino, 1000, SP_SCAN_MAX, &pid,
	    1, &o, &n), SP_NOTFOUND, "closed everywhere: nobody");

	/* the worst case: a whole scan for an inode nobody holds, of every
	 * process of this UID */
	t0 = clock_mono_us();
	for (i = 0; i < 20; i++)
		(void)sockproc_scan("/proc", uid, 1, 1000, SP_SCAN_MAX, NULL,
		    0, &o, &n);
	printf("# a whole scan: %u entries in %" PRIu64 " us\n", n,
	    (clock_mono_us() - t0) / 20);

	if (getuid() != 0) {
		printf("# not root: the helper is not tried\n");
		return t_done();
	}
	/* the helper, through the loop */
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    fstat(s, &sb) == -1 || (loop = loop_new()) == NULL ||
	    loop_on_turn(loop, stop, loop) == -1)
		return 1;
	sp = sockproc_new(loop, 0, 0);
	T_OK(sp != NULL, "the helper starts");
	if (sp == NULL)
		return t_done();
	T_EQ_U(sockproc_origin(sp, uid, sb.st_ino, SP_ASK_SYN, &o), 0,
	    "the first question is not answered at once");
	T_EQ_U(sockproc_origin(sp, uid, sb.st_ino, SP_ASK_SYN, &o), 0,
	    "nor the second, while the helper works");
	T_EQ_U(sockproc_direct(sp, uid, sb.st_ino), 1,
	    "asked by the kernel path: a direct socket");
	sockproc_on_late(sp, late, NULL);
	T_EQ_U(sockproc_later(sp, uid, sb.st_ino, "4F2A1B3C", 7), 0,
	    "a held message waits for the answer");
	T_EQ_U(sockproc_later(sp, uid, sb.st_ino + 1, "4F2A1B3D", 7), -1,
	    "not for a socket nobody asked about");
	for (i = 0; i < 50 && (r = sockproc_origin(sp, uid, sb.st_ino, 0,
	    &o)) == 0; i++)
		(void)loop_run(loop);
	T_EQ_U(r, 1, "the answer has come");
	T_EQ_U(o.pid, getpid(), "the helper named this process");
	T_EQ_S(o.exe, want, "and its executable");
	T_EQ_S(late_qid, "4F2A1B3C", "the late one is named");
	T_EQ_U(late_pid, getpid(), "with the process");
	T_EQ_U(sockproc_later(sp, uid, sb.st_ino, "4F2A1B3E", 7), -1,
	    "nothing waits once the answer is there");
	T_EQ_U(sockproc_origin(sp, uid + 2, 78, 0, &o), 0,
	    "not asked: nothing known");
	(void)sockproc_origin(sp, uid + 1, 77, SP_ASK, &o);
	T_EQ_U(sockproc_direct(sp, uid + 1, 77), 0,
	    "asked by the policy server: not known to be direct");
	for (i = 0; i < 50; i++) {
		sockproc_stats(sp, &st);
		if (st.notfound > 0)
			break;
		(void)loop_run(loop);
	}
	sockproc_stats(sp, &st);
	T_EQ_U(st.asked, 2, "asked once per socket");
	T_EQ_U(st.found, 1, "found one");
	T_EQ_U(st.notfound, 1, "and not the other");
	T_EQ_U(sockproc_origin(sp, uid + 1, 77, SP_ASK, &o), 0,
	    "nobody for a socket nobody holds");
	printf("# helper: %" PRIu64 " us scanning for 2 answers\n", st.usec);
	sockproc_free(sp);
	loop_free(loop);
	close(s);
	return t_done();
}

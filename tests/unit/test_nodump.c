/* No core file, no dumpable process (certcore/src/nodump.c; umd and edgesync call it first),
 * checked in forked children. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "certcore/nodump.h"
#include "testutil.h"

/* Runs fn in a child and returns its exit status (or 128 + the signal that ended it). */
static int
in_child(int (*fn)(void), int *wstatus)
{
	pid_t pid;
	int st = 0;

	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(fn());
	CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
	if (wstatus != NULL)
		*wstatus = st;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Exit codes name the first check that failed. */
static int
child_nodump(void)
{
	struct rlimit rl, raise = {RLIM_INFINITY, RLIM_INFINITY};

	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
		return 10; /* a fresh process is dumpable: the check below means something */
	if (cc_nodump() != CC_OK)
		return 11;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 12;
	if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 || rl.rlim_max != 0)
		return 13;
	/* without CAP_SYS_RESOURCE the hard limit cannot come back */
	if (geteuid() != 0 && (setrlimit(RLIMIT_CORE, &raise) == 0 || errno != EPERM))
		return 14;
	/* twice is harmless */
	if (cc_nodump() != CC_OK)
		return 15;
	return 0;
}

static void
test_nodump(void)
{
	CU_ASSERT_EQUAL(in_child(child_nodump, NULL), 0);
}

static char crash_dir[] = "/tmp/cc-nodump.XXXXXX";

/*
 * A crash after cc_nodump() leaves no core: the kernel's core-dumped bit stays clear and the
 * directory it crashed in stays empty.
 */
static int
child_crash(void)
{
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};

	/* as much core as the system allows (a sanitizer lowers it at start), before the call */
	(void)setrlimit(RLIMIT_CORE, &rl);
	if (chdir(crash_dir) != 0)
		return 20;
	if (cc_nodump() != CC_OK)
		return 21;
	signal(SIGABRT, SIG_DFL);
	abort();
}

static void
test_crash_leaves_no_core(void)
{
	int st = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(crash_dir));
	CU_ASSERT_EQUAL(in_child(child_crash, &st), 128 + SIGABRT);
	CU_ASSERT(WIFSIGNALED(st) && !WCOREDUMP(st));
	/* empty: no core file (rmdir refuses a directory that is not) */
	CU_ASSERT_EQUAL(rmdir(crash_dir), 0);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"non-dumpable, core limit 0 soft and hard", test_nodump},
	        {"a crash afterwards dumps no core", test_crash_leaves_no_core},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("nodump", tests);
}

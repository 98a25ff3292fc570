/*
 * edgesync: the EdgeSync replicator and its administration.
 *
 *   edgesync [-c FILE] [-n] [--log-format text|json] VERB [options]
 *
 * The configuration is -c FILE, else $EDGESYNC_CONF, else /etc/umedge/edgesync.conf; -n checks
 * it and exits (0 when it is good). Exit status: 0 success, 1 failure, 2 usage error, 3 (start)
 * an edge was skipped because another replicator holds its lease. Passwords are never taken
 * from the command line: the configuration names files that hold them. The process makes itself
 * non-dumpable before anything else (certcore/nodump.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>
#include <unistd.h>

#include "edgesync.h"
#include "certcore/nodump.h"
#include "edgesync/subfile.h"
#include "testhook.h"

static const char *progname = "edgesync";

void
tool_msg(const struct tool *t, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s%s", progname, t && t->verb ? t->verb : "",
	        t && t->verb ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
tool_fail(const struct tool *t, enum es_err r)
{
	const char *d = es_errdetail();

	if (d != NULL && *d != '\0')
		tool_msg(t, "%s: %s", es_strerror(r), d);
	else
		tool_msg(t, "%s", es_strerror(r));
	return EXIT_FAILURE;
}

int
tool_usage(const struct tool *t, const char *help, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s%s", progname, t && t->verb ? t->verb : "",
	        t && t->verb ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", help);
	return EXIT_USAGE;
}

int
tool_parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

#ifdef UMEDGE_TEST_HOOKS
/*
 * EDGESYNC_TEST_PAUSE_AFTER=N (test builds only, UMEDGE_TEST_HOOKS): after the Nth confirmed write
 * of a cycle, say so on stderr and wait for SIGUSR1 (at most a minute), so a test can stop the edge
 * or kill -9 the replicator half way through a cycle.
 */
static long pause_after;
static volatile sig_atomic_t resumed;

static void
on_usr1(int sig)
{
	(void)sig;
	resumed = 1;
}

static void
test_pause(long confirmed)
{
	int waited;

	if (confirmed != pause_after)
		return;
	fprintf(stderr, "edgesync: test pause after %ld writes (pid %ld)\n", confirmed,
	        (long)getpid());
	for (waited = 0; !resumed && waited < 60; waited++)
		sleep(1);
}
#endif

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: edgesync [-c FILE] [-n] [--log-format text|json] VERB [options]\n"
	        "\n"
	        "verbs:\n"
	        "  subscription new --out FILE [--valid-minutes N] [--format text|json]\n"
	        "                                  (on the edge) make a subscription file and\n"
	        "                                  print the pin of the edge's key\n"
	        "  subscription import FILE --pin SHA256:...\n"
	        "                                  subscribe the edge of FILE, its key confirmed\n"
	        "                                  by the pin `new` printed, carried apart\n"
	        "  subscription list [--format text|json]\n"
	        "  subscription remove EDGE\n"
	        "  subscription add-cert EDGE FILE pin another certificate of the edge\n"
	        "  start [--edge NAME] [--full] [--rotate-credential]\n"
	        "                                  one synchronization cycle now\n"
	        "  run                             synchronize continuously (SIGTERM stops)\n"
	        "  test [--edge NAME] [--full-compare] [--format text|json]\n"
	        "                                  Test-EdgeSynchronization\n"
	        "  seed export --edge NAME --out FILE.ldif [--hold-minutes N]\n"
	        "  seed commit --edge NAME FILE.ldif\n"
	        "                                  a new edge's first sync loaded offline\n"
	        "                                  (slapadd) between the two\n"
	        "\n"
	        "The configuration is -c FILE, else $EDGESYNC_CONF, else " ES_CONFIG_DEFAULT_PATH
	        ".\n"
	        "-n checks the configuration and exits.\n");
}

static const struct {
	const char *name;
	int (*fn)(struct tool *, int, char **);
} verbs[] = {
        {"subscription", cmd_subscription},
        {"start", cmd_start},
        {"run", cmd_run},
        {"test", cmd_test},
        {"seed", cmd_seed},
};

int
main(int argc, char **argv)
{
	const char *conf = getenv("EDGESYNC_CONF"), *logfmt = NULL;
	struct tool t;
	enum cc_log_format fmt;
	enum es_err r;
	bool check = false;
	int i = 1, status = EXIT_USAGE;
	size_t v;

	memset(&t, 0, sizeof(t));
	/* before any password file, subscription file or key is read: a crash while one is in
	 * memory writes no core file */
	if (cc_nodump() != CC_OK) {
		fprintf(stderr, "%s: %s\n", progname, cc_errdetail());
		return EXIT_FAILURE;
	}
	/* a directory that goes away while a write is in flight must fail the write (EPIPE), not
	 * kill the process */
	signal(SIGPIPE, SIG_IGN);
	/* every buffer jansson frees is wiped: subscription files hold a password */
	es_json_wipe_on_free();
	if (conf == NULL || *conf == '\0')
		conf = ES_CONFIG_DEFAULT_PATH;
#ifdef UMEDGE_TEST_HOOKS
	if (getenv("EDGESYNC_TEST_PAUSE_AFTER") != NULL &&
	    (pause_after = strtol(getenv("EDGESYNC_TEST_PAUSE_AFTER"), NULL, 10)) > 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr1;
		sigaction(SIGUSR1, &sa, NULL);
		es_writer_test_hook = test_pause;
	}
#endif
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			conf = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-n") == 0) {
			check = true;
			i++;
		} else if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc) {
			logfmt = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else {
			fprintf(stderr, "%s: unknown option \"%s\"\n", progname, argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (logfmt != NULL && cc_log_format_parse(logfmt, &fmt) != CC_OK) {
		fprintf(stderr, "%s: --log-format \"%s\": want text or json\n", progname, logfmt);
		return EXIT_USAGE;
	}
	if (!check && i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((r = es_config_load(conf, &t.cfg)) != ES_OK) {
		fprintf(stderr, "%s: %s\n", progname, es_errdetail());
		return EXIT_FAILURE;
	}
	if (check) {
		printf("%s: configuration OK\n", conf);
		status = EXIT_SUCCESS;
		goto out;
	}
	if (logfmt == NULL)
		fmt = t.cfg->log_format;
	t.log_format = fmt;
	if (cc_log_new(fmt, stderr, "edgesync", false, &t.log) != CC_OK) {
		fprintf(stderr, "%s: out of memory\n", progname);
		status = EXIT_FAILURE;
		goto out;
	}
	for (v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
		if (strcmp(argv[i], verbs[v].name) == 0) {
			t.verb = verbs[v].name;
			status = verbs[v].fn(&t, argc - i, argv + i);
			goto out;
		}
	}
	fprintf(stderr, "%s: unknown verb \"%s\"\n", progname, argv[i]);
	usage(stderr);
	status = EXIT_USAGE;
out:
	cc_log_free(t.log);
	es_config_free(t.cfg);
	return status;
}

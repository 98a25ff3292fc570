/* edgesync start (one cycle, Start-EdgeSynchronization) and run (the replicator daemon: its
 * schedule and passes are the library's, daemon.h; here the signals and the sleep). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgesync.h"
#include "edgesync/daemon.h"
#include "edgesync/progress.h"
#include "edgesync/replicator.h"
#include "edgesync/subscription.h"
#include "edgesync/sync.h"

static const char help_start[] =
        "usage: edgesync start [--edge NAME] [--full] [--rotate-credential]\n";
static const char help_run[] = "usage: edgesync run\n";

/* The subscriptions to work on: one (--edge) or all. */
static enum es_err
load_subs(struct es_replicator *rep, const char *edge, struct es_subscription ***subs, size_t *n)
{
	struct es_subscription *s = NULL;
	char *dn = NULL;
	enum es_err r;

	*subs = NULL;
	*n = 0;
	if (edge == NULL)
		return es_subscription_list(es_replicator_source(rep),
		                            es_replicator_config(rep)->subscriptions, subs, n);
	if ((r = es_subscription_dn(es_replicator_config(rep)->subscriptions, edge, &dn)) != ES_OK)
		return r;
	r = es_subscription_load(es_replicator_source(rep), dn, &s);
	free(dn);
	if (r != ES_OK)
		return r;
	if ((*subs = calloc(1, sizeof(**subs))) == NULL) {
		es_subscription_free(s);
		return ES_ERR_NOMEM;
	}
	(*subs)[0] = s;
	*n = 1;
	return ES_OK;
}

int
cmd_start(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {{"edge", required_argument, NULL, 'e'},
	                                     {"full", no_argument, NULL, 'f'},
	                                     {"rotate-credential", no_argument, NULL, 'r'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct es_replicator *rep = NULL;
	struct es_subscription **subs = NULL;
	struct es_progress *progress = NULL;
	struct es_sync_opts so;
	struct es_sync_result res;
	const char *edge = NULL;
	size_t n = 0, i, failed = 0, skipped = 0;
	enum es_err r;
	int c, status = EXIT_FAILURE;

	memset(&so, 0, sizeof(so));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			edge = optarg;
			break;
		case 'f':
			so.full = true;
			break;
		case 'r':
			so.rotate_now = true;
			break;
		case 'h':
			fputs(help_start, stdout);
			return EXIT_SUCCESS;
		default:
			return tool_usage(t, help_start, "bad option");
		}
	}
	if (optind != argc)
		return tool_usage(t, help_start, "start takes no arguments");
	if ((r = es_replicator_open_with(t->cfg, t->log,
	                                 ES_REPLICATOR_HOLD_KEYS | ES_REPLICATOR_IDENTITY, &rep)) !=
	            ES_OK ||
	    (r = load_subs(rep, edge, &subs, &n)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	if (tty_progress_wanted(t->log_format, stderr)) {
		struct es_progress_opts po = {
		        .first = 0,
		        .interval = 0.2,
		        .final = true,
		        .report = tty_progress_report,
		        .report_arg = stderr,
		};

		if ((r = es_progress_new(&po, &progress)) != ES_OK) {
			status = tool_fail(t, r);
			goto out;
		}
		es_replicator_set_progress(rep, progress);
	}
	if (n == 0)
		tool_msg(t, "no edge is subscribed under %s", t->cfg->subscriptions);
	for (i = 0; i < n; i++) {
		r = es_sync_edge(rep, subs[i], &so, &res);
		if (r == ES_OK) {
			printf("%s: synchronized: %ld added, %ld modified, %ld deleted, %ld "
			       "unchanged "
			       "in %ld areas%s\n",
			       subs[i]->name, res.added, res.modified, res.deleted, res.unchanged,
			       res.areas, so.full ? " (full compare)" : "");
		} else if (res.skipped) {
			skipped++;
			printf("%s: skipped: %s\n", subs[i]->name, es_errdetail());
		} else {
			failed++;
			printf("%s: failed: %s\n", subs[i]->name, es_errdetail());
		}
	}
	status = failed ? EXIT_FAILURE : skipped ? EXIT_SKIPPED : EXIT_SUCCESS;
out:
	es_subscription_list_free(subs, n);
	es_replicator_free(rep);
	es_progress_free(progress);
	return status;
}

#define PROGRESS_LOG_SECONDS 10.0

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* SIGCHLD: only the key holder is a child; the handler's work is to cut the sleep short. */
static void
on_child(int sig)
{
	(void)sig;
}

static void
sleep_until(time_t when)
{
	struct timespec ts;
	time_t now = time(NULL);

	if (when <= now)
		when = now + 1;
	if (when - now > 30)
		when = now + 30;
	ts.tv_sec = when - now;
	ts.tv_nsec = 0;
	/* a signal ends the sleep (EINTR): the loop then sees stop_flag */
	nanosleep(&ts, NULL);
}

int
cmd_run(struct tool *t, int argc, char **argv)
{
	struct es_progress *progress = NULL;
	struct es_replicator *rep = NULL;
	struct es_daemon *d = NULL;
	struct sigaction sa;
	enum es_err r;
	time_t wake;
	int status = EXIT_FAILURE;

	(void)argv;
	if (argc != 1)
		return tool_usage(t, help_run, "run takes no arguments");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a signal must cut a sleep or a wait short */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	if ((r = es_replicator_open_with(t->cfg, t->log,
	                                 ES_REPLICATOR_HOLD_KEYS | ES_REPLICATOR_IDENTITY, &rep)) !=
	    ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	es_replicator_set_stop(rep, &stop_flag);
	{
		/* a long cycle (a first sync of a large directory) says how far it is every
		 * PROGRESS_LOG_SECONDS; a shorter one logs only its EdgeSyncCompleted */
		struct es_progress_opts po = {
		        .first = PROGRESS_LOG_SECONDS,
		        .interval = PROGRESS_LOG_SECONDS,
		        .final = false,
		        .report = es_progress_log_report,
		        .report_arg = t->log,
		};

		if ((r = es_progress_new(&po, &progress)) != ES_OK) {
			status = tool_fail(t, r);
			goto out;
		}
		es_replicator_set_progress(rep, progress);
	}
	if ((r = es_daemon_new(rep, &d)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	cc_log_message(t->log, CC_LOG_INFO, "edgesync running as %s (source %s, %s)",
	               es_replicator_holder(rep), t->cfg->source_url,
	               es_replicator_source_mode(rep));
	/* the schedule is the library's (daemon.h, scheduler.h); here only the clock and signals */
	while (!stop_flag) {
		/* the key holder lost: the store's keys are out of reach (logged) */
		if (es_daemon_holder_lost(d))
			break;
		wake = es_daemon_pass(d, time(NULL));
		if (!stop_flag && !es_daemon_holder_lost(d))
			sleep_until(wake);
	}
	es_daemon_release(d);
	if (!stop_flag) {
		status = EXIT_FAILURE; /* the key holder is lost (logged) */
		goto out;
	}
	cc_log_message(t->log, CC_LOG_INFO, "edgesync stopped");
	status = EXIT_SUCCESS;
out:
	es_daemon_free(d);
	es_replicator_free(rep);
	es_progress_free(progress);
	return status;
}

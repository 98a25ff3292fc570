/* edgesync start (one cycle, Start-EdgeSynchronization) and run (the replicator daemon). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certcore/events.h"
#include "certcore/expiry.h"
#include "edgesync.h"
#include "edgesync/identity.h"
#include "edgesync/lease.h"
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
		return es_subscription_list(rep->source, rep->cfg->subscriptions, subs, n);
	if ((r = es_subscription_dn(rep->cfg->subscriptions, edge, &dn)) != ES_OK)
		return r;
	r = es_subscription_load(rep->source, dn, &s);
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
	if ((r = es_replicator_open(t->cfg, t->log, &rep)) != ES_OK ||
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
		rep->progress = progress;
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

/* What the daemon remembers about one edge between passes. */
struct edge_state {
	char *name;
	time_t *next; /* per rule: when it is due */
	bool held;    /* we hold the lease (logged once when another holds it) */
	bool told_held;
};

struct daemon {
	struct tool *t;
	struct es_replicator *rep;
	struct edge_state *edges;
	size_t nedges;
};

static struct edge_state *
edge_state(struct daemon *d, const char *name, time_t now)
{
	struct edge_state *ne;
	size_t i;

	for (i = 0; i < d->nedges; i++)
		if (strcmp(d->edges[i].name, name) == 0)
			return &d->edges[i];
	if ((ne = realloc(d->edges, (d->nedges + 1) * sizeof(*ne))) == NULL)
		return NULL;
	d->edges = ne;
	memset(&ne[d->nedges], 0, sizeof(*ne));
	if ((ne[d->nedges].name = strdup(name)) == NULL ||
	    (ne[d->nedges].next = calloc(d->rep->cfg->nrules, sizeof(time_t))) == NULL) {
		free(ne[d->nedges].name);
		return NULL;
	}
	for (i = 0; i < d->rep->cfg->nrules; i++)
		ne[d->nedges].next[i] = now;
	return &d->edges[d->nedges++];
}

/* One pass over every subscription; returns when the next thing is due (seconds). */
static time_t
pass(struct daemon *d, time_t now)
{
	const struct es_config *cfg = d->rep->cfg;
	struct es_subscription **subs = NULL;
	struct es_sync_opts so;
	struct es_sync_result res;
	struct edge_state *st;
	bool *due = NULL, any;
	time_t wake = now + 30, retry;
	size_t n = 0, i, k;
	enum es_err r;

	if ((r = es_subscription_list(d->rep->source, cfg->subscriptions, &subs, &n)) != ES_OK) {
		cc_log_message(d->t->log, CC_LOG_ERROR, "reading the subscriptions: %s",
		               es_errdetail());
		if (r == ES_ERR_CONNECT) {
			es_conn_close(d->rep->source);
			d->rep->source = NULL;
		}
		return now + 5;
	}
	if ((due = calloc(cfg->nrules, sizeof(*due))) == NULL)
		goto out;
	for (i = 0; i < n && !stop_flag; i++) {
		struct es_subscription *s = subs[i];
		enum es_lease_state ls = es_lease_state(s, d->rep->holder, now);

		if ((st = edge_state(d, s->name, now)) == NULL)
			goto out;
		if (ls == ES_LEASE_OTHER) {
			if (!st->told_held)
				cc_log_message(d->t->log, CC_LOG_INFO,
				               "edge %s: lease held by %s; this replicator waits",
				               s->name, s->lease_holder);
			st->told_held = true;
			st->held = false;
			/* try again when that lease runs out */
			if (s->lease_expiry + 1 < wake)
				wake = s->lease_expiry + 1;
			continue;
		}
		st->told_held = false;
		any = false;
		for (k = 0; k < cfg->nrules; k++) {
			due[k] = st->next[k] <= now;
			any = any || due[k];
		}
		if (!any) {
			/* nothing due: keep the lease alive */
			if (ls == ES_LEASE_MINE &&
			    es_lease_should_renew(s, cfg->lease_seconds, now) &&
			    es_lease_acquire(d->rep->source, s, d->rep->holder, cfg->lease_seconds,
			                     now, d->t->log) != ES_OK)
				cc_log_message(d->t->log, CC_LOG_WARNING,
				               "edge %s: renewing the lease: %s", s->name,
				               es_errdetail());
		} else {
			memset(&so, 0, sizeof(so));
			so.keep_lease = true;
			so.due = due;
			r = es_sync_edge(d->rep, s, &so, &res);
			st->held = r == ES_OK || (!res.skipped && s->lease_holder != NULL &&
			                          strcmp(s->lease_holder, d->rep->holder) == 0);
			/* a failed area is retried soon, not after a whole interval */
			retry = r == ES_OK ? 0
			                   : (time_t)(cfg->lease_seconds < 10 ? cfg->lease_seconds
			                                                      : 10);
			for (k = 0; k < cfg->nrules; k++)
				if (due[k])
					st->next[k] =
					        now + (retry ? retry : cfg->rules[k].interval);
		}
		for (k = 0; k < cfg->nrules; k++)
			if (st->next[k] < wake)
				wake = st->next[k];
		if (st->held && es_lease_renew_at(s, cfg->lease_seconds) < wake)
			wake = es_lease_renew_at(s, cfg->lease_seconds);
	}
out:
	free(due);
	es_subscription_list_free(subs, n);
	return wake;
}

/* Gives up every lease this process holds, so another replicator need not wait. */
static void
release_all(struct daemon *d)
{
	struct es_subscription **subs = NULL;
	size_t n = 0, i;
	enum es_err r;

	if (d->rep->source == NULL ||
	    es_subscription_list(d->rep->source, d->rep->cfg->subscriptions, &subs, &n) != ES_OK)
		return;
	for (i = 0; i < n; i++) {
		r = es_lease_release(d->rep->source, subs[i], d->rep->holder);
		(void)r;
	}
	es_subscription_list_free(subs, n);
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
	struct daemon d;
	struct sigaction sa;
	struct cc_cert *self = NULL;
	char when[32];
	enum es_err r;
	time_t now, wake;
	enum cc_err ce;
	size_t i;
	int status = EXIT_FAILURE;

	(void)argv;
	if (argc != 1)
		return tool_usage(t, help_run, "run takes no arguments");
	memset(&d, 0, sizeof(d));
	d.t = t;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a signal must cut a sleep or a wait short */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((r = es_replicator_open(t->cfg, t->log, &d.rep)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	d.rep->stop = &stop_flag;
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
		d.rep->progress = progress;
	}
	if ((r = es_identity_select(d.rep->store, true, t->log, &self)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	{
		struct cc_field f[] = {
		        CC_FSTR("service", "LDAP"),
		        CC_FSTR("thumbprint", cc_cert_thumbprint(self)),
		        CC_FSTR("issuer", cc_cert_issuer(self)),
		        CC_FSTR("serial", cc_cert_serial(self)),
		        CC_FSTR("not_after", cc_time_iso8601(cc_cert_not_after(self), when)),
		};
		cc_log_event(t->log, CC_LOG_INFO, CC_EV_CERTIFICATE_IN_USE, f,
		             sizeof(f) / sizeof(f[0]));
	}
	cc_log_message(t->log, CC_LOG_INFO, "edgesync running as %s (source %s, %s)", d.rep->holder,
	               t->cfg->source_url,
	               d.rep->source_ad     ? "Active Directory: DirSync"
	               : d.rep->source_sync ? "RFC 4533 offered"
	                                    : "RFC 4533 not offered: full compares");
	while (!stop_flag) {
		now = time(NULL);
		if ((ce = cc_expiry_tick(d.rep->store, self, "LDAP", t->log, now, NULL)) != CC_OK)
			cc_log_message(t->log, CC_LOG_WARNING, "expiry clock: %s: %s",
			               cc_strerror(ce), cc_errdetail());
		if (d.rep->source == NULL && (r = es_replicator_connect(d.rep)) != ES_OK) {
			cc_log_message(t->log, CC_LOG_ERROR, "source %s: %s", t->cfg->source_url,
			               es_errdetail());
			wake = now + 5;
		} else {
			wake = pass(&d, now);
		}
		if (!stop_flag)
			sleep_until(wake);
	}
	release_all(&d);
	cc_log_message(t->log, CC_LOG_INFO, "edgesync stopped");
	status = EXIT_SUCCESS;
out:
	for (i = 0; i < d.nedges; i++) {
		free(d.edges[i].name);
		free(d.edges[i].next);
	}
	free(d.edges);
	es_replicator_free(d.rep);
	es_progress_free(progress);
	return status;
}

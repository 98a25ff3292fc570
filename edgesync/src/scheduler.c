/* struct es_scheduler: when each edge and area of `edgesync run` is due (scheduler.h). */
#include <stdlib.h>
#include <string.h>

#include "edgesync/lease.h"
#include "edgesync/scheduler.h"
#include "internal.h"

/* What the scheduler remembers about one edge between passes. */
struct edge_state {
	char *name;
	time_t *next;   /* per rule: when it is due */
	bool held;      /* we hold the lease (renewed at half while nothing is due) */
	bool told_held; /* "lease held by ..." was logged: not again until it changes */
};

struct es_scheduler {
	const struct es_config *cfg; /* borrowed */
	const char *holder;          /* borrowed */
	struct cc_log *log;          /* borrowed, may be NULL */
	struct es_sched_ops ops;
	void *arg;
	struct edge_state *edges;
	size_t nedges;
	bool *due; /* per rule, for the cycle being started */
};

enum es_err
es_scheduler_new(const struct es_config *cfg, const char *holder, struct cc_log *log,
                 const struct es_sched_ops *ops, void *arg, struct es_scheduler **out)
{
	struct es_scheduler *sch;

	*out = NULL;
	if (ops->list == NULL || ops->sync == NULL || ops->renew == NULL)
		return es_seterr(ES_ERR_INVAL, "scheduler: list, sync and renew are required");
	if ((sch = calloc(1, sizeof(*sch))) == NULL ||
	    (sch->due = calloc(cfg->nrules > 0 ? cfg->nrules : 1, sizeof(*sch->due))) == NULL) {
		free(sch);
		return es_seterr(ES_ERR_NOMEM, "scheduler");
	}
	sch->cfg = cfg;
	sch->holder = holder;
	sch->log = log;
	sch->ops = *ops;
	sch->arg = arg;
	*out = sch;
	return ES_OK;
}

void
es_scheduler_free(struct es_scheduler *sch)
{
	size_t i;

	if (sch == NULL)
		return;
	for (i = 0; i < sch->nedges; i++) {
		free(sch->edges[i].name);
		free(sch->edges[i].next);
	}
	free(sch->edges);
	free(sch->due);
	free(sch);
}

/* The state of the edge `name`, made (every area due at `now`) the first time it is seen. */
static struct edge_state *
edge_state(struct es_scheduler *sch, const char *name, time_t now)
{
	struct edge_state *ne, *e;
	size_t i;

	for (i = 0; i < sch->nedges; i++)
		if (strcmp(sch->edges[i].name, name) == 0)
			return &sch->edges[i];
	if ((ne = realloc(sch->edges, (sch->nedges + 1) * sizeof(*ne))) == NULL)
		return NULL;
	sch->edges = ne;
	e = &ne[sch->nedges];
	memset(e, 0, sizeof(*e));
	if ((e->name = strdup(name)) == NULL ||
	    (e->next = calloc(sch->cfg->nrules > 0 ? sch->cfg->nrules : 1, sizeof(time_t))) ==
	            NULL) {
		free(e->name);
		e->name = NULL;
		return NULL;
	}
	for (i = 0; i < sch->cfg->nrules; i++)
		e->next[i] = now;
	sch->nedges++;
	return e;
}

static bool
stopping(const struct es_scheduler *sch)
{
	return sch->ops.stopping != NULL && sch->ops.stopping(sch->arg);
}

/* A failed cycle's areas are tried again soon, not after a whole interval; never later than
 * the lease would let another replicator in. */
static time_t
failure_retry(const struct es_config *cfg)
{
	return cfg->lease_seconds < ES_SCHED_FAILURE_RETRY ? cfg->lease_seconds
	                                                   : ES_SCHED_FAILURE_RETRY;
}

/* One edge at `now`; lowers *wake to when it next needs the scheduler. */
static enum es_err
edge_pass(struct es_scheduler *sch, struct es_subscription *s, time_t now, time_t *wake)
{
	const struct es_config *cfg = sch->cfg;
	enum es_lease_state ls = es_lease_state(s, sch->holder, now);
	struct es_sync_result res;
	struct edge_state *st;
	time_t retry;
	bool any = false;
	size_t k;
	enum es_err r;

	if ((st = edge_state(sch, s->name, now)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "edge %s: schedule", s->name);
	if (ls == ES_LEASE_OTHER) {
		if (!st->told_held)
			cc_log_message(sch->log, CC_LOG_INFO,
			               "edge %s: lease held by %s; this replicator waits", s->name,
			               s->lease_holder);
		st->told_held = true;
		st->held = false;
		/* looked at again when that lease runs out */
		if (s->lease_expiry + 1 < *wake)
			*wake = s->lease_expiry + 1;
		return ES_OK;
	}
	st->told_held = false;
	for (k = 0; k < cfg->nrules; k++) {
		sch->due[k] = st->next[k] <= now;
		any = any || sch->due[k];
	}
	if (!any) {
		/* nothing due: keep the lease alive */
		if (ls == ES_LEASE_MINE && es_lease_should_renew(s, cfg->lease_seconds, now) &&
		    sch->ops.renew(sch->arg, s, now) != ES_OK)
			cc_log_message(sch->log, CC_LOG_WARNING, "edge %s: renewing the lease: %s",
			               s->name, es_errdetail());
	} else {
		memset(&res, 0, sizeof(res));
		r = sch->ops.sync(sch->arg, s, sch->due, &res);
		st->held = r == ES_OK || (!res.skipped && s->lease_holder != NULL &&
		                          strcmp(s->lease_holder, sch->holder) == 0);
		retry = r == ES_OK ? 0 : failure_retry(cfg);
		for (k = 0; k < cfg->nrules; k++)
			if (sch->due[k])
				st->next[k] = now + (retry ? retry : cfg->rules[k].interval);
	}
	for (k = 0; k < cfg->nrules; k++)
		if (st->next[k] < *wake)
			*wake = st->next[k];
	if (st->held && es_lease_renew_at(s, cfg->lease_seconds) < *wake)
		*wake = es_lease_renew_at(s, cfg->lease_seconds);
	return ES_OK;
}

time_t
es_scheduler_pass(struct es_scheduler *sch, time_t now)
{
	struct es_subscription **subs = NULL;
	time_t wake = now + ES_SCHED_MAX_WAIT;
	size_t n = 0, i;

	if (sch->ops.list(sch->arg, &subs, &n) != ES_OK) {
		cc_log_message(sch->log, CC_LOG_ERROR, "reading the subscriptions: %s",
		               es_errdetail());
		return now + ES_SCHED_SOURCE_RETRY;
	}
	for (i = 0; i < n && !stopping(sch); i++) {
		if (edge_pass(sch, subs[i], now, &wake) != ES_OK) {
			cc_log_message(sch->log, CC_LOG_ERROR, "%s", es_errdetail());
			wake = now + ES_SCHED_SOURCE_RETRY;
			break;
		}
	}
	es_subscription_list_free(subs, n);
	/* a renewal that failed is due already: tried again in a second, not in a busy loop */
	return wake > now ? wake : now + 1;
}

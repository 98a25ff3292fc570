/*
 * The daemon's schedule (scheduler.c) on a fake clock: a fake source whose subscriptions and
 * leases live in memory, fake cycles that succeed or fail as the test says, and passes run at
 * the times the scheduler asks for. The schedule's times are the fake clock's, never the
 * machine's. The cycle itself against real directories is in edgesync_sync.sh and
 * edgesync_ha.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "edgesync/scheduler.h"
#include "es_testutil.h"

#define T0    1795863600
#define ME    "vm1/100/aaaaaaaa"
#define OTHER "vm2/200/bbbbbbbb"
#define NEDGE 3
#define NCALL 256

/* One edge as the fake source holds it. */
struct fake_edge {
	const char *name;
	char holder[64]; /* "" : no lease */
	time_t expiry;
	enum es_err result; /* what its next cycles return */
	bool lease_taken_on_failure;
};

struct call {
	char kind; /* 's' sync, 'r' renew */
	const char *edge;
	time_t at;
	bool due[2];
};

struct fake {
	struct fake_edge edges[NEDGE];
	size_t nedges;
	time_t now;
	enum es_err list_result;
	bool stop;
	struct es_config cfg;
	struct es_rule rules[2];
	struct call calls[NCALL];
	size_t ncalls;
	struct es_tu_log log;
	struct es_scheduler *sch;
};

static struct fake_edge *
find_edge(struct fake *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nedges; i++)
		if (strcmp(f->edges[i].name, name) == 0)
			return &f->edges[i];
	CU_FAIL_FATAL("unknown edge");
	return NULL;
}

/* The lease as the source has it, into a subscription read from it. */
static void
lease_into(const struct fake_edge *e, struct es_subscription *s)
{
	free(s->lease_holder);
	free(s->lease_expiry_raw);
	s->lease_holder = NULL;
	s->lease_expiry_raw = NULL;
	s->lease_expiry = 0;
	if (e->holder[0] != '\0') {
		s->lease_holder = strdup(e->holder);
		s->lease_expiry_raw = strdup("20261128110000Z");
		s->lease_expiry = e->expiry;
	}
}

static enum es_err
fake_list(void *arg, struct es_subscription ***subs, size_t *n)
{
	struct fake *f = arg;
	size_t i;

	*subs = NULL;
	*n = 0;
	if (f->list_result != ES_OK)
		return f->list_result;
	*subs = calloc(f->nedges + 1, sizeof(**subs));
	CU_ASSERT_PTR_NOT_NULL_FATAL(*subs);
	for (i = 0; i < f->nedges; i++) {
		struct es_subscription *s = calloc(1, sizeof(*s));

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		s->name = strdup(f->edges[i].name);
		s->dn = strdup(f->edges[i].name);
		lease_into(&f->edges[i], s);
		(*subs)[i] = s;
	}
	*n = f->nedges;
	return ES_OK;
}

static void
record(struct fake *f, char kind, const char *edge, const bool *due)
{
	struct call *c;

	CU_ASSERT_FATAL(f->ncalls < NCALL);
	c = &f->calls[f->ncalls++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->edge = find_edge(f, edge)->name;
	c->at = f->now;
	if (due != NULL)
		memcpy(c->due, due, sizeof(c->due));
}

/* As es_sync_edge: the lease is taken first (refused when another holds it), then the areas. */
static enum es_err
fake_sync(void *arg, struct es_subscription *s, const bool *due, struct es_sync_result *res)
{
	struct fake *f = arg;
	struct fake_edge *e = find_edge(f, s->name);

	record(f, 's', s->name, due);
	if (e->holder[0] != '\0' && strcmp(e->holder, ME) != 0 && e->expiry > f->now) {
		res->skipped = true;
		return ES_ERR_LEASE_HELD;
	}
	if (e->result == ES_OK || e->lease_taken_on_failure) {
		snprintf(e->holder, sizeof(e->holder), "%s", ME);
		e->expiry = f->now + f->cfg.lease_seconds;
		lease_into(e, s);
	}
	return e->result;
}

static enum es_err
fake_renew(void *arg, struct es_subscription *s, time_t now)
{
	struct fake *f = arg;
	struct fake_edge *e = find_edge(f, s->name);

	record(f, 'r', s->name, NULL);
	CU_ASSERT_EQUAL(now, f->now);
	if (e->result == ES_ERR_CONNECT)
		return ES_ERR_CONNECT; /* the source is down for this edge's writes too */
	e->expiry = now + f->cfg.lease_seconds;
	lease_into(e, s);
	return ES_OK;
}

static bool
fake_stopping(void *arg)
{
	return ((struct fake *)arg)->stop;
}

static const struct es_sched_ops fake_ops = {
        .list = fake_list,
        .sync = fake_sync,
        .renew = fake_renew,
        .stopping = fake_stopping,
};

/* Two areas: every `i0` and `i1` seconds; leases of `lease` seconds. */
static void
fake_open(struct fake *f, int i0, int i1, int lease)
{
	memset(f, 0, sizeof(*f));
	f->rules[0].name = "recipients";
	f->rules[0].interval = i0;
	f->rules[1].name = "domains";
	f->rules[1].interval = i1;
	f->cfg.rules = f->rules;
	f->cfg.nrules = 2;
	f->cfg.lease_seconds = lease;
	f->list_result = ES_OK;
	es_tu_log_open(&f->log, CC_LOG_TEXT);
	CU_ASSERT_EQUAL_FATAL(es_scheduler_new(&f->cfg, ME, f->log.log, &fake_ops, f, &f->sch),
	                      ES_OK);
}

static struct fake_edge *
fake_edge(struct fake *f, const char *name)
{
	struct fake_edge *e = &f->edges[f->nedges++];

	memset(e, 0, sizeof(*e));
	e->name = name;
	e->result = ES_OK;
	return e;
}

static void
fake_close(struct fake *f)
{
	es_scheduler_free(f->sch);
	es_tu_log_close(&f->log);
}

/* One pass at `now`; the scheduler's answer is later than now and no later than the cap. */
static time_t
pass(struct fake *f, time_t now)
{
	time_t wake;

	f->now = now;
	wake = es_scheduler_pass(f->sch, now);
	CU_ASSERT(wake > now);
	CU_ASSERT(wake <= now + ES_SCHED_MAX_WAIT);
	return wake;
}

/* Passes from `from` at the times asked for, until `until`; returns the time reached. */
static time_t
run_until(struct fake *f, time_t from, time_t until)
{
	time_t now = from;

	while (now < until)
		now = pass(f, now);
	return now;
}

/* The calls of one kind for one edge, in order: their times into `at` (up to `max`). */
static size_t
calls_of(const struct fake *f, char kind, const char *edge, time_t *at, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < f->ncalls; i++)
		if (f->calls[i].kind == kind && strcmp(f->calls[i].edge, edge) == 0) {
			if (n < max)
				at[n] = f->calls[i].at;
			n++;
		}
	return n;
}

static size_t
count_text(const char *text, const char *needle)
{
	size_t n = 0;

	while ((text = strstr(text, needle)) != NULL) {
		n++;
		text += strlen(needle);
	}
	return n;
}

/* Every area is due at once the first time; then each at its own interval. */
static void
test_due_times(void)
{
	struct fake f;
	time_t at[16];

	fake_open(&f, 60, 150, 300);
	fake_edge(&f, "edge1");
	/* the first pass syncs both areas; nothing else is due before the cap */
	CU_ASSERT_EQUAL(pass(&f, T0), T0 + ES_SCHED_MAX_WAIT);
	CU_ASSERT_EQUAL_FATAL(f.ncalls, 1);
	CU_ASSERT_EQUAL(f.calls[0].kind, 's');
	CU_ASSERT(f.calls[0].due[0] && f.calls[0].due[1]);
	/* at +30 nothing is due: no cycle */
	CU_ASSERT_EQUAL(pass(&f, T0 + 30), T0 + 60);
	CU_ASSERT_EQUAL(f.ncalls, 1);
	/* +60: the first area only */
	CU_ASSERT_EQUAL(pass(&f, T0 + 60), T0 + 90);
	CU_ASSERT_EQUAL_FATAL(f.ncalls, 2);
	CU_ASSERT(f.calls[1].due[0] && !f.calls[1].due[1]);
	/* a pass early (a wake-up by a signal) changes nothing */
	pass(&f, T0 + 61);
	CU_ASSERT_EQUAL(f.ncalls, 2);
	/* over the next ten minutes: the first area every 60 s, the second every 150 s */
	run_until(&f, T0 + 90, T0 + 600);
	CU_ASSERT_EQUAL_FATAL(calls_of(&f, 's', "edge1", at, 16), 12);
	CU_ASSERT_EQUAL(at[2], T0 + 120);
	CU_ASSERT_EQUAL(at[3], T0 + 150); /* the second area alone */
	CU_ASSERT(!f.calls[3].due[0] && f.calls[3].due[1]);
	CU_ASSERT_EQUAL(at[6], T0 + 300); /* both due: one cycle */
	CU_ASSERT(f.calls[6].due[0] && f.calls[6].due[1]);
	CU_ASSERT_EQUAL(at[11], T0 + 540);
	/* each cycle takes the lease again: no separate renewal was needed */
	CU_ASSERT_EQUAL(calls_of(&f, 'r', "edge1", at, 16), 0);
	fake_close(&f);
}

/* Nothing due for a long time: the lease is renewed once half of it has passed, not before. */
static void
test_renewal_at_half(void)
{
	struct fake f;
	time_t at[16];

	fake_open(&f, 900, 900, 300);
	fake_edge(&f, "edge1");
	run_until(&f, T0, T0 + 899);
	CU_ASSERT_EQUAL(calls_of(&f, 's', "edge1", at, 16), 1);
	/* renewed at +150, then every 150 s from each renewal */
	CU_ASSERT_EQUAL_FATAL(calls_of(&f, 'r', "edge1", at, 16), 5);
	CU_ASSERT_EQUAL(at[0], T0 + 150);
	CU_ASSERT_EQUAL(at[1], T0 + 300);
	CU_ASSERT_EQUAL(at[4], T0 + 750);
	/* the lease never ran out on the source meanwhile */
	CU_ASSERT(f.edges[0].expiry > T0 + 899);
	/* the areas come round at their interval */
	run_until(&f, T0 + 899, T0 + 901);
	CU_ASSERT_EQUAL(calls_of(&f, 's', "edge1", at, 16), 2);
	CU_ASSERT_EQUAL(at[1], T0 + 900);
	fake_close(&f);
}

/* A renewal that fails is logged and tried again a second later, not in a busy loop. */
static void
test_renewal_failure(void)
{
	struct fake f;
	time_t at[16];

	fake_open(&f, 900, 900, 300);
	fake_edge(&f, "edge1");
	run_until(&f, T0, T0 + 150);
	f.edges[0].result = ES_ERR_CONNECT;
	CU_ASSERT_EQUAL(pass(&f, T0 + 150), T0 + 151);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_tu_log_text(&f.log), "edge edge1: renewing the lease"));
	f.edges[0].result = ES_OK;
	CU_ASSERT_EQUAL(pass(&f, T0 + 151), T0 + 181);
	CU_ASSERT_EQUAL(calls_of(&f, 'r', "edge1", at, 16), 2);
	CU_ASSERT_EQUAL(at[1], T0 + 151);
	fake_close(&f);
}

/* A failed cycle is tried again after ES_SCHED_FAILURE_RETRY (no more than the lease), not after
 * the whole interval; a success puts the areas back on their intervals. */
static void
test_backoff_after_failure(void)
{
	struct fake f;
	struct fake_edge *e;
	time_t at[16];

	fake_open(&f, 300, 600, 300);
	e = fake_edge(&f, "edge1");
	e->result = ES_ERR_EDGE;
	e->lease_taken_on_failure = true;
	CU_ASSERT_EQUAL(pass(&f, T0), T0 + ES_SCHED_FAILURE_RETRY);
	CU_ASSERT_EQUAL(pass(&f, T0 + 10), T0 + 20);
	e->result = ES_OK;
	CU_ASSERT_EQUAL(pass(&f, T0 + 20), T0 + 50);
	run_until(&f, T0 + 50, T0 + 400);
	CU_ASSERT_EQUAL_FATAL(calls_of(&f, 's', "edge1", at, 16), 4);
	CU_ASSERT_EQUAL(at[0], T0);
	CU_ASSERT_EQUAL(at[1], T0 + 10);
	CU_ASSERT_EQUAL(at[2], T0 + 20);
	CU_ASSERT_EQUAL(at[3], T0 + 320); /* the first area's interval after the success */
	CU_ASSERT(f.calls[f.ncalls - 1].due[0] && !f.calls[f.ncalls - 1].due[1]);
	fake_close(&f);

	/* a lease shorter than the retry: the retry comes before the lease could lapse */
	fake_open(&f, 300, 600, 4);
	e = fake_edge(&f, "edge1");
	e->result = ES_ERR_CONNECT;
	CU_ASSERT_EQUAL(pass(&f, T0), T0 + 4);
	fake_close(&f);
}

/* An edge whose live lease another replicator holds: no cycle, said once, looked at again one
 * second after that lease runs out, then taken over. */
static void
test_held_elsewhere(void)
{
	struct fake f;
	struct fake_edge *e;
	time_t at[16];

	fake_open(&f, 60, 60, 300);
	e = fake_edge(&f, "edge1");
	snprintf(e->holder, sizeof(e->holder), "%s", OTHER);
	e->expiry = T0 + 100;
	CU_ASSERT_EQUAL(pass(&f, T0), T0 + 30);
	run_until(&f, T0 + 30, T0 + 100);
	CU_ASSERT_EQUAL(calls_of(&f, 's', "edge1", at, 16), 0);
	CU_ASSERT_EQUAL(count_text(es_tu_log_text(&f.log),
	                           "edge edge1: lease held by " OTHER "; this replicator waits"),
	                1);
	/* the pass before the expiry asks to be woken just after it */
	CU_ASSERT_EQUAL(pass(&f, T0 + 90), T0 + 101);
	CU_ASSERT_EQUAL(pass(&f, T0 + 101), T0 + 131);
	CU_ASSERT_EQUAL_FATAL(calls_of(&f, 's', "edge1", at, 16), 1);
	CU_ASSERT_EQUAL(at[0], T0 + 101);
	CU_ASSERT(f.calls[f.ncalls - 1].due[0] && f.calls[f.ncalls - 1].due[1]);
	CU_ASSERT_STRING_EQUAL(e->holder, ME);
	/* the other takes it back later (we lost a race): said again, once */
	snprintf(e->holder, sizeof(e->holder), "%s", OTHER);
	e->expiry = T0 + 400;
	run_until(&f, T0 + 131, T0 + 300);
	CU_ASSERT_EQUAL(calls_of(&f, 's', "edge1", at, 16), 1);
	CU_ASSERT_EQUAL(count_text(es_tu_log_text(&f.log), "lease held by " OTHER), 2);
	fake_close(&f);
}

/* A cycle that finds the lease taken meanwhile (skipped) holds no lease: nothing is renewed. */
static void
test_skipped_holds_nothing(void)
{
	struct fake f;
	struct fake_edge *e;
	time_t at[16];

	fake_open(&f, 900, 900, 300);
	e = fake_edge(&f, "edge1");
	/* the source says free when listed, another takes it before the cycle: fake_sync sees
	 * a holder with a live expiry */
	e->result = ES_OK;
	CU_ASSERT_EQUAL(pass(&f, T0), T0 + 30);
	snprintf(e->holder, sizeof(e->holder), "%s", OTHER);
	e->expiry = T0 + 1000;
	run_until(&f, T0 + 30, T0 + 600);
	CU_ASSERT_EQUAL(calls_of(&f, 'r', "edge1", at, 16), 0);
	fake_close(&f);
}

/* Several subscriptions: each on its own schedule; one failing or held does not hold up the
 * others, and the pass wakes for the earliest. */
static void
test_several_subscriptions(void)
{
	struct fake f;
	struct fake_edge *a, *b, *c;
	time_t at[32];

	fake_open(&f, 60, 120, 300);
	a = fake_edge(&f, "edge1");
	b = fake_edge(&f, "edge2");
	c = fake_edge(&f, "edge3");
	b->result = ES_ERR_PIN_MISMATCH;
	snprintf(c->holder, sizeof(c->holder), "%s", OTHER);
	c->expiry = T0 + 45;
	/* edge2 failing asks for T0+10, before the cap */
	CU_ASSERT_EQUAL(pass(&f, T0), T0 + 10);
	CU_ASSERT_EQUAL(f.ncalls, 2);
	run_until(&f, T0 + 10, T0 + 241);
	/* edge1 at its intervals */
	CU_ASSERT_EQUAL_FATAL(calls_of(&f, 's', "edge1", at, 32), 5);
	CU_ASSERT_EQUAL(at[1], T0 + 60);
	CU_ASSERT_EQUAL(at[4], T0 + 240);
	/* edge2 every 10 s while it fails */
	CU_ASSERT_EQUAL_FATAL(calls_of(&f, 's', "edge2", at, 32), 25);
	CU_ASSERT_EQUAL(at[1], T0 + 10);
	CU_ASSERT_EQUAL(at[24], T0 + 240);
	/* edge3 taken over right after the other's lease ran out */
	CU_ASSERT_FATAL(calls_of(&f, 's', "edge3", at, 32) >= 1);
	CU_ASSERT_EQUAL(at[0], T0 + 46);
	CU_ASSERT_STRING_EQUAL(c->holder, ME);
	CU_ASSERT_STRING_EQUAL(a->holder, ME);
	fake_close(&f);
}

/* The subscriptions cannot be read: said, no cycle, looked at again soon. */
static void
test_list_failure(void)
{
	struct fake f;

	fake_open(&f, 60, 60, 300);
	fake_edge(&f, "edge1");
	f.list_result = ES_ERR_CONNECT;
	CU_ASSERT_EQUAL(pass(&f, T0), T0 + ES_SCHED_SOURCE_RETRY);
	CU_ASSERT_EQUAL(f.ncalls, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_tu_log_text(&f.log), "reading the subscriptions"));
	/* back: the edge, never seen, is due at once */
	f.list_result = ES_OK;
	pass(&f, T0 + 5);
	CU_ASSERT_EQUAL(f.ncalls, 1);
	fake_close(&f);
}

/* Asked to stop: no edge is started. */
static void
test_stop(void)
{
	struct fake f;

	fake_open(&f, 60, 60, 300);
	fake_edge(&f, "edge1");
	fake_edge(&f, "edge2");
	f.stop = true;
	pass(&f, T0);
	CU_ASSERT_EQUAL(f.ncalls, 0);
	fake_close(&f);
}

/* The operations a schedule needs are required. */
static void
test_ops_required(void)
{
	struct es_sched_ops none = {0};
	struct es_scheduler *sch = NULL;
	struct es_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	CU_ASSERT_EQUAL(es_scheduler_new(&cfg, ME, NULL, &none, NULL, &sch), ES_ERR_INVAL);
	CU_ASSERT_PTR_NULL(sch);
	es_scheduler_free(NULL);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"due times: all at first, then each area at its interval", test_due_times},
	        {"lease renewed at half while nothing is due", test_renewal_at_half},
	        {"a failed renewal is tried again a second later", test_renewal_failure},
	        {"backoff after a failed cycle, intervals after a success",
	         test_backoff_after_failure},
	        {"an edge whose lease is held elsewhere", test_held_elsewhere},
	        {"a skipped cycle holds no lease to renew", test_skipped_holds_nothing},
	        {"several subscriptions, each on its own schedule", test_several_subscriptions},
	        {"the subscriptions cannot be read", test_list_failure},
	        {"a stop starts no edge", test_stop},
	        {"list, sync and renew are required", test_ops_required},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_scheduler", tests);
}

/*
 * The replicator daemon's schedule (edgesync run): when each area of each edge is due, when our
 * lease on an edge is renewed (lease.h: at half), how soon a failed cycle is tried again, and
 * when to look again at an edge whose lease another replicator holds.
 *
 * The scheduler does no I/O and reads no clock of its own: what it reads and writes goes through
 * es_sched_ops (the replicator's, daemon.h, or a test's) and the time is passed in, so the
 * schedule can be driven on a fake clock. One pass:
 *
 *   - lists the subscriptions (a failure: ES_SCHED_SOURCE_RETRY seconds, then again);
 *   - an edge whose live lease another replicator holds is left alone (logged once until it
 *     changes) and looked at again one second after that lease runs out;
 *   - an edge with areas due gets one cycle of those areas (the lease kept between cycles);
 *     each area is then due again after its rule's interval, or, when the cycle failed, after
 *     ES_SCHED_FAILURE_RETRY seconds (no more than the lease), not a whole interval;
 *   - an edge with nothing due whose lease is ours has it renewed once half of it has passed;
 *   - the pass returns the earliest of these times, and no later than ES_SCHED_MAX_WAIT.
 *
 * Ownership: the scheduler borrows the configuration, the holder name, the log and the ops'
 * argument; they must outlive it.
 */
#ifndef EDGESYNC_SCHEDULER_H
#define EDGESYNC_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certcore/log.h"
#include "edgesync/config.h"
#include "edgesync/error.h"
#include "edgesync/subscription.h"
#include "edgesync/sync.h"

#define ES_SCHED_MAX_WAIT      30 /* seconds: a pass at least this often (new subscriptions) */
#define ES_SCHED_SOURCE_RETRY  5  /* seconds after the subscriptions could not be read */
#define ES_SCHED_FAILURE_RETRY 10 /* seconds after a failed cycle (capped at the lease) */

struct es_sched_ops {
	/* The subscriptions as the source has them now: an owned list
	 * (es_subscription_list_free). */
	enum es_err (*list)(void *arg, struct es_subscription ***subs, size_t *n);
	/* One cycle of the areas marked in `due` (one flag per rule of the configuration),
	 * keeping the lease afterwards (es_sync_edge with keep_lease). */
	enum es_err (*sync)(void *arg, struct es_subscription *s, const bool *due,
	                    struct es_sync_result *res);
	/* Renews our lease on `s` at `now` (es_lease_acquire); updates `s`. */
	enum es_err (*renew)(void *arg, struct es_subscription *s, time_t now);
	/* True when the daemon is asked to stop: the pass ends before the next edge. May be
	 * NULL. */
	bool (*stopping)(void *arg);
};

struct es_scheduler;

/*
 * A scheduler for the rules and lease length of `cfg`, working as lease holder `holder`,
 * logging on `log` (may be NULL). Every area of an edge is due the first time it is seen.
 */
enum es_err es_scheduler_new(const struct es_config *cfg, const char *holder, struct cc_log *log,
                             const struct es_sched_ops *ops, void *arg,
                             struct es_scheduler **out) ES_WUR;
void es_scheduler_free(struct es_scheduler *sch);

/* One pass at `now` (see above). Returns when the next pass is due, later than `now`. */
time_t es_scheduler_pass(struct es_scheduler *sch, time_t now);

#endif

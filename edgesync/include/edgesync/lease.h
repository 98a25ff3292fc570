/*
 * Leases: which replicator works on an edge. The lease is two single-valued attributes of the
 * subscription object, umedgeLeaseHolder and umedgeLeaseExpiry, changed by compare-and-swap: one
 * LDAP modify that deletes the values read and adds the new ones. The directory applies a modify
 * whole or not at all (RFC 4511 section 4.6), so when another replicator changed the lease in
 * between, the delete of a value that is no longer there fails (noSuchAttribute) and nothing
 * changes; taking a free lease adds values, which fails on single-valued attributes that another
 * replicator has just filled. Replicators on several machines share edges that way, and when the
 * holder dies, another takes the edge over once the expiry has passed.
 *
 * Times are compared on each replicator's clock: keep them in step (NTP); a skew shortens or
 * lengthens a takeover by as much.
 */
#ifndef EDGESYNC_LEASE_H
#define EDGESYNC_LEASE_H

#include <stdbool.h>
#include <time.h>

#include "certcore/log.h"
#include "edgesync/conn.h"
#include "edgesync/error.h"
#include "edgesync/subscription.h"

enum es_lease_state {
	ES_LEASE_FREE,   /* no lease */
	ES_LEASE_MINE,   /* held by us, not expired */
	ES_LEASE_OTHER,  /* held by another replicator, not expired */
	ES_LEASE_EXPIRED /* held by anyone, expired: may be taken */
};

/* What the lease read in `s` means for `me` at `now`. */
enum es_lease_state es_lease_state(const struct es_subscription *s, const char *me, time_t now);
const char *es_lease_state_name(enum es_lease_state st);

/*
 * Renewal: a lease of `seconds` is renewed when less than half of it is left, so one missed
 * renewal (a slow area, a source that answers late) still leaves time for the next before another
 * replicator may take the edge over. This is the rule's one place: the cycle between areas
 * (sync.c) and the daemon's schedule (scheduler.c) both ask here.
 *
 * es_lease_renew_at: when the lease read in `s` should be renewed (its expiry less half of
 * `seconds`). es_lease_should_renew: that time has come at `now`.
 */
time_t es_lease_renew_at(const struct es_subscription *s, int seconds);
bool es_lease_should_renew(const struct es_subscription *s, int seconds, time_t now);

/* This process's holder name: "HOST/PID/NONCE" (a random nonce: a restarted process with a
 * reused pid is a new holder). Owned. */
enum es_err es_lease_holder_name(char **out) ES_WUR;

/*
 * Takes or renews the lease for `seconds`. ES_ERR_LEASE_HELD when another replicator holds it
 * (the detail names it and its expiry), ES_ERR_LEASE_LOST when the compare-and-swap lost a race.
 * Logs EdgeLeaseAcquired (2003) when the lease was not ours before. Updates `s`.
 */
enum es_err es_lease_acquire(struct es_conn *c, struct es_subscription *s, const char *me,
                             int seconds, time_t now, struct cc_log *log) ES_WUR;

/* Gives the lease up (only if still ours): the next replicator need not wait for the expiry. */
enum es_err es_lease_release(struct es_conn *c, struct es_subscription *s, const char *me) ES_WUR;

#endif

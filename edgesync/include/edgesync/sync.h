/*
 * One synchronization of one edge (Start-EdgeSynchronization for one edge):
 *
 *   1. take the lease on the subscription (lease.h); another replicator's lease: skip;
 *   2. open the credential with the replicator's key (credential.h);
 *   3. connect over LDAPS, refusing the edge unless its key matches a pinned certificate
 *      (EdgeCertificatePinMismatch, 2002: nothing is sent to it, not even a bind);
 *   4. bind (with the pending credential if the current one is refused: a rotation that was cut
 *      off after the edge took the new password), rotate the password when half its lifetime has
 *      passed, then for each area: read the source (RFC 4533 with the stored cookie, or a full
 *      search), read the replicator's entries on the edge, write the difference pipelined, and
 *      only when the edge confirmed every write, store the new cookie (fenced by the lease);
 *   5. record the result on the subscription and log EdgeSyncCompleted (2000) or
 *      EdgeSyncFailed (2001).
 *
 * Every step can fail or be cut off (the edge going away, kill -9): the cookie then still names
 * the last confirmed state and the next cycle, comparing what is on the edge, finishes the work
 * without duplicates (adds of entries already there become no-ops or modifies).
 */
#ifndef EDGESYNC_SYNC_H
#define EDGESYNC_SYNC_H

#include <stdbool.h>
#include <time.h>

#include "edgesync/conn.h"
#include "edgesync/error.h"
#include "edgesync/replicator.h"
#include "edgesync/subscription.h"

/*
 * Credential rotation. The edge's password policy (bootstrap.h) makes the password expire
 * umedgeSubscriptionMinutes after it was set; a replicator that binds after half of that sets a
 * new random one with the Password Modify operation (RFC 3062, as the account itself), which also
 * restarts the edge's clock. Crash-safe order: the new password is stored encrypted as
 * umedgePendingCredential first, then set on the edge, then promoted to
 * umedgeEncryptedCredential; a cycle that finds the current one refused binds with the pending
 * one and finishes the promotion.
 */
enum es_rotate { ES_ROTATE_NEVER, ES_ROTATE_DUE, ES_ROTATE_NOW };

struct es_sync_opts {
	bool full;       /* full compare instead of RFC 4533 */
	bool rotate_now; /* rotate the edge password in this cycle whatever its age */
	bool keep_lease; /* `run`: keep the lease between cycles (renewed); `start` gives it up */
	const bool *due; /* per rule of the configuration: sync this area now; NULL: all */
};

struct es_sync_result {
	long added, modified, deleted, unchanged;
	long areas;   /* areas synchronized */
	bool skipped; /* another replicator holds the lease */
	double seconds;
};

enum es_err es_sync_edge(struct es_replicator *rep, struct es_subscription *s,
                         const struct es_sync_opts *o, struct es_sync_result *res) ES_WUR;

/* True when the password of `s` has lived half its lifetime at `now`. */
bool es_sync_rotation_due(const struct es_subscription *s, time_t now);

/*
 * Connects to an edge as the replicator does (credential, pins, bind) and, unless `rotate` is
 * ES_ROTATE_NEVER (edgesync test: nothing is written), finishes or makes a rotation (the lease
 * must be held: the writes are fenced). On a pin mismatch logs EdgeCertificatePinMismatch (2002)
 * with the expected and presented pins when `log_events`.
 */
enum es_err es_sync_connect_edge(struct es_replicator *rep, struct es_subscription *s,
                                 bool log_events, enum es_rotate rotate,
                                 struct es_conn **out) ES_WUR;

#endif

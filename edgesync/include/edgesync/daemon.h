/*
 * struct es_daemon: the replicator daemon (edgesync run) between two signals, without the
 * signals: the command-line tool wires those and sleeps; everything else is here.
 *
 * Each pass, at the time it is given:
 *   1. reads the store again and chooses the replicator's certificate again
 *      (es_replicator_identity: under key custody none is made after the start), so a renewal
 *      or a new certificate enabled for LDAP, made by certctl or by another replicator process
 *      meanwhile, is taken up: CertificateChanged (1001) when it differs, the previous one kept
 *      (a warning) when the choice fails; the daemon holds its own reference, so a reload never
 *      frees the certificate it is using;
 *   2. runs the expiry clock for it (CertificateExpiring, CertificateExpired; expiry.h);
 *   3. connects to the source when it is not connected (ES_SCHED_SOURCE_RETRY after a failure);
 *   4. runs the schedule (scheduler.h) with the replicator's operations: list the subscriptions,
 *      es_sync_edge keeping the lease, es_lease_acquire to renew it; no edge once the key
 *      holder is found gone.
 *
 * Under key custody (ES_REPLICATOR_HOLD_KEYS) the caller asks es_daemon_holder_lost before each
 * pass: the store's keys are then out of this process's reach (it gave up reading them), so
 * edgesync run stops, gives its leases up (es_daemon_release) and exits 1, as umd does.
 *
 * Ownership: the replicator is borrowed and must outlive the daemon.
 */
#ifndef EDGESYNC_DAEMON_H
#define EDGESYNC_DAEMON_H

#include <stdbool.h>
#include <time.h>

#include "certcore/cert.h"
#include "edgesync/error.h"
#include "edgesync/replicator.h"

struct es_daemon;

/*
 * Chooses the replicator's certificate (es_replicator_identity: made when none is eligible,
 * except under key custody) and logs CertificateInUse (1000). Fails when none can be had.
 */
enum es_err es_daemon_new(struct es_replicator *rep, struct es_daemon **out) ES_WUR;
void es_daemon_free(struct es_daemon *d);

/* One pass at `now` (see above). Returns when the next is due, later than `now`. */
time_t es_daemon_pass(struct es_daemon *d, time_t now);

/* Gives up every lease this process holds (at a stop), so another replicator need not wait. */
void es_daemon_release(struct es_daemon *d);

/*
 * True when the replicator's key holder has ended or a request found it gone; the first time,
 * logs "the key holder (pid N) ended (how): edgesync stops" (or "does not answer"). Without a
 * key holder, false.
 */
bool es_daemon_holder_lost(struct es_daemon *d);

/* The certificate the daemon uses now. Borrowed: valid until the next pass or the free. */
const struct cc_cert *es_daemon_certificate(const struct es_daemon *d);

#endif

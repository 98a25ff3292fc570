/*
 * edgesync test: Test-EdgeSynchronization. For each edge: SyncStatus (Normal, Warning, Failed,
 * Inconclusive), LeaseHolder, LeaseExpiry, LastSynchronized, FailureDetail, ConnectionResult
 * (the pinned LDAPS connection and bind, made as the replicator makes them), CredentialStatus,
 * and per area the cookie's state and, with a full compare, the counts of objects synchronized,
 * only in the source, only on the edge, and conflicting (on both, different). Nothing is written
 * anywhere.
 *
 *   Failed        the edge cannot be reached, refused (pin mismatch), or the credential or the
 *                 bind does not work
 *   Warning       a full compare found differences, the last cycle failed, or (without a full
 *                 compare) the last success is older than twice the longest interval plus the
 *                 lease
 *   Inconclusive  never synchronized and no full compare asked for, or the source could not be
 *                 read for the compare
 *   Normal        otherwise
 */
#ifndef EDGESYNC_REPORT_H
#define EDGESYNC_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "edgesync/edge.h"
#include "edgesync/error.h"
#include "edgesync/replicator.h"
#include "edgesync/subscription.h"

enum es_status { ES_STATUS_NORMAL, ES_STATUS_WARNING, ES_STATUS_FAILED, ES_STATUS_INCONCLUSIVE };

struct es_area_report {
	char *area;
	enum es_status status;
	const char *cookie; /* Current, None, RuleChanged, NotSupported */
	bool compared;
	struct es_compare counts;
	char *error; /* why the compare could not be made; NULL */
};

struct es_edge_report {
	char *name;
	enum es_status status;
	char *lease_holder; /* NULL: none */
	time_t lease_expiry;
	time_t last_sync;       /* 0: never */
	char *failure_detail;   /* NULL: none */
	const char *connection; /* Succeeded, PinMismatch, BindFailed, Failed, NotTested */
	const char *credential; /* Valid, Undecryptable, NotTested */
	struct es_area_report *areas;
	size_t nareas;
};

const char *es_status_name(enum es_status st);

/* Tests one edge at `now`. */
enum es_err es_report_edge(struct es_replicator *rep, struct es_subscription *s, bool full_compare,
                           time_t now, struct es_edge_report **out) ES_WUR;
void es_report_free(struct es_edge_report *r);

/*
 * The status an edge gets from what was found (report.c's rule, public for tests): connection
 * and credential results, last success and failure times (0: none), whether a compare was made
 * and the worst area status, the longest rule interval and the lease length.
 */
enum es_status es_report_decide(bool connected, time_t last_sync, time_t last_failure,
                                bool compared, enum es_status worst_area, int max_interval,
                                int lease_seconds, time_t now);

/* A JSON array of report objects (owned text). */
enum es_err es_report_json(struct es_edge_report *const *r, size_t n, char **out) ES_WUR;
/* Format-List style text. */
void es_report_text(FILE *f, struct es_edge_report *const *r, size_t n);

#endif

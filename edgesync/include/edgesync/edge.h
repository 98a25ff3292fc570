/*
 * The edge side of an area: the entries edgesync wrote there (found by the marker class
 * umedgeReplicated and their umedgeArea), what must change so they equal the source, and the
 * containers that hold them.
 *
 * Only entries that carry the marker of the area are ever modified or deleted; every other entry
 * of the edge is invisible to the plan.
 */
#ifndef EDGESYNC_EDGE_H
#define EDGESYNC_EDGE_H

#include <stddef.h>

#include "edgesync/conn.h"
#include "edgesync/entry.h"
#include "edgesync/error.h"
#include "edgesync/rule.h"
#include "edgesync/source.h"
#include "edgesync/writer.h"

/*
 * The area's entries anywhere under the edge base, keyed by umedgeSourceUUID (copies left under
 * an earlier target of the rule are found too, and moved by the plan).
 */
enum es_err es_edge_load(struct es_conn *c, const struct es_rule *r, const char *edge_base,
                         struct es_entryset *out) ES_WUR;

/*
 * What an incremental refresh (`ch` not complete) needs of the area, so that a cycle costs what
 * changed rather than what the area holds: the entries whose umedgeSourceUUID is the key of a
 * changed entry, whole (looked up ES_EDGE_KEY_BATCH keys a search, on the edge's index), and
 * for the deletes: after a delete phase (RFC 4533 section 3.3.2) the entries of the deleted keys,
 * after a present phase every other entry of the area with its DN and key only (what is gone
 * is what was not named present). More than ES_EDGE_KEYED_MAX keys, or `ch` complete: the
 * whole area, as es_edge_load (one search is cheaper then).
 */
#define ES_EDGE_KEY_BATCH 100
#define ES_EDGE_KEYED_MAX 2000
enum es_err es_edge_load_changes(struct es_conn *c, const struct es_rule *r, const char *edge_base,
                                 const struct es_changes *ch, struct es_entryset *out) ES_WUR;

/* Makes the container RDNs of the target that are missing, top down, as organizationalUnit
 * entries marked umedgeReplicated (umedgeArea = the rule). */
enum es_err es_edge_ensure_target(struct es_conn *c, const struct es_rule *r,
                                  const char *edge_base) ES_WUR;

enum es_op_kind { ES_OP_ADD, ES_OP_MODIFY, ES_OP_DELETE };

struct es_op {
	enum es_op_kind kind;
	struct es_entry *want;       /* ADD and MODIFY: owned */
	const struct es_entry *have; /* MODIFY and DELETE: borrowed from the edge set */
};

struct es_plan {
	struct es_op *v;
	size_t n, cap;
	long adds, modifies, deletes, unchanged;
};

void es_plan_init(struct es_plan *p);
void es_plan_clear(struct es_plan *p);

/*
 * What to write so that the edge equals the source after `ch`: an add for a source entry the edge
 * lacks, a modify where the content differs, a delete and an add for a copy under another DN, a
 * delete for an edge entry that is gone from the source (deleted, moved out of the base, no longer
 * matching the filter: by ch->deleted, or in a present phase by being in neither ch->changed nor
 * ch->present). Needs no connection.
 */
enum es_err es_edge_plan(const struct es_rule *r, const char *target_dn, struct es_changes *ch,
                         const struct es_entryset *edge, struct es_plan *out) ES_WUR;

/* Sends the plan through the writer (the caller calls es_writer_finish). */
enum es_err es_edge_apply(struct es_writer *w, const struct es_plan *p) ES_WUR;

/* Test-EdgeSynchronization's counts for an area, from the whole source content and the edge. */
struct es_compare {
	long synchronized, source_only, edge_only, conflicting;
};
enum es_err es_edge_compare(const struct es_rule *r, const char *target_dn,
                            const struct es_changes *full, const struct es_entryset *edge,
                            struct es_compare *out) ES_WUR;

#endif

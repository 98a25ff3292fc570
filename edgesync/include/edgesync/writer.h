/*
 * struct es_writer: pipelined writes to an edge. Each add, modify or delete is sent at once
 * (ldap_add_ext, ldap_modify_ext, ldap_delete_ext) and up to `window` wait for their results
 * together (ldap_result), so a cycle costs one round trip per window, not one per entry.
 *
 * After the first failure no more writes are sent; es_writer_finish waits for the ones in flight
 * and reports the first failure. A delete of an entry already gone counts as done; an add that
 * meets an existing entry is ES_ERR_CONFLICT (the replicator's own copies are always found
 * first, so that entry is not edgesync's).
 */
#ifndef EDGESYNC_WRITER_H
#define EDGESYNC_WRITER_H

#include <stddef.h>

#include <ldap.h>

#include "edgesync/conn.h"
#include "edgesync/entry.h"
#include "edgesync/error.h"

#define ES_WRITER_WINDOW 64

struct es_writer_stats {
	long added, modified, deleted;
	long sent, outstanding_max; /* writes sent, and the most in flight at once */
};

struct es_writer;

enum es_err es_writer_new(struct es_conn *c, size_t window, struct es_writer **out) ES_WUR;
/*
 * The same over n connections to one edge (all borrowed, n >= 1): each write goes to the
 * connection its DN hashes to (so the writes of one entry keep their order) and up to `window`
 * are in flight on each. The edge's server works on several connections at once.
 */
enum es_err es_writer_new_multi(struct es_conn *const *c, size_t n, size_t window,
                                struct es_writer **out) ES_WUR;
void es_writer_free(struct es_writer *w);
/* Each write the edge confirms is counted into `p` (progress.h; borrowed, NULL: none). */
struct es_progress;
void es_writer_set_progress(struct es_writer *w, struct es_progress *p);

enum es_err es_writer_add(struct es_writer *w, const struct es_entry *e) ES_WUR;
enum es_err es_writer_modify(struct es_writer *w, const char *dn, LDAPMod **mods) ES_WUR;
enum es_err es_writer_delete(struct es_writer *w, const char *dn) ES_WUR;

/* Waits for every write in flight; ES_OK only when the edge confirmed all of them. */
enum es_err es_writer_finish(struct es_writer *w) ES_WUR;

const struct es_writer_stats *es_writer_stats(const struct es_writer *w);

#endif

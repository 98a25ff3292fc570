/*
 * Offline seeding of a new edge: the first synchronization of a large directory written by the
 * edge's own bulk loader (slapadd) instead of over LDAP, where the edge's write path costs most.
 *
 *   1. es_seed_export (edge online, nothing of the areas on it yet): takes the edge's lease for
 *      `hold_seconds` under a holder name of its own (no replicator writes the edge meanwhile),
 *      makes the areas' target containers on the edge, reads every area from the source with no
 *      cookie (RFC 4533 or DirSync: a cookie comes with the read), and writes the entries a
 *      cycle would add, as LDIF; the state (holder name, per area: rule identity, cookie, the
 *      number of entries and a digest of their keys) is returned for es_seed_write.
 *   2. The administrator stops the edge's server, loads the LDIF (`slapadd -l FILE`), starts it.
 *   3. es_seed_commit: under the export's lease, checks that the edge holds exactly the exported
 *      entries of each area (count and keys), stores each area's cookie on the subscription as a
 *      cycle does after the edge confirmed its writes, and gives the lease up. The next cycle
 *      reads from the cookie: the changes made since the export, nothing more.
 *
 * Without the commit nothing is lost: the lease expires, and the next cycle, with no cookie,
 * compares the areas whole (the loaded entries are found equal and not written again).
 */
#ifndef EDGESYNC_SEED_H
#define EDGESYNC_SEED_H

#include <stdio.h>

#include <ldap.h>

#include "edgesync/error.h"
#include "edgesync/replicator.h"
#include "edgesync/rule.h"
#include "edgesync/subscription.h"

#define ES_SEED_KEYS_DIGEST_LEN 64 /* hex SHA-256 */

struct es_seed_area {
	char *name;
	char ident[ES_RULE_HASH_LEN + 1];
	struct berval cookie; /* owned; bv_val NULL: the source gave none (no RFC 4533/DirSync) */
	long entries;
	char keys[ES_SEED_KEYS_DIGEST_LEN + 1]; /* SHA-256 of the sorted keys, one per line */
};

struct es_seed {
	char *edge;
	char *holder; /* the lease holder name the export took the lease as */
	time_t lease_expiry;
	struct es_seed_area *v;
	size_t n;
};

void es_seed_free(struct es_seed *sd);

/* Step 1. `ldif` receives the entries; the caller writes the state (es_seed_write) only when
 * the LDIF was written whole. ES_ERR_EXISTS when the edge already holds entries of an area. */
enum es_err es_seed_export(struct es_replicator *rep, struct es_subscription *s, int hold_seconds,
                           FILE *ldif, struct es_seed **out) ES_WUR;

/* The state as JSON (0600, atomic), and back; es_seed_read checks it strictly (at most
 * ES_SEED_STATE_MAX bytes). es_seed_parse is es_seed_read of bytes, `path` naming them in errors;
 * es_seed_to_json the text es_seed_write writes (owned, free()). */
#define ES_SEED_STATE_MAX (1 << 20)
enum es_err es_seed_write(const struct es_seed *sd, const char *path) ES_WUR;
enum es_err es_seed_read(const char *path, struct es_seed **out) ES_WUR;
enum es_err es_seed_parse(const char *buf, size_t len, const char *path,
                          struct es_seed **out) ES_WUR;
enum es_err es_seed_to_json(const struct es_seed *sd, char **out) ES_WUR;

/* Step 3. ES_ERR_SOURCE naming the area when the edge does not hold what was exported (nothing
 * is stored then, and the lease is kept until it expires); ES_ERR_LEASE_HELD when the lease is
 * no longer the export's. */
enum es_err es_seed_commit(struct es_replicator *rep, struct es_subscription *s,
                           const struct es_seed *sd) ES_WUR;

#endif

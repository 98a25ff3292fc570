/*
 * Reading what a rule selects from the source directory, two ways:
 *
 *   es_source_sync: RFC 4533 refreshOnly (read by edgesync, syncmsg.h) from the cookie of the last
 *     cycle: entries added or changed since, and either the entries deleted (delete phase) or
 *     the entries still present (present phase: anything else in scope is gone, which is how a
 *     delete, a move out of the base or a change that no longer matches the filter shows). With
 *     no cookie the server sends the whole content.
 *   es_source_full: a paged subtree search (RFC 2696, conn.h): the whole content, compared with
 *     the edge (sources without syncprov, --full, and a refresh cut by the source's size limit).
 *
 * Only a search that ended with success counts: an error, a size or time limit or a dropped
 * connection fails the call and nothing is deleted on the edge.
 */
#ifndef EDGESYNC_SOURCE_H
#define EDGESYNC_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include <ldap.h>

#include "edgesync/conn.h"
#include "edgesync/entry.h"
#include "edgesync/error.h"
#include "edgesync/rule.h"

/* A set of keys (UUIDs in text form). */
struct es_keyset {
	char (*v)[40];
	size_t n, cap;
	bool sorted;
};

void es_keyset_init(struct es_keyset *k);
void es_keyset_clear(struct es_keyset *k);
enum es_err es_keyset_add(struct es_keyset *k, const char *key) ES_WUR;
/* Sorts (and drops duplicates) when needed, then looks the key up. */
bool es_keyset_has(struct es_keyset *k, const char *key);

struct es_changes {
	struct es_entryset changed; /* added or modified entries (every entry when complete) */
	struct es_keyset present;   /* unchanged entries still in scope (present phase) */
	struct es_keyset deleted;   /* entries gone (delete phase) */
	bool complete;              /* `changed` is the whole content */
	bool present_phase;         /* anything in neither `changed` nor `present` is gone */
	bool synced;                /* came from RFC 4533 (then `cookie` is set) */
	struct berval cookie;       /* the new cookie; owned */
	char **rejected;            /* why each entry es_source_screen set aside; owned */
	size_t nrejected;
};

void es_changes_init(struct es_changes *ch);
void es_changes_clear(struct es_changes *ch);

/*
 * `cookie` NULL: from the beginning. `timeout` bounds the search on the server (timelimit).
 * ES_ERR_LIMIT when the server's size limit cut the refresh (RFC 4533 cannot be paged): nothing
 * of it is returned; es_source_full, which pages, reads the area whole.
 */
enum es_err es_source_sync(struct es_conn *c, const struct es_rule *r, const char *base,
                           const struct berval *cookie, struct es_changes *out) ES_WUR;
enum es_err es_source_full(struct es_conn *c, const struct es_rule *r, const char *base,
                           struct es_changes *out) ES_WUR;

/*
 * The rule's attributes and, with `with_keys`, the key attributes (entryUUID, objectGUID): an
 * owned array (free it, not its strings, which are the rule's or static), NULL-terminated; NULL
 * when out of memory.
 */
char **es_source_attrs(const struct es_rule *r, bool with_keys);

/*
 * The key of a source entry read by a plain search: its entryUUID (lower case), else its
 * objectGUID in its standard string form (Active Directory, es_guid_format), else
 * "dn-" and 32 hex characters of the SHA-256 of its lower-cased DN (a source without
 * entryUUID; such a key changes when the entry is renamed). buf of 40 bytes.
 */
enum es_err es_source_key(const struct es_entry *e, char buf[40]) ES_WUR;

/*
 * Screens what was read from the source before anything is planned for the edge:
 *
 *   - a value of one of the rule's attributes that is not UTF-8 (checked with iconv) or holds a
 *     NUL: the entry is set aside, whatever the edge holds for its key is left as it is (the
 *     key goes to `present`, so neither a complete read nor a present phase deletes it), and
 *     one message naming the entry, the attribute and the byte goes to ch->rejected; the next
 *     change of the entry at the source brings it back;
 *   - with `need_guid` (an Active Directory source), an entry without a 16-byte objectGUID
 *     fails the area (ES_ERR_SOURCE naming the entry): with no key its edge copy cannot be
 *     told apart, so nothing may be deleted or moved.
 */
enum es_err es_source_screen(const struct es_rule *r, bool need_guid, struct es_changes *ch) ES_WUR;

/* Whether `v` is UTF-8 without NUL; else *at is the offset of the first bad byte. */
bool es_source_text_ok(const struct berval *v, size_t *at);

#endif

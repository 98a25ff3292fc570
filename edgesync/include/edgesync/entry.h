/*
 * struct es_entry: one directory entry held in memory (a DN, a key and attributes with values),
 * as read from the source or an edge, or as edgesync wants it on an edge; and struct
 * es_entryset, entries ordered by key for lookups.
 *
 * The key is what ties an edge entry to its source entry: the source entry's entryUUID in its
 * lower-case text form (RFC 4122), which is also the umedgeSourceUUID of the edge copy.
 *
 * Ownership: _new returns owned objects released with _free (NULL is a no-op). An entry added to
 * a set belongs to the set. Accessors borrow.
 */
#ifndef EDGESYNC_ENTRY_H
#define EDGESYNC_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <ldap.h>

#include "edgesync/error.h"

struct es_attr {
	char *name;
	struct berval *vals;
	size_t nvals;
};

struct es_entry {
	char *dn;
	char *key; /* may be NULL */
	struct es_attr *attrs;
	size_t nattrs;
};

enum es_err es_entry_new(const char *dn, const char *key, struct es_entry **out) ES_WUR;
void es_entry_free(struct es_entry *e);

/* Adds one value (copied) to attribute `name` (matched without regard to case). */
enum es_err es_entry_add_value(struct es_entry *e, const char *name, const void *val,
                               size_t len) ES_WUR;

/* The attribute named `name` (any case), or NULL. */
const struct es_attr *es_entry_attr(const struct es_entry *e, const char *name);

/*
 * Sorts attributes by lower-cased name and values bytewise, and drops duplicate values, so two
 * entries with the same content compare equal however the server ordered them.
 */
void es_entry_normalize(struct es_entry *e);

/*
 * Reads an entry of a search result: DN and every attribute returned. `key` may be NULL. The
 * result is normalized.
 */
enum es_err es_entry_from_ldap(LDAP *ld, LDAPMessage *msg, const char *key,
                               struct es_entry **out) ES_WUR;

/* True when both (normalized) entries hold the same attributes and values; DNs are not compared. */
bool es_entry_same_content(const struct es_entry *a, const struct es_entry *b);

/*
 * LDAP modifications: for an add, every attribute (LDAP_MOD_ADD); for a modify from `have` to
 * `want` (both normalized), LDAP_MOD_REPLACE of each attribute whose values differ, with no values
 * for an attribute `want` lacks (which deletes it). *n_out (may be NULL) receives the count. The
 * array points into the entries' values: free it with es_mods_free before the entries.
 */
enum es_err es_entry_add_mods(const struct es_entry *e, LDAPMod ***out) ES_WUR;
enum es_err es_entry_diff_mods(const struct es_entry *want, const struct es_entry *have,
                               LDAPMod ***out, size_t *n_out) ES_WUR;
void es_mods_free(LDAPMod **mods);

/* True when two DNs are the same once both are written in RFC 4514 form, compared without regard
 * to case (attribute values edgesync writes in DNs are case-insensitive). */
bool es_dn_equal(const char *a, const char *b);

/* The text form of a 16-byte UUID (RFC 4122, lower case): buf of at least 37 bytes. */
bool es_uuid_format(const struct berval *raw, char buf[37]);

/*
 * The standard string form of a 16-byte Active Directory objectGUID (lower case), as AD prints
 * it and takes it in <GUID=...> DNs: a Windows GUID structure, its first three fields stored
 * little-endian ([MS-DTYP] 2.3.4.2), so they are written byte-reversed. buf of at least 37.
 */
bool es_guid_format(const struct berval *raw, char buf[37]);

struct es_entryset {
	struct es_entry **v;
	size_t n, cap;
	bool sorted;
};

void es_entryset_init(struct es_entryset *s);
void es_entryset_clear(struct es_entryset *s);
/* Takes ownership of `e` (also on failure, when it is freed). Entries must have keys. */
enum es_err es_entryset_add(struct es_entryset *s, struct es_entry *e) ES_WUR;
/* Orders by key (done by find when needed). Duplicate keys fail with ES_ERR_PARSE. */
enum es_err es_entryset_sort(struct es_entryset *s) ES_WUR;
/* Finds by key; NULL when absent. The set must be sorted. */
struct es_entry *es_entryset_find(const struct es_entryset *s, const char *key);

#endif

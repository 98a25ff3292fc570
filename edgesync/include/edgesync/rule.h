/*
 * Rules: what is copied to the edges, one rule per area (README, the [rule NAME] keys).
 *
 * Four areas have defaults, as Exchange's EdgeSync copies them: recipients (mail and proxy
 * addresses, the addresses SHA-256 hashed after lower-casing, every 5 minutes), accepted domains,
 * remote domains and send connectors (every 3 minutes). A [rule NAME] section with one of those
 * names changes only the keys it sets; any other name adds an area.
 *
 * On the edge each copied entry is umedgeSourceUUID=UUID,TARGET,EDGEBASE with the classes
 * umedgeEdgeObject, umedgeReplicated (umedgeArea=NAME) and extensibleObject, and the rule's
 * attributes; an entry renamed or moved inside the rule's scope keeps its edge DN.
 */
#ifndef EDGESYNC_RULE_H
#define EDGESYNC_RULE_H

#include <stdbool.h>
#include <stddef.h>

#include "edgesync/entry.h"
#include "edgesync/error.h"

#define ES_RULE_HASH_LEN 16 /* hex characters of a rule's identity */

struct es_rule {
	char *name; /* the area */
	char *base; /* source base DN; NULL: the source's base ([source] base or namingContexts) */
	char *filter; /* RFC 4515 */
	char **attrs; /* NULL-terminated */
	char **hash;  /* NULL-terminated, each also in attrs */
	char *target; /* RDNs under the edge base, each ou=... */
	int interval; /* seconds between cycles of this area in `edgesync run` */
};

/* The default rules, owned; release each with es_rule_clear and the array with free. */
enum es_err es_rules_default(struct es_rule **out, size_t *n) ES_WUR;
void es_rule_clear(struct es_rule *r);
/* Deep copy. */
enum es_err es_rule_copy(const struct es_rule *in, struct es_rule *out) ES_WUR;

/* An area name: 1 to 32 of a-z, 0-9 and '-', starting with a letter or digit. */
bool es_area_name_valid(const char *name);

/*
 * Checks a rule: a filter in parentheses, at least one attribute, hashed attributes among the
 * copied ones, a target of ou= RDNs, an interval of 1 to 86400 seconds, DNs that parse. The
 * reason is in es_errdetail().
 */
enum es_err es_rule_validate(const struct es_rule *r) ES_WUR;

/* Splits "a b,c" into a NULL-terminated owned array (no empty items). */
enum es_err es_rule_split_list(const char *s, char ***out) ES_WUR;

/*
 * The identity of what a rule selects (base, filter, attributes, hashed attributes, target), 16
 * hex characters of their SHA-256: an RFC 4533 cookie is only valid for the query that made it,
 * so a cookie stored under another identity is not used.
 */
void es_rule_identity(const struct es_rule *r, const char *base, char out[ES_RULE_HASH_LEN + 1]);

bool es_rule_hashes(const struct es_rule *r, const char *attr);

/* SHA-256 of the ASCII-lower-cased value, as 64 lower-case hex characters and a NUL. */
enum es_err es_hash_value(const void *val, size_t len, char out[65]) ES_WUR;

/* The edge DN of the container: TARGET,EDGEBASE. Owned. */
enum es_err es_rule_target_dn(const struct es_rule *r, const char *edge_base, char **out) ES_WUR;

/*
 * The entry edgesync wants on the edge for source entry `src` (which has a key): its edge DN,
 * the marker classes and area, and the rule's attributes, hashed where the rule says so.
 * Normalized, owned.
 */
enum es_err es_rule_edge_entry(const struct es_rule *r, const char *target_dn,
                               const struct es_entry *src, struct es_entry **out) ES_WUR;

#endif

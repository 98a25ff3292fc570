/*
 * struct es_subscription: one edge's subscription object in the source directory
 * (edgesync-subscription.schema), cn=NAME,[source] subscriptions:
 *
 *   umedgeEdgeName, umedgeEdgeFQDN, umedgeEdgeURL, umedgeEdgeBaseDN, umedgeBindDN
 *   umedgePinnedCertificate   one DER certificate per value: the edge may present any of them
 *   umedgeEncryptedCredential CMS, see credential.h; umedgeCredentialTime, when it was set
 *   umedgePendingCredential   a new password being rotated in (see sync.h)
 *   umedgeLeaseHolder, umedgeLeaseExpiry   see lease.h
 *   umedgeSyncCookie          "AREA RULEHASH COOKIE", one value per area
 *   umedgeLastSyncTime, umedgeLastFailure, umedgeSubscriptionStart, umedgeSubscriptionMinutes
 *
 * Writes a replicator makes while it syncs are fenced by its lease: the modify also deletes and
 * re-adds its own umedgeLeaseHolder value, so it fails as a whole (noSuchAttribute) when another
 * replicator has taken the lease meanwhile.
 */
#ifndef EDGESYNC_SUBSCRIPTION_H
#define EDGESYNC_SUBSCRIPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <ldap.h>

#include "edgesync/conn.h"
#include "edgesync/error.h"
#include "edgesync/pin.h"
#include "edgesync/rule.h"
#include "edgesync/subfile.h"

struct es_cookie {
	char *area;
	char rule[ES_RULE_HASH_LEN + 1];
	struct berval value; /* the cookie itself */
	struct berval raw;   /* the stored value, for deleting it by value */
};

struct es_subscription {
	char *dn;
	char *name, *fqdn, *url, *base, *bind_dn;
	struct berval *certs; /* DER */
	struct es_pin *pins;  /* one per certificate */
	size_t ncerts;
	unsigned char *cred;
	size_t cred_len;
	unsigned char *pending; /* NULL: no rotation under way */
	size_t pending_len;
	time_t cred_time;       /* when the current password was set on the edge; 0: unknown */
	char *lease_holder;     /* NULL: no lease */
	char *lease_expiry_raw; /* as stored, for compare-and-swap */
	time_t lease_expiry;
	struct es_cookie *cookies;
	size_t ncookies;
	time_t last_sync; /* 0: never */
	char *last_failure;
	time_t start;
	int minutes;
};

void es_subscription_free(struct es_subscription *s);

/* cn=NAME,BASE for a valid edge name. Owned. */
enum es_err es_subscription_dn(const char *base, const char *name, char **out) ES_WUR;

/* Reads one subscription (ES_ERR_NOT_FOUND when absent) or every one under `base` (an empty
 * list when the container does not exist yet). */
enum es_err es_subscription_load(struct es_conn *c, const char *dn,
                                 struct es_subscription **out) ES_WUR;
enum es_err es_subscription_list(struct es_conn *c, const char *base, struct es_subscription ***out,
                                 size_t *n) ES_WUR;
void es_subscription_list_free(struct es_subscription **v, size_t n);

/* Parses a search result entry (used by load and list; public for tests). */
enum es_err es_subscription_from_entry(LDAP *ld, LDAPMessage *e,
                                       struct es_subscription **out) ES_WUR;

/*
 * Writes the object for a subscription file with its encrypted credential: the container
 * (umedgeContainer) is made when missing. ES_ERR_EXISTS when the edge is already subscribed.
 */
enum es_err es_subscription_create(struct es_conn *c, const char *base, const struct es_subfile *sf,
                                   const unsigned char *cred, size_t cred_len) ES_WUR;
enum es_err es_subscription_remove(struct es_conn *c, const char *base, const char *name) ES_WUR;
/* Adds a pinned certificate (DER). ES_ERR_EXISTS when already pinned. */
enum es_err es_subscription_add_cert(struct es_conn *c, const struct es_subscription *s,
                                     const unsigned char *der, size_t len) ES_WUR;

/* The stored cookie of an area, when it was made by a rule of the same identity; else NULL. */
const struct berval *es_subscription_cookie(const struct es_subscription *s, const char *area,
                                            const char *rule);

/* Parses "AREA RULEHASH COOKIE". */
enum es_err es_cookie_parse(const struct berval *raw, struct es_cookie *out) ES_WUR;
void es_cookie_clear(struct es_cookie *c);

/*
 * Replaces the cookie of an area (value NULL: removes it), fenced by `holder`'s lease.
 * ES_ERR_LEASE_LOST when the lease is no longer ours. Updates `s`.
 */
enum es_err es_subscription_set_cookie(struct es_conn *c, struct es_subscription *s,
                                       const char *holder, const char *area, const char *rule,
                                       const struct berval *value) ES_WUR;

/* Stores a new credential that is about to be set on the edge (fenced). Updates `s`. */
enum es_err es_subscription_set_pending(struct es_conn *c, struct es_subscription *s,
                                        const char *holder, const unsigned char *der,
                                        size_t len) ES_WUR;
/* The pending credential becomes the current one, set on the edge at `when` (fenced). */
enum es_err es_subscription_promote(struct es_conn *c, struct es_subscription *s,
                                    const char *holder, time_t when) ES_WUR;

/*
 * Records the end of a cycle: success (umedgeLastSyncTime = when, and umedgeLastFailure removed)
 * or failure (umedgeLastFailure = "GENERALIZEDTIME reason"), fenced by `holder` when not NULL.
 */
enum es_err es_subscription_record(struct es_conn *c, struct es_subscription *s, const char *holder,
                                   bool ok, time_t when, const char *failure) ES_WUR;

#endif

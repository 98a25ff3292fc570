/*
 * struct es_conn: one LDAP connection made with libldap (built with GnuTLS on Debian: its TLS
 * session is never handed to OpenSSL).
 *
 * Two ways to trust the server:
 *   - the source: the usual PKI check (LDAP_OPT_X_TLS_REQUIRE_CERT demand, host name), against
 *     `ca_file` when given, else libldap's defaults (ldap.conf, the system roots);
 *   - an edge (direct trust): the key must match one of `pins`, checked by libldap during the
 *     handshake (LDAP_OPT_X_TLS_PEERKEY_HASH, set per handle with LDAP_OPT_X_TLS_NEWCTX), before
 *     any bind can be sent. Chains and names play no part. When no pin matches, a second
 *     connection that is never bound reads the presented certificate (LDAP_OPT_X_TLS_PEERCERT)
 *     so the mismatch can name both keys.
 * ldaps:// uses TLS from the start, ldap:// must upgrade with StartTLS (a server that refuses is
 * an error), ldapi:// (only for an edge's local administration) has no TLS.
 */
#ifndef EDGESYNC_CONN_H
#define EDGESYNC_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <ldap.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "edgesync/error.h"
#include "edgesync/pin.h"

struct es_conn_opts {
	const char *url;
	int timeout;               /* seconds: connect, and each operation; 0: 30 */
	const char *ca_file;       /* PKI mode only; NULL: libldap's defaults */
	const struct es_pin *pins; /* direct trust when npins > 0 */
	size_t npins;
	/*
	 * PKI mode only: the TLS client certificate and its key (borrowed; both or neither), for
	 * a SASL EXTERNAL bind. They reach libldap in memory (LDAP_OPT_X_TLS_CERT and
	 * LDAP_OPT_X_TLS_KEY, DER), never through a file; GnuTLS keeps the key in the handle's
	 * TLS context until the connection is closed. Only the leaf is sent: libldap adds issuers
	 * it finds among the trusted roots (ca_file).
	 */
	X509 *client_cert;
	EVP_PKEY *client_key;
};

struct es_conn;

/*
 * Connects (and for ldap:// runs StartTLS). With pins, ES_ERR_PIN_MISMATCH when the server's key
 * matches none, with the presented pin in *presented (may be NULL) and *have_presented true;
 * nothing was sent but TLS handshakes. ES_ERR_CONNECT when the server cannot be reached or
 * TLS fails otherwise.
 */
enum es_err es_conn_open(const struct es_conn_opts *o, struct es_conn **out,
                         struct es_pin *presented, bool *have_presented) ES_WUR;
void es_conn_close(struct es_conn *c);

LDAP *es_conn_ld(const struct es_conn *c);
const char *es_conn_url(const struct es_conn *c);

/* Entries this connection's searches return (es_conn_search_each, an RFC 4533 refresh) are
 * counted into `p` (progress.h; borrowed, NULL: none) until it is set to NULL again. */
struct es_progress;
void es_conn_set_progress(struct es_conn *c, struct es_progress *p);
struct es_progress *es_conn_progress(const struct es_conn *c);
int es_conn_timeout(const struct es_conn *c);

/*
 * Simple bind. ES_ERR_BIND when refused, with the reason; an expired password is named as such
 * (the password policy control, draft-behera-ldap-password-policy, is requested).
 */
enum es_err es_conn_bind(struct es_conn *c, const char *dn, const char *password) ES_WUR;

/*
 * SASL EXTERNAL bind: over ldapi:// as the local administrator, over TLS as the account the
 * server maps the client certificate (es_conn_opts.client_cert) to. ES_ERR_BIND with the
 * server's result and diagnostic message when refused; when the root DSE does not list EXTERNAL
 * in supportedSASLMechanisms, the message says so and names the mechanisms it lists.
 */
enum es_err es_conn_bind_external(struct es_conn *c) ES_WUR;

/* The authorization identity the server holds for this connection (RFC 4532 Who am I?), e.g.
 * "dn:cn=replicator,dc=corp,dc=test" or "u:CORP\\repl"; "" when anonymous. Owned. */
enum es_err es_conn_whoami(struct es_conn *c, char **out) ES_WUR;

/*
 * Every search that can return more than one entry is paged (RFC 2696 simple paged results,
 * libldap's ldap_create_page_control / ldap_parse_pageresponse_control), so no server's size
 * limit (Active Directory's MaxPageSize of 1,000, OpenLDAP's size.soft/size.hard) cuts a read
 * short. The control is not critical: a server without it answers in one piece, and one that then
 * stops at a limit says so (sizeLimitExceeded), which fails the search. A result code other than
 * success on any page fails the whole search, so a partial answer is never taken for a complete
 * one.
 */
#define ES_CONN_PAGE_SIZE 500

/*
 * A search of a bounded answer (a base object, a list of subscriptions, a batch of keys): one
 * page at most; more than ES_CONN_PAGE_SIZE entries is an error (ES_ERR_LDAP). ES_ERR_NOT_FOUND
 * for noSuchObject. *res is owned (ldap_msgfree).
 */
enum es_err es_conn_search(struct es_conn *c, const char *base, int scope, const char *filter,
                           char **attrs, LDAPMessage **res) ES_WUR;

/*
 * The whole content of an area (the source's entries, the edge's copies), page by page: `fn` is
 * called for each entry (the message is borrowed for the call); a failure it returns stops the
 * search and is returned. The whole search may take ES_CONN_CONTENT_FACTOR times the operation
 * timeout. `ctrls` (may be NULL) are sent with every page besides the paging control.
 */
#define ES_CONN_CONTENT_FACTOR 20
typedef enum es_err (*es_conn_entry_fn)(LDAP *ld, LDAPMessage *entry, void *arg);
enum es_err es_conn_search_each(struct es_conn *c, const char *base, int scope, const char *filter,
                                char **attrs, LDAPControl **ctrls, es_conn_entry_fn fn,
                                void *arg) ES_WUR;

/* ldap_modify_ext_s / ldap_add_ext_s / ldap_delete_ext_s with the result code in *rc (may be
 * NULL); ES_ERR_LDAP with the server's reason when it is not success. */
enum es_err es_conn_modify(struct es_conn *c, const char *dn, LDAPMod **mods, int *rc) ES_WUR;
enum es_err es_conn_add(struct es_conn *c, const char *dn, LDAPMod **mods, int *rc) ES_WUR;
enum es_err es_conn_delete(struct es_conn *c, const char *dn, int *rc) ES_WUR;

/* Root DSE: the first namingContexts value (owned), and whether RFC 4533 sync is offered. */
enum es_err es_conn_naming_context(struct es_conn *c, char **out) ES_WUR;
enum es_err es_conn_supports_sync(struct es_conn *c, bool *out) ES_WUR;
/* Whether the root DSE lists `oid` in supportedControl. */
enum es_err es_conn_supports_control(struct es_conn *c, const char *oid, bool *out) ES_WUR;

#endif

/*
 * Status of a certificate (README, "certctl"): computed afresh from the certificate, its chain, the
 * trusted roots, the CRLs and the clock each time cc_store_verify() is called — never cached.
 *
 *   Valid; DateInvalid (expired or not yet valid anywhere in the chain); Untrusted (the leaf's
 *   chain does not end in a trusted root, and it is not self-signed); Revoked (the leaf
 *   itself); Unknown (revocation could not be checked: a CRL needed could not be had, or is
 *   stale, as Exchange 2007 said it); Invalid (bad signature, broken chain, unusable key, or
 *   a revoked, invalid or explicitly untrusted certificate further up the path).
 *
 * When several apply, the most serious wins, in that order: Invalid, Revoked, Untrusted,
 * DateInvalid, Unknown. The precise reason (StatusDetail: OpenSSL's own reason and the
 * certificate it concerns, or which CRL could not be had) is kept for each certificate.
 *
 * Revocation: every certificate of the chain but the root is checked against a CRL from its
 * issuer. CRLs come from the store's crl/ folder (files an administrator put there, and the
 * cache of fetched ones, crl/fetched-SHA1(URL).crl), used while fresh (before nextUpdate);
 * missing or stale ones are fetched from the certificate's CRL distribution points over HTTP
 * (X509_CRL_load_http, or OSSL_HTTP_get through a proxy) or LDAP (libldap), with a timeout.
 * OpenSSL never fetches CRLs by itself; a CRL that cannot be had makes Unknown.
 */
#ifndef CERTCORE_VERIFY_H
#define CERTCORE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/store.h"

struct cc_verify_opts {
	time_t now;         /* 0: time(NULL) */
	const char *bundle; /* system roots: NULL default (see trust.h), "" none */
	int timeout;        /* seconds per CRL fetch; 0: 10 */
	const char *proxy;  /* HTTP proxy URL for CRL fetches; NULL: $http_proxy, if set */
	bool offline;       /* never fetch: cached and local CRLs only */
};

/* Where a CRL came from. */
enum cc_crl_source { CC_CRL_NONE, CC_CRL_FILE, CC_CRL_CACHE, CC_CRL_HTTP, CC_CRL_LDAP };

struct cc_crl_info {
	const char *for_subject; /* the certificate it was needed for (RFC 2253) */
	const char *issuer;      /* the CRL's issuer */
	enum cc_crl_source source;
	const char *location; /* file path or URL; "" when none */
	bool ok;              /* a fresh, correctly signed CRL was had */
	time_t this_update;
	time_t next_update; /* 0 when the CRL has none */
	const char *error;  /* why not ok; "" when ok */
};

struct cc_verify;

/* Verifies a certificate at opts->now (opts may be NULL for defaults). Owned result. */
enum cc_err cc_store_verify(struct cc_store *s, const struct cc_cert *c,
                            const struct cc_verify_opts *opts, struct cc_verify **out) CC_WUR;
void cc_verify_free(struct cc_verify *v);

enum cc_status cc_verify_status(const struct cc_verify *v);
/* Why the status is not Valid (OpenSSL's reason and the certificate it concerns); "" if Valid. */
const char *cc_verify_reason(const struct cc_verify *v);
enum cc_root_ca_type cc_verify_root_type(const struct cc_verify *v);

/* The chain as built, leaf first, with each certificate's own status and reason. */
size_t cc_verify_chain_count(const struct cc_verify *v);
X509 *cc_verify_chain_cert(const struct cc_verify *v, size_t i); /* borrowed */
enum cc_status cc_verify_chain_status(const struct cc_verify *v, size_t i);
const char *cc_verify_chain_reason(const struct cc_verify *v, size_t i);

/* The CRLs looked for, one per checked certificate. Borrowed. */
size_t cc_verify_crl_count(const struct cc_verify *v);
const struct cc_crl_info *cc_verify_crl(const struct cc_verify *v, size_t i);

const char *cc_crl_source_name(enum cc_crl_source s);

/*
 * What cc_crl_fetch had. Strings owned (cc_crl_fetch_result_clear), never NULL after
 * cc_crl_fetch returned CC_OK.
 */
struct cc_crl_fetch_result {
	bool ok;                   /* a fresh CRL of the issuer, correctly signed, was fetched */
	enum cc_crl_source source; /* CC_CRL_HTTP or CC_CRL_LDAP when ok, else CC_CRL_NONE */
	char *url;                 /* the distribution point it came from; "" when not ok */
	char *issuer;              /* the CRL's issuer (RFC 2253), or the issuer's subject */
	char *error;               /* why not ok, naming each URL tried; "" when ok */
	time_t this_update;
	time_t next_update; /* 0 when the CRL has none */
};

/*
 * Fetches the CRL that covers `subject`, from `issuer`, from `subject`'s CRL distribution
 * points (in order; the first fresh, correctly signed CRL of `issuer` wins) and keeps it in the
 * store's cache, crl/fetched-SHA1(URL).crl, where cc_store_verify and daemons that read crl/
 * find it. CRLs already in crl/ are not looked at: this is for fetching ahead of need and for
 * refreshing one before its nextUpdate. opts (NULL for defaults) gives the timeout per
 * distribution point, the proxy and the clock; opts->offline fetches nothing. A CRL that could
 * not be had is a result (out->ok false, out->error saying why); fails only for memory.
 * It blocks for the network: daemons call it from a thread of their own, with a store handle of
 * that thread's own (certcore's error detail is per thread). Borrows subject and issuer.
 */
enum cc_err cc_crl_fetch(struct cc_store *s, X509 *subject, X509 *issuer,
                         const struct cc_verify_opts *opts, struct cc_crl_fetch_result *out) CC_WUR;
void cc_crl_fetch_result_clear(struct cc_crl_fetch_result *r);

/*
 * Verifies every certificate of the store and records the answer in each, so that
 * cc_cert_status and cc_cert_root_ca_type (and the views in format.h) report it until the
 * store's next reload.
 */
enum cc_err cc_store_verify_all(struct cc_store *s, const struct cc_verify_opts *opts) CC_WUR;

#endif

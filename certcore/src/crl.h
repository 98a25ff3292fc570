/* Finding the CRL for one certificate: the store's crl/ folder first, then its distribution
 * points (private to certcore). */
#ifndef CERTCORE_CRL_H
#define CERTCORE_CRL_H

#include <openssl/x509.h>

#include "certcore/store.h"
#include "certcore/verify.h"

/* What was found for one certificate; strings owned. */
struct crl_lookup {
	X509_CRL *crl; /* owned; NULL when none could be had */
	enum cc_crl_source source;
	char *location;
	char *issuer;
	char *error;
	time_t this_update;
	time_t next_update;
};

/*
 * Distribution points that failed during one pass over many certificates (cc_store_verify_all),
 * so an unreachable CA costs one timeout per pass, not one per certificate. Zero-initialise.
 */
struct crl_memo {
	char **urls;
	char **errors;
	size_t n;
};
void cc_crl_memo_clear(struct crl_memo *m);

/*
 * Looks for a fresh CRL of `issuer` that covers `subject`. Never fails for a missing CRL (that
 * is a result, with lookup->crl NULL and the reason in lookup->error); fails only for memory.
 */
enum cc_err cc_crl_lookup(struct cc_store *s, X509 *subject, X509 *issuer,
                          const struct cc_verify_opts *o, time_t now, struct crl_memo *memo,
                          struct crl_lookup *lookup) CC_WUR;
void cc_crl_lookup_clear(struct crl_lookup *l);

/*
 * The parsers of outside input, exposed for tests/fuzz/fuzz_crl.c:
 * cc_crl_read: every CRL in a file's bytes (PEM, possibly several, or one DER); an owned stack,
 *   NULL when there is none.
 * cc_crl_unusable: why `crl` cannot be used for `issuer` at `now` (the text after "CRL is"), or
 *   NULL when it can: another issuer, a bad signature, not yet valid, stale.
 * cc_crl_urls: the URIs of `subject`'s CRL distribution points (full names only; one with a NUL
 *   inside is skipped), as an owned NULL-terminated array; fails only for memory.
 */
STACK_OF(X509_CRL) * cc_crl_read(const unsigned char *buf, size_t len);
const char *cc_crl_unusable(X509_CRL *crl, X509 *issuer, time_t now);
enum cc_err cc_crl_urls(X509 *subject, char ***urls) CC_WUR;
void cc_crl_urls_free(char **urls);

#endif

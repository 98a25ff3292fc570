/*
 * struct cc_cert: one certificate and the properties Exchange's Get-ExchangeCertificate shows,
 * computed with OpenSSL when the object is made.
 *
 * Ownership: a cc_cert is reference counted, as OpenSSL's X509. cc_cert_new*() return an owned
 * reference; cc_cert_up_ref() takes one more; cc_cert_free() drops one (NULL is a no-op) and the
 * last one frees the certificate. A store holds a reference on each certificate it loaded and
 * drops it on its next reload or free, so a holder that must keep using a certificate across a
 * reload (a daemon serving with it while a renewal rewrites the store) takes its own reference:
 * the selection functions (select.h, choose.h) hand out owned ones. Counting is atomic: a
 * reference may be dropped on another thread. The properties set by verification
 * (cc_store_verify_all) are not locked: verify only on the thread that owns the store.
 * Accessors borrow: returned pointers live as long as the cc_cert. Keep an X509 or EVP_PKEY
 * beyond that with X509_up_ref / EVP_PKEY_up_ref.
 */
#ifndef CERTCORE_CERT_H
#define CERTCORE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certcore/error.h"

#define CC_THUMB_LEN 40 /* SHA-1, upper-case hex, no separators */

enum cc_status {
	CC_STATUS_VALID,
	CC_STATUS_UNKNOWN, /* revocation could not be checked (StatusDetail says why) */
	CC_STATUS_REVOKED,
	CC_STATUS_DATE_INVALID,
	CC_STATUS_UNTRUSTED,
	CC_STATUS_INVALID,
	CC_STATUS_PENDING_REQUEST
};

enum cc_root_ca_type {
	CC_ROOT_NONE,
	CC_ROOT_REGISTRY,
	CC_ROOT_THIRD_PARTY,
	CC_ROOT_GROUP_POLICY,
	CC_ROOT_ENTERPRISE,
	CC_ROOT_UNKNOWN
};

/* Properties kept beside a certificate (meta/THUMB.ini): not part of the signed certificate. */
struct cc_meta {
	unsigned services;         /* enum cc_service mask */
	bool exportable;           /* PrivateKeyExportable */
	const char *friendly_name; /* may be NULL */
	/*
	 * The daemon that made this self-signed certificate for itself ("umd", "edgesync"), which
	 * may therefore renew it on its own (cc_store_auto_renew); NULL or "" for any other
	 * certificate (an administrator's, imported, issued). Kept by renewal and enabling.
	 */
	const char *made_by;
};

struct cc_cert;

/*
 * Makes a cc_cert from a certificate, its chain (may be NULL), its private key (may be NULL) and
 * its meta (may be NULL: no services, not exportable, no name). Takes its own references. A key
 * that does not match the certificate fails with CC_ERR_KEY_MISMATCH.
 */
enum cc_err cc_cert_new(X509 *x, STACK_OF(X509) * chain, EVP_PKEY *key, const struct cc_meta *meta,
                        struct cc_cert **out) CC_WUR;

/*
 * Parses one certificate from PEM or DER bytes (the first certificate of a PEM file; later ones
 * become the chain). No key, no meta.
 */
enum cc_err cc_cert_new_from_bytes(const unsigned char *buf, size_t len,
                                   struct cc_cert **out) CC_WUR;

/* One more reference on `c` (NULL: none); returns `c`. */
struct cc_cert *cc_cert_up_ref(struct cc_cert *c);
/* Drops one reference; the last frees. */
void cc_cert_free(struct cc_cert *c);

const char *cc_cert_thumbprint(const struct cc_cert *c);
const char *cc_cert_subject(const struct cc_cert *c); /* RFC 2253 */
const char *cc_cert_issuer(const struct cc_cert *c);  /* RFC 2253 */
/* CertificateDomains: subject CN(s) that are host names first, then SAN DNS names, without
 * duplicates. A CN such as "Contoso Mail" is not one. */
size_t cc_cert_domain_count(const struct cc_cert *c);
const char *cc_cert_domain(const struct cc_cert *c, size_t i);
time_t cc_cert_not_before(const struct cc_cert *c);
time_t cc_cert_not_after(const struct cc_cert *c);
const char *cc_cert_serial(const struct cc_cert *c); /* upper-case hex, as openssl -serial */
int cc_cert_key_bits(const struct cc_cert *c);
const char *cc_cert_key_algorithm(const struct cc_cert *c); /* "RSA", "EC", ... */
bool cc_cert_has_private_key(const struct cc_cert *c);
bool cc_cert_is_self_signed(const struct cc_cert *c); /* issuer == subject and signature verifies */
unsigned cc_cert_services(const struct cc_cert *c);
bool cc_cert_exportable(const struct cc_cert *c);
const char *cc_cert_friendly_name(const struct cc_cert *c); /* "" when none */
const char *cc_cert_made_by(const struct cc_cert *c);       /* cc_meta.made_by; "" when none */
X509 *cc_cert_x509(const struct cc_cert *c);                /* borrowed */
STACK_OF(X509) * cc_cert_chain(const struct cc_cert *c);    /* borrowed, may be empty */
EVP_PKEY *cc_cert_key(const struct cc_cert *c);             /* borrowed, NULL when none */
/* Validity period in whole days (NotAfter - NotBefore), used when cloning. */
int cc_cert_validity_days(const struct cc_cert *c);

/*
 * Status at time `now`. Without a trust store (trust.h) this is: Invalid when a
 * self-signed certificate's signature does not verify; DateInvalid outside NotBefore..NotAfter;
 * Valid for a good self-signed certificate; Unknown for a CA-issued one. `reason` (may be NULL)
 * receives text explaining a non-Valid status (StatusDetail), borrowed from the cc_cert.
 */
enum cc_status cc_cert_status(const struct cc_cert *c, time_t now, const char **reason);
enum cc_root_ca_type cc_cert_root_ca_type(const struct cc_cert *c);

/* True when `fqdn` matches CertificateDomains (X509_check_host: CN counts even with SANs, a
 * wildcard covers one left-most label, no partial wildcards). */
bool cc_cert_matches_host(const struct cc_cert *c, const char *fqdn);

const char *cc_status_name(enum cc_status s);
const char *cc_root_ca_type_name(enum cc_root_ca_type t);

/*
 * Normalises a thumbprint typed by a person: any case, with or without ':', ' ' or '-'
 * separators. Writes CC_THUMB_LEN upper-case hex characters and a NUL to out.
 */
enum cc_err cc_thumbprint_normalize(const char *in, char out[CC_THUMB_LEN + 1]) CC_WUR;

/* ISO 8601 UTC, "2026-11-28T11:00:00Z". */
const char *cc_time_iso8601(time_t t, char buf[32]);

#endif

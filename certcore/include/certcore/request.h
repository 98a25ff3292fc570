/*
 * The CA path: certificate requests (New-ExchangeCertificate -GenerateRequest), their completion
 * by the issued certificate (Import-ExchangeCertificate), PKCS#12 import and export
 * (Export-ExchangeCertificate -BinaryEncoded).
 *
 * A pending request lives in the store's requests/ folder as three files named by its id:
 *
 *   requests/ID.key   its private key, unencrypted PKCS#8 PEM, 0600
 *   requests/ID.ini   services, exportable flag, friendly name ([certificate], as meta/), and
 *                     the time it was made ([request] created = ISO 8601 UTC)
 *   requests/ID.csr   the PKCS#10 request, PEM
 *
 * written in that order under the store's writer lock, each atomically: the request's rename is
 * the commit point, so a request is pending exactly when ID.csr exists. The id is the SHA-1 of
 * the DER SubjectPublicKeyInfo of its key, in upper-case hex (40 characters, like a thumbprint,
 * but not the thumbprint the issued certificate will have): it is stable, it is known before
 * any certificate exists, and a certificate finds its request by computing it from its own
 * public key. `certctl get` shows it as the request's Thumbprint.
 *
 * Ownership: functions named _new/_load/_make return owned objects; accessors borrow (pointers
 * live as long as their container). OpenSSL objects handed in are borrowed and never consumed.
 */
#ifndef CERTCORE_REQUEST_H
#define CERTCORE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/selfsigned.h"
#include "certcore/store.h"

/*
 * Iterations of PBKDF2 (key and certificate bags) and of the PKCS#12 MAC key derivation in an
 * exported PFX: OWASP's 2023 figure for PBKDF2-HMAC-SHA256. The MAC gets the same count as the
 * encryption because it checks the password too: a cheap MAC would be the attacker's cheap
 * password oracle and make the expensive encryption pointless. About 0.3 s of one core to
 * write or read a PFX, paid once per export or import.
 */
#define CC_PKCS12_ITER 600000

/*
 * The most a PKCS#12 file may ask of an import (one whose MAC asked for 2^31-1
 * iterations ran until it was killed). Each key derivation's count at most CC_PKCS12_MAX_ITER:
 * 17 times CC_PKCS12_ITER and 5,000 times the 2048 OpenSSL writes by default, some 5 s of one
 * core (PBKDF2-HMAC-SHA256 runs about 2 million iterations a second). The counts of one file
 * together at most CC_PKCS12_MAX_ITER_TOTAL, about 10 s: the MAC, the certificates and the key
 * at 6.6 million each, or eleven times what certcore's own export asks (1.8 million). Both are
 * checked before the derivation they limit runs, from the counts the file states. Not settings:
 * a file that needs more was not made for use.
 */
#define CC_PKCS12_MAX_ITER       10000000
#define CC_PKCS12_MAX_ITER_TOTAL 20000000

/* ---- requests --------------------------------------------------------------------------- */

/* What a request asks for; the same names and defaults as struct cc_new_params. */
struct cc_request_params {
	const char *const *domains; /* DNS names for the SAN; the first is the CN unless subject */
	size_t ndomains;            /* 0 with no subject: the host's FQDN and short name */
	const char *subject; /* X.500 "c=us,o=contoso corp,cn=mail.contoso.com"; may be NULL */
	enum cc_key_type key_type;
	unsigned services;         /* enabled on the certificate when the request is completed */
	bool exportable;           /* the completed certificate's key may be exported */
	const char *friendly_name; /* may be NULL */
	time_t now;                /* "created"; 0 means time(NULL) */
};

/*
 * Makes a PKCS#10 request and its new key (no store involved): the subject, a SAN with every
 * domain, EKU serverAuth and clientAuth, keyUsage as a self-signed certificate of the same key
 * type would have, signed with SHA-256. Both owned by the caller.
 */
enum cc_err cc_request_make(const struct cc_request_params *p, X509_REQ **req_out,
                            EVP_PKEY **key_out) CC_WUR;

/*
 * Makes a request and keeps it pending in the store. `id_out` receives its id; `req_out` (may
 * be NULL) an owned copy of the request, for writing it out.
 */
enum cc_err cc_store_new_request(struct cc_store *s, const struct cc_request_params *p,
                                 char id_out[CC_THUMB_LEN + 1], X509_REQ **req_out) CC_WUR;

/* Removes a pending request's files (request first, then its INI, then its key). */
enum cc_err cc_store_remove_request(struct cc_store *s, const char *id) CC_WUR;

/* The id of a public key: SHA-1 of its DER SubjectPublicKeyInfo, upper-case hex. */
enum cc_err cc_pubkey_id(EVP_PKEY *pub, char id_out[CC_THUMB_LEN + 1]) CC_WUR;

/* True when a request whose key is `pub` is pending in the store. */
bool cc_store_has_request(struct cc_store *s, EVP_PKEY *pub);

/*
 * Completes the pending request whose key matches the certificate's public key (EVP_PKEY_eq),
 * and only that one: the certificate, its chain (may be NULL), the request's key, services (with
 * `extra_services` added), exportable flag and friendly name (`friendly_name` overrides it when
 * not NULL) go into the store with cc_store_add, then the request's files are removed.
 *
 * A certificate that matches no pending request is refused with CC_ERR_NO_KEY, and nothing is
 * written. When an earlier completion stored the certificate but stopped before removing the
 * request (a crash), completing again removes the request and succeeds.
 * `thumb_out` receives the stored certificate's thumbprint, `id_out` (may be NULL) the
 * request's id.
 */
enum cc_err cc_store_complete_request(struct cc_store *s, X509 *x, STACK_OF(X509) * chain,
                                      unsigned extra_services, const char *friendly_name,
                                      char thumb_out[CC_THUMB_LEN + 1],
                                      char id_out[CC_THUMB_LEN + 1]) CC_WUR;

/* ---- the pending requests of a store, as `certctl get` lists them ------------------------- */

struct cc_request;
struct cc_requests;

/*
 * Loads the pending requests (requests/ID.csr with its INI; keys are not read, only checked to
 * be present), in id order. As with the store, a bad entry is recorded as a problem and the rest
 * loads. Owned; free with cc_requests_free().
 */
enum cc_err cc_requests_load(struct cc_store *s, struct cc_requests **out) CC_WUR;
void cc_requests_free(struct cc_requests *rs);

size_t cc_requests_count(const struct cc_requests *rs);
const struct cc_request *cc_requests_get(const struct cc_requests *rs, size_t i);
/* By id, typed as a thumbprint may be (any case, separators). CC_ERR_NOT_FOUND when absent. */
enum cc_err cc_requests_find(const struct cc_requests *rs, const char *id,
                             const struct cc_request **out) CC_WUR;
size_t cc_requests_problem_count(const struct cc_requests *rs);
const char *cc_requests_problem_path(const struct cc_requests *rs, size_t i);
const char *cc_requests_problem_reason(const struct cc_requests *rs, size_t i);

const char *cc_request_id(const struct cc_request *r);
const char *cc_request_subject(const struct cc_request *r); /* RFC 2253 */
/* CertificateDomains: subject CN(s), then SAN DNS names, without duplicates. */
size_t cc_request_domain_count(const struct cc_request *r);
const char *cc_request_domain(const struct cc_request *r, size_t i);
int cc_request_key_bits(const struct cc_request *r);
bool cc_request_has_private_key(const struct cc_request *r); /* requests/ID.key is there */
unsigned cc_request_services(const struct cc_request *r);
bool cc_request_exportable(const struct cc_request *r);
const char *cc_request_friendly_name(const struct cc_request *r); /* "" when none */
time_t cc_request_created(const struct cc_request *r);
const char *cc_request_pem(const struct cc_request *r); /* "-----BEGIN CERTIFICATE REQUEST-----" */
X509_REQ *cc_request_x509_req(const struct cc_request *r); /* borrowed */
/* As cc_cert_matches_host: X509_check_host over the request's subject and SAN. */
bool cc_request_matches_host(const struct cc_request *r, const char *fqdn);

/*
 * The JSON `certctl get` prints: certificates (as cc_certs_to_json) followed by pending requests
 * (Thumbprint = id, Subject, CertificateDomains, PublicKeySize, HasPrivateKey, IsSelfSigned
 * false, Services, Status "PendingRequest", PrivateKeyExportable, FriendlyName, and
 * CertificateRequest = the PEM text). Owned, free().
 */
enum cc_err cc_listing_to_json(struct cc_cert *const *certs, size_t ncerts,
                               const struct cc_request *const *reqs, size_t nreqs, time_t now,
                               char **out) CC_WUR;
/* The list (fl) view and a table row (Thumbprint, Services, Subject) of a pending request. */
void cc_request_print_list(const struct cc_request *r, FILE *f);
void cc_request_print_table_row(const struct cc_request *r, FILE *f);

/* ---- import and export (import.c) -------------------------------------------------------- */

/*
 * Reads what a CA or another server hands over: PEM or DER certificates (one or several), a
 * PKCS#7 certificate chain (.p7b, PEM or DER), or PKCS#12 (.pfx, DER) opened with `password`
 * (NULL or "" for none; the caller wipes it). `certs_out` receives every certificate (owned);
 * `key_out` the PKCS#12's private key (owned), NULL for the other formats and for a PKCS#12
 * without one. A PEM input that holds a private key is read for its certificates only: keys
 * travel in PKCS#12. A wrong PKCS#12 password fails with CC_ERR_PASSWORD; a corrupt or
 * truncated input with CC_ERR_PARSE and the library's reason; a PKCS#12 whose iteration counts
 * pass CC_PKCS12_MAX_ITER or CC_PKCS12_MAX_ITER_TOTAL with CC_ERR_LIMIT, before any key is
 * derived with them.
 */
enum cc_err cc_import_read(const unsigned char *buf, size_t len, const char *password,
                           STACK_OF(X509) * *certs_out, EVP_PKEY **key_out) CC_WUR;

/*
 * The leaf of a set of certificates and its chain: with a key, the certificate the key belongs
 * to; otherwise the one certificate that issued none of the others (when several qualify, the
 * only one with a pending request in `s`, which may be NULL). The chain is the leaf's issuers
 * found in the set, from the leaf upwards; certificates of the set not in it are dropped. Both
 * owned.
 */
enum cc_err cc_import_split(STACK_OF(X509) * certs, EVP_PKEY *key, struct cc_store *s,
                            X509 **leaf_out, STACK_OF(X509) * *chain_out) CC_WUR;

struct cc_import_params {
	unsigned services;         /* enabled on the imported certificate (added to a request's) */
	bool exportable;           /* PKCS#12 key: may be exported again (a request's own flag
	                              decides for a completed request) */
	const char *friendly_name; /* NULL: the request's, or the PKCS#12 friendlyName, or none */
};

/*
 * Imports what cc_import_read read. Without a key the leaf must complete a pending request
 * (cc_store_complete_request); with one (PKCS#12) the certificate, chain and key are stored.
 * `thumb_out` receives the thumbprint; `id_out` (may be NULL) the completed request's id, ""
 * when none.
 */
enum cc_err cc_store_import(struct cc_store *s, STACK_OF(X509) * certs, EVP_PKEY *key,
                            const struct cc_import_params *p, char thumb_out[CC_THUMB_LEN + 1],
                            char id_out[CC_THUMB_LEN + 1]) CC_WUR;

/*
 * A PKCS#12 (DER) of the certificate, its key and its chain, encrypted under `password` (not
 * empty) with AES-256-CBC (PBES2, PBKDF2-HMAC-SHA256, CC_PKCS12_ITER) for the key and the
 * certificates, and a SHA-256 MAC of CC_PKCS12_ITER iterations. Refused with CC_ERR_NO_EXPORT
 * when the certificate is not PrivateKeyExportable (as Export-ExchangeCertificate refuses), and
 * CC_ERR_NO_KEY when it has no key. `out` is owned (OPENSSL_free).
 */
enum cc_err cc_cert_export_pkcs12(const struct cc_cert *c, const char *password,
                                  unsigned char **out, size_t *len) CC_WUR;

#endif

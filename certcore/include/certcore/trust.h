/*
 * Trusted roots (README, "The store"): trust/registry, trust/enterprise and trust/grouppolicy in
 * the store, each holding THUMB.pem files, and the system bundle (RootCAType ThirdParty).
 *
 * struct cc_trust is a snapshot of them, loaded afresh for each verification, so a root added
 * or removed counts at once. Ownership as for cc_store: _free(NULL) is a no-op, getters borrow.
 */
#ifndef CERTCORE_TRUST_H
#define CERTCORE_TRUST_H

#include <stddef.h>

#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/store.h"

/* Debian's bundle (ca-certificates). $UMEDGE_CA_BUNDLE overrides it; "" means none. */
#define CC_SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct cc_trust;

/*
 * Loads the store's trust folders and the system bundle (`bundle`: NULL for $UMEDGE_CA_BUNDLE
 * or CC_SYSTEM_BUNDLE, "" for none). Unreadable files are recorded as problems, not failures.
 */
enum cc_err cc_trust_load(const struct cc_store *s, const char *bundle,
                          struct cc_trust **out) CC_WUR;
void cc_trust_free(struct cc_trust *t);

size_t cc_trust_count(const struct cc_trust *t);
X509 *cc_trust_cert(const struct cc_trust *t, size_t i); /* borrowed */
enum cc_root_ca_type cc_trust_type(const struct cc_trust *t, size_t i);
size_t cc_trust_problem_count(const struct cc_trust *t);
const char *cc_trust_problem(const struct cc_trust *t, size_t i); /* "FILE: reason" */

/* The type of a root: the folder holding this exact certificate; CC_ROOT_UNKNOWN if none. */
enum cc_root_ca_type cc_trust_type_of(const struct cc_trust *t, X509 *root);

/* A new X509_STORE holding every root (owned by the caller). */
enum cc_err cc_trust_x509_store(const struct cc_trust *t, X509_STORE **out) CC_WUR;

/* "registry", "enterprise", "grouppolicy" (the folders certctl trust add writes to). */
enum cc_err cc_root_ca_type_parse(const char *s, enum cc_root_ca_type *out) CC_WUR;

/*
 * Adds a root to a trust folder (Registry, Enterprise or GroupPolicy) as trust/TYPE/THUMB.pem.
 * Only CA certificates are taken: self-signed, and basicConstraints CA:TRUE when the extension
 * is present. `thumb_out` (may be NULL) receives the thumbprint.
 */
enum cc_err cc_store_trust_add(struct cc_store *s, X509 *root, enum cc_root_ca_type type,
                               char thumb_out[CC_THUMB_LEN + 1]) CC_WUR;
/* Removes a root from whichever store folder holds it; CC_ERR_NOT_FOUND when none does. */
enum cc_err cc_store_trust_remove(struct cc_store *s, const char *thumb) CC_WUR;

#endif

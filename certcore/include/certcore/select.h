/*
 * Which certificate a service uses (README, "certctl": select), and why each other one is not.
 *
 * A certificate is a candidate for a service when the service is enabled on it, its
 * CertificateDomains match the service's FQDN and it is eligible for TLS:
 * EKU serverAuth or no EKU; an RSA key of at least 1024 bits or an EC key; a private key that is
 * present, readable and not password protected; Status Valid (which covers a trusted chain or
 * self-signed, dates, signatures and revocation). Candidates are ordered:
 *   SMTP, POP, IMAP, IIS, LDAP: CA-issued before self-signed, then the newest NotBefore;
 *   UM: CA-issued before self-signed, each by the longest remaining validity (latest NotAfter).
 * Ties are broken by thumbprint, so the answer is the same every time.
 */
#ifndef CERTCORE_SELECT_H
#define CERTCORE_SELECT_H

#include <stddef.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certcore/verify.h"

struct cc_selection;

/*
 * Verifies every certificate of the store (opts as for cc_store_verify; NULL for defaults) and
 * orders the candidates for `service` (one bit) and `fqdn`: NULL is the server's own FQDN
 * (cc_host_names), as Exchange matched for a connector without one; "" is any name (no
 * host-name filter, for a certificate that is an identity rather than a server's name). This is
 * the rule's one place: certctl select and cc_store_select_or_create pass their FQDN through.
 * The selection holds a reference on each certificate it names (cert.h), so it outlives a
 * reload of the store; the certificates its accessors return are borrowed from it (take a
 * reference with cc_cert_up_ref to keep one longer than the selection).
 */
enum cc_err cc_store_select(struct cc_store *s, enum cc_service service, const char *fqdn,
                            const struct cc_verify_opts *opts, struct cc_selection **out) CC_WUR;
void cc_selection_free(struct cc_selection *sel);

/* The FQDN the selection matched (the host's when none was given), NULL for any name. */
const char *cc_selection_fqdn(const struct cc_selection *sel);
/* The chosen certificate (the first candidate), or NULL when none is eligible. */
struct cc_cert *cc_selection_selected(const struct cc_selection *sel);
size_t cc_selection_candidate_count(const struct cc_selection *sel);
struct cc_cert *cc_selection_candidate(const struct cc_selection *sel, size_t i);
size_t cc_selection_rejected_count(const struct cc_selection *sel);
struct cc_cert *cc_selection_rejected(const struct cc_selection *sel, size_t i);
const char *cc_selection_rejected_reason(const struct cc_selection *sel, size_t i);

/*
 * {"service": "UM", "fqdn": null|"...", "selected": "THUMB"|null, "candidates": [{properties}],
 *  "rejected": [{"Thumbprint": ..., "reason": ...}]}; "fqdn" is the name matched
 * (cc_selection_fqdn: the host's FQDN when none was given), null for any name. Owned text.
 */
enum cc_err cc_selection_to_json(const struct cc_selection *sel, char **out) CC_WUR;

/*
 * Why a certificate is not eligible for TLS, or NULL when it is (its status must have been
 * set by cc_store_verify_all). Static or store-owned text.
 */
const char *cc_cert_ineligible_reason(const struct cc_store *s, const struct cc_cert *c, char *buf,
                                      size_t len);

#endif

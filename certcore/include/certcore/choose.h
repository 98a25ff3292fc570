/*
 * The certificate a service runs with (README, "certctl": select), one rule for every daemon:
 * certcore's choice for the service and its FQDN; else the certificate in use when it has merely
 * expired (Exchange "can still use an expired certificate, and logs events"); else a new
 * self-signed one. A certificate in use that is Revoked, Invalid, Untrusted or Unknown is never
 * kept: Exchange uses no certificate whose Status is not Valid, expiry being the one exception.
 */
#ifndef CERTCORE_CHOOSE_H
#define CERTCORE_CHOOSE_H

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/log.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certcore/verify.h"

/* How the certificate was had. */
enum cc_chose {
	CC_CHOSE_SELECTED,     /* the first eligible certificate in the service's order */
	CC_CHOSE_KEPT_EXPIRED, /* nothing eligible; `in_use` has merely expired: kept */
	CC_CHOSE_CREATED,      /* nothing eligible: made self-signed from `create` */
	CC_CHOSE_NONE          /* nothing eligible and `create` NULL */
};

struct cc_choice {
	struct cc_cert *cert; /* owned reference (cc_cert_free), kept across reloads; NULL: NONE */
	enum cc_chose how;
	/*
	 * Why `in_use` is not the answer (its rejection reason, e.g. "status Revoked: ..."), ""
	 * when it is, when none was given, or when it is still eligible but another one ranks
	 * first (then the caller logs a plain CertificateChanged).
	 */
	char in_use_reason[512];
};

/*
 * Chooses the certificate for `service` (one bit) and `fqdn` (NULL: the host's FQDN, as
 * Exchange did for a connector without one; "": any name, for a certificate that is an
 * identity rather than a server's name, as edgesync's replicator key) in `s`, verifying with `opts`
 * (NULL: defaults; opts->now is the clock). `in_use` (may be NULL) is the thumbprint the daemon
 * serves now, or served last (kept in its state/ across restarts). `create` (NULL: never create)
 * describes the self-signed certificate to make when none is eligible: its services must include
 * `service` and its domains must match `fqdn` (CC_ERR_INVAL otherwise, nothing kept); mark it with
 * create->made_by so that cc_store_auto_renew renews it. A new certificate is logged on `log`
 * (may be NULL) as SelfSignedCertificateCreated (1002). The store reloads when one is made.
 * out->cert is the caller's reference: cc_cert_free it (also on the paths that fail after
 * choosing, as for any owned object).
 */
enum cc_err cc_store_select_or_create(struct cc_store *s, enum cc_service service, const char *fqdn,
                                      const struct cc_verify_opts *opts, const char *in_use,
                                      const struct cc_new_params *create, struct cc_log *log,
                                      struct cc_choice *out) CC_WUR;

/*
 * The events of the certificate a service runs with, one form for every daemon: when it starts
 * using `cert`, CertificateInUse (1000: service, thumbprint, issuer, serial, not_after); when it
 * switches to `cert` from the one whose thumbprint is `old_thumbprint`, CertificateChanged (1001:
 * service, old_thumbprint, thumbprint, issuer, serial, reason), `reason` saying why the old one
 * is no longer used (NULL, logged as null: another one simply ranks first). `service` is the
 * name the event carries ("UM", "SMTP", "LDAP"). `log` NULL: nothing is logged.
 */
void cc_log_cert_in_use(struct cc_log *log, const char *service, const struct cc_cert *cert);
void cc_log_cert_changed(struct cc_log *log, const char *service, const char *old_thumbprint,
                         const struct cc_cert *cert, const char *reason);

#endif

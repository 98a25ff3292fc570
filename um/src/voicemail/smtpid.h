/*
 * umd's identity as an SMTP client (README, "umd, the UM server"): the certificate
 * it presents to the hub, chosen by certcore's SMTP rules for the FQDN of [smtp] fqdn (as
 * Exchange's send connector chose by its FQDN), created self-signed with SMTP enabled when none
 * is eligible (event 1002); and the roots the hub's certificate must chain to. Logged as
 * CertificateInUse / CertificateChanged with service SMTP, run through the expiry clock.
 *
 * The main thread starts and refreshes it (umd's periodic check and SIGHUP); the submission
 * thread takes a snapshot for each new connection. All functions may be called from any thread;
 * the snapshot's objects are the caller's references.
 */
#ifndef UM_VOICEMAIL_SMTPID_H
#define UM_VOICEMAIL_SMTPID_H

#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/log.h"
#include "error.h"
#include "metrics.h"

struct um_smtp_identity;

/* What a connection uses; from um_smtp_identity_get, freed with um_smtp_snapshot_clear. */
struct um_smtp_snapshot {
	X509 *cert;
	STACK_OF(X509) * chain;
	EVP_PKEY *key;
	X509_STORE *trust; /* the store's trusted roots (with the system bundle) */
	char thumb[CC_THUMB_LEN + 1];
	uint64_t generation; /* changes when the certificate or the roots change */
};

/*
 * Opens the store at `store`, selects or creates the certificate for `fqdn` and loads the
 * trusted roots. `renew_days`: renew a self-signed certificate of umd's this close to its end
 * (0: never). *out NULL on entry, owned on success.
 */
enum um_err um_smtp_identity_start(const char *store, const char *fqdn, int renew_days,
                                   struct cc_log *log, struct um_metrics *metrics, time_t now,
                                   struct um_smtp_identity **out) UM_WUR;
void um_smtp_identity_free(struct um_smtp_identity *id);

/* Selects again (cached CRLs only), swaps, renews, ticks the expiry clock, reloads the roots. */
enum um_err um_smtp_identity_refresh(struct um_smtp_identity *id, time_t now) UM_WUR;

/* The generation now: a snapshot of another generation is stale (a new connection is due). */
uint64_t um_smtp_identity_generation(struct um_smtp_identity *id);

/* References to what is in use now. */
enum um_err um_smtp_identity_get(struct um_smtp_identity *id, struct um_smtp_snapshot *out) UM_WUR;
void um_smtp_snapshot_clear(struct um_smtp_snapshot *s);

#endif

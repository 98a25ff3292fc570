/*
 * The UM certificate while umd runs: chosen with certcore's one rule (choose.h: UM's order, else
 * the certificate in use when it has merely expired, across restarts through state/umd-um.ini,
 * else a new self-signed one marked made_by umd), watched for changes (a renewal, another
 * certificate enabled for UM, one in use that became Revoked, Invalid or Untrusted: dropped at
 * once) and swapped in for new handshakes without touching live connections, renewed
 * automatically when it is umd's own and near its end (cc_store_auto_renew), and run through
 * the expiry clock.
 */
#ifndef UM_CERTS_H
#define UM_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certcore/log.h"
#include "certcore/selfsigned.h"
#include "config.h"
#include "error.h"
#include "metrics.h"

struct um_certs;

/*
 * Opens the store, chooses (or creates) the certificate, checks it and its key, writes sofia's
 * certificate folder (agent.pem: a throw-away key and certificate, never the UM key, which
 * tlshook.c serves from memory; cafile.pem: the roots) and installs the identity and the
 * trusted roots for TLS. Logs SelfSignedCertificateCreated and CertificateInUse. `now` is the
 * clock.
 */
enum um_err um_certs_start(const struct um_config *cfg, struct cc_log *log,
                           struct um_metrics *metrics, time_t now, struct um_certs **out) UM_WUR;
/* Frees `c` (NULL: nothing) and removes sofia's agent.pem. */
void um_certs_free(struct um_certs *c);

/* The folder sofia-sip reads (TPTAG_CERTIFICATE). */
const char *um_certs_dir(const struct um_certs *c);
/* The thumbprint in use. */
const char *um_certs_thumbprint(const struct um_certs *c);

/*
 * Looks again: reloads the store and trusted roots, re-selects (cached CRLs only, so the SIP
 * thread never waits on the network), swaps and logs CertificateChanged when another
 * certificate wins, renews a self-signed one near its end, and ticks the expiry clock.
 * `cfg` may be a reloaded configuration (its gateways' pins join the trusted roots).
 */
enum um_err um_certs_refresh(struct um_certs *c, const struct um_config *cfg, time_t now) UM_WUR;

/*
 * Rebuilds the trust store of TLS (roots, pins, the CRLs of crl/) without selecting again: after
 * the CRL fetcher brought new CRLs (crlfetch.h). No network. *ncrl: the CRLs now loaded.
 */
enum um_err um_certs_reload_crls(struct um_certs *c, const struct um_config *cfg,
                                 size_t *ncrl) UM_WUR;

/*
 * UM_OK when `cert` has its private key and the two go together; else UM_ERR_CERT, the detail
 * naming the certificate and OpenSSL's reason ("key values mismatch"). Checked before a
 * certificate is handed to TLS: sofia-sip and libcurl would start without a usable one.
 */
enum um_err um_certs_key_matches(const struct cc_cert *cert) UM_WUR;

/*
 * Logs what cc_store_auto_renew did to `old`, umd's own certificate for `service` ("UM",
 * "SMTP"): SelfSignedCertificateRenewed (old_thumbprint, thumbprint: `renewed_as`) when
 * `renewed`; CertificateRenewalFailed (thumbprint, reason: certcore's) when `cr` is not CC_OK;
 * nothing otherwise.
 */
void um_certs_log_renewal(struct cc_log *log, const char *service, const char *old, enum cc_err cr,
                          bool renewed, const char *renewed_as);

/* The made_by mark of the certificates umd makes for itself (cc_store_auto_renew renews only
 * those). */
#define UM_MADE_BY "umd"

/*
 * What a self-signed certificate of umd's own for `fqdn` is made with (cc_store_select_or_create's
 * `create`): the FQDN and its short name as CertificateDomains, `services`, RSA 2048, marked as
 * umd's (so only umd renews it). `p` borrows doms and short_name, which the caller provides.
 */
void um_certs_own_params(const char *fqdn, unsigned services, const char *friendly, time_t now,
                         struct cc_new_params *p, const char *doms[2], char short_name[64]);

#endif

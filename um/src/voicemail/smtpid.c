/* umd's SMTP client identity (smtpid.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "certcore/choose.h"
#include "certcore/events.h"
#include "certcore/expiry.h"
#include "certcore/select.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certcore/trust.h"
#include "certs.h"
#include "voicemail/smtpid.h"

struct um_smtp_identity {
	char why[512]; /* why the certificate in use was dropped by the last choice, or "" */
	char *store_path, *fqdn;
	int renew_days;
	struct cc_log *log;
	struct um_metrics *metrics;
	pthread_mutex_t mu; /* guards what follows: the submission thread reads it */
	X509 *cert;
	STACK_OF(X509) * chain;
	EVP_PKEY *key;
	X509_STORE *trust;
	char thumb[CC_THUMB_LEN + 1];
	uint64_t generation;
};

void
um_smtp_identity_free(struct um_smtp_identity *id)
{
	if (id == NULL)
		return;
	X509_free(id->cert);
	sk_X509_pop_free(id->chain, X509_free);
	EVP_PKEY_free(id->key);
	X509_STORE_free(id->trust);
	pthread_mutex_destroy(&id->mu);
	free(id->store_path);
	free(id->fqdn);
	free(id);
}

/*
 * certcore's one rule (choose.h): the SMTP choice for id->fqdn, else the certificate in use when
 * it has merely expired, else a new self-signed one with SMTP enabled, marked as umd's own.
 * *out is an owned reference (cc_cert_free); NULL only when certcore could not make one either.
 */
static enum um_err
choose(struct um_smtp_identity *id, struct cc_store *s, bool offline, time_t now,
       struct cc_cert **out)
{
	struct cc_verify_opts vo;
	struct cc_new_params p;
	struct cc_choice ch;
	const char *doms[2];
	char short_name[64], in_use[CC_THUMB_LEN + 1];
	enum cc_err cr;

	*out = NULL;
	memset(&vo, 0, sizeof(vo));
	vo.offline = offline;
	vo.timeout = 5;
	vo.now = now;
	um_certs_own_params(id->fqdn, CC_SVC_SMTP, "umd self-signed (SMTP)", now, &p, doms,
	                    short_name);
	pthread_mutex_lock(&id->mu);
	snprintf(in_use, sizeof(in_use), "%s", id->thumb);
	pthread_mutex_unlock(&id->mu);
	if ((cr = cc_store_select_or_create(s, CC_SVC_SMTP, id->fqdn, &vo,
	                                    in_use[0] ? in_use : NULL, &p, id->log, &ch)) != CC_OK)
		return um_seterr_cc(UM_ERR_CERTCORE, cr, "choosing the SMTP certificate");
	snprintf(id->why, sizeof(id->why), "%s", ch.in_use_reason);
	if (ch.in_use_reason[0] != '\0')
		cc_log_message(id->log, CC_LOG_WARNING, "SMTP certificate %s no longer used: %s",
		               in_use, ch.in_use_reason);
	*out = ch.cert;
	return UM_OK;
}

/* Takes `cert` (and fresh roots) for the connections to come; logs what changed. */
static enum um_err
install(struct um_smtp_identity *id, struct cc_store *s, const struct cc_cert *cert)
{
	struct cc_trust *t = NULL;
	X509_STORE *st = NULL;
	STACK_OF(X509) *chain = NULL;
	char old[CC_THUMB_LEN + 1];
	bool changed;
	enum cc_err cr;
	enum um_err r = UM_ERR_CERT;

	if ((r = um_certs_key_matches(cert)) != UM_OK)
		return r;
	if ((cr = cc_trust_load(s, NULL, &t)) != CC_OK ||
	    (cr = cc_trust_x509_store(t, &st)) != CC_OK) {
		r = um_seterr_cc(UM_ERR_CERTCORE, cr, "trusted roots");
		goto out;
	}
	if ((chain = X509_chain_up_ref(cc_cert_chain(cert))) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "chain");
		goto out;
	}
	if (!X509_up_ref(cc_cert_x509(cert)) || !EVP_PKEY_up_ref(cc_cert_key(cert))) {
		r = um_seterr(UM_ERR_NOMEM, "certificate");
		goto out;
	}
	pthread_mutex_lock(&id->mu);
	snprintf(old, sizeof(old), "%s", id->thumb);
	changed = strcmp(old, cc_cert_thumbprint(cert)) != 0;
	X509_free(id->cert);
	sk_X509_pop_free(id->chain, X509_free);
	EVP_PKEY_free(id->key);
	X509_STORE_free(id->trust);
	id->cert = cc_cert_x509(cert);
	id->key = cc_cert_key(cert);
	id->chain = chain;
	id->trust = st;
	snprintf(id->thumb, sizeof(id->thumb), "%s", cc_cert_thumbprint(cert));
	/* A new certificate needs a new connection; new roots only judge the next one. */
	if (changed)
		id->generation++;
	pthread_mutex_unlock(&id->mu);
	chain = NULL;
	st = NULL;
	if (changed && old[0] == '\0')
		cc_log_cert_in_use(id->log, "SMTP", cert);
	else if (changed)
		cc_log_cert_changed(id->log, "SMTP", old, cert,
		                    id->why[0] != '\0' ? id->why : NULL);
	if (id->metrics != NULL &&
	    um_metrics_set_cert(id->metrics, "SMTP", cc_cert_thumbprint(cert),
	                        cc_cert_not_after(cert)) != UM_OK)
		cc_log_message(id->log, CC_LOG_WARNING, "metrics: %s", um_errdetail());
	r = UM_OK;
out:
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_free(st);
	cc_trust_free(t);
	ERR_clear_error();
	return r;
}

enum um_err
um_smtp_identity_start(const char *store, const char *fqdn, int renew_days, struct cc_log *log,
                       struct um_metrics *metrics, time_t now, struct um_smtp_identity **out)
{
	struct um_smtp_identity *id;
	struct cc_store *s = NULL;
	struct cc_cert *cert = NULL;
	enum cc_err cr;
	enum um_err r = UM_ERR_NOMEM;

	*out = NULL;
	if ((id = calloc(1, sizeof(*id))) == NULL)
		return um_seterr(UM_ERR_NOMEM, "SMTP identity");
	pthread_mutex_init(&id->mu, NULL);
	id->log = log;
	id->metrics = metrics;
	id->renew_days = renew_days;
	if ((id->store_path = strdup(store)) == NULL || (id->fqdn = strdup(fqdn)) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "SMTP identity");
		goto out;
	}
	if ((cr = cc_store_open(store, CC_STORE_CREATE, &s)) != CC_OK) {
		r = um_seterr_cc(UM_ERR_CERTCORE, cr, "opening the store");
		goto out;
	}
	if ((r = choose(id, s, false, now, &cert)) != UM_OK)
		goto out;
	if (cert == NULL) {
		r = um_seterr(UM_ERR_CERT, "no certificate is eligible for SMTP as %s", fqdn);
		goto out;
	}
	if ((r = install(id, s, cert)) != UM_OK)
		goto out;
	if (cc_expiry_tick(s, cert, "SMTP", log, now, NULL) != CC_OK)
		cc_log_message(log, CC_LOG_WARNING, "expiry clock (SMTP): %s", cc_errdetail());
	*out = id;
	id = NULL;
	r = UM_OK;
out:
	cc_cert_free(cert);
	cc_store_free(s);
	um_smtp_identity_free(id);
	return r;
}

enum um_err
um_smtp_identity_refresh(struct um_smtp_identity *id, time_t now)
{
	struct cc_store *s = NULL;
	struct cc_cert *cert = NULL;
	enum cc_err cr;
	enum um_err r;

	if ((cr = cc_store_open(id->store_path, 0, &s)) != CC_OK) {
		r = um_seterr_cc(UM_ERR_CERTCORE, cr, "opening the store");
		goto out;
	}
	if ((r = choose(id, s, true, now, &cert)) != UM_OK)
		goto out;
	/* umd's own self-signed certificate near its end is cloned; the clone wins the choice. */
	if (cert != NULL) {
		char thumb[CC_THUMB_LEN + 1], renewed_as[CC_THUMB_LEN + 1];
		bool renewed = false;

		snprintf(thumb, sizeof(thumb), "%s", cc_cert_thumbprint(cert));
		cr = cc_store_auto_renew(s, thumb, UM_MADE_BY, id->renew_days, now, renewed_as,
		                         &renewed);
		um_certs_log_renewal(id->log, "SMTP", thumb, cr, renewed, renewed_as);
		if (cr == CC_OK && renewed) {
			/* the renewed one is chosen now: our reference on the old one goes */
			cc_cert_free(cert);
			if ((r = choose(id, s, true, now, &cert)) != UM_OK)
				goto out;
		}
	}
	if (cert == NULL) {
		r = um_seterr(UM_ERR_CERT, "no certificate is eligible for SMTP as %s", id->fqdn);
		goto out;
	}
	/* The same certificate: the roots may still have changed, take them again. */
	if ((r = install(id, s, cert)) != UM_OK)
		goto out;
	if (cc_expiry_tick(s, cert, "SMTP", id->log, now, NULL) != CC_OK)
		cc_log_message(id->log, CC_LOG_WARNING, "expiry clock (SMTP): %s", cc_errdetail());
	r = UM_OK;
out:
	cc_cert_free(cert);
	cc_store_free(s);
	return r;
}

uint64_t
um_smtp_identity_generation(struct um_smtp_identity *id)
{
	uint64_t g;

	pthread_mutex_lock(&id->mu);
	g = id->generation;
	pthread_mutex_unlock(&id->mu);
	return g;
}

enum um_err
um_smtp_identity_get(struct um_smtp_identity *id, struct um_smtp_snapshot *out)
{
	enum um_err r = UM_OK;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&id->mu);
	if ((out->chain = X509_chain_up_ref(id->chain)) == NULL || !X509_up_ref(id->cert) ||
	    !EVP_PKEY_up_ref(id->key) || !X509_STORE_up_ref(id->trust)) {
		r = um_seterr(UM_ERR_NOMEM, "SMTP identity");
	} else {
		out->cert = id->cert;
		out->key = id->key;
		out->trust = id->trust;
		snprintf(out->thumb, sizeof(out->thumb), "%s", id->thumb);
		out->generation = id->generation;
	}
	pthread_mutex_unlock(&id->mu);
	if (r != UM_OK) {
		/* A failed up_ref took nothing: only what was handed over is released. */
		sk_X509_pop_free(out->chain, X509_free);
		out->chain = NULL;
	}
	return r;
}

void
um_smtp_snapshot_clear(struct um_smtp_snapshot *s)
{
	if (s == NULL)
		return;
	X509_free(s->cert);
	sk_X509_pop_free(s->chain, X509_free);
	EVP_PKEY_free(s->key);
	X509_STORE_free(s->trust);
	memset(s, 0, sizeof(*s));
}

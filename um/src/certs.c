/* The UM certificate while umd runs (certs.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "certcore/choose.h"
#include "certcore/events.h"
#include "certcore/expiry.h"
#include "certcore/fileio.h"
#include "certcore/select.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certcore/trust.h"
#include "certs.h"
#include "tlshook.h"

struct um_certs {
	char *store_path;
	char *dir;
	char *agent; /* dir/agent.pem: the throw-away identity sofia-sip loads (placeholder()) */
	char *fqdn;  /* as configured, or the host's */
	int renew_days;
	struct cc_log *log;
	struct um_metrics *metrics;
	char thumb[CC_THUMB_LEN + 1];
};

void
um_certs_free(struct um_certs *c)
{
	if (c == NULL)
		return;
	/* sofia-sip read it when it started; nothing is left behind at stop. */
	if (c->agent != NULL && cc_file_remove(c->agent) != CC_OK)
		cc_log_message(c->log, CC_LOG_WARNING, "removing %s: %s", c->agent, cc_errdetail());
	free(c->agent);
	free(c->store_path);
	free(c->dir);
	free(c->fqdn);
	free(c);
}

const char *
um_certs_dir(const struct um_certs *c)
{
	return c->dir;
}

const char *
um_certs_thumbprint(const struct um_certs *c)
{
	return c->thumb;
}

enum um_err
um_certs_key_matches(const struct cc_cert *cert)
{
	if (cc_cert_key(cert) == NULL)
		return um_seterr(UM_ERR_CERT, "certificate %s: its private key is missing",
		                 cc_cert_thumbprint(cert));
	if (X509_check_private_key(cc_cert_x509(cert), cc_cert_key(cert)) != 1)
		return um_seterr_ssl(UM_ERR_CERT,
		                     "certificate %s: certificate and key do not go together",
		                     cc_cert_thumbprint(cert));
	return UM_OK;
}

/* PEM of several objects into one buffer, written atomically with `mode`. */
static enum um_err
write_pem(const char *path, X509 *x, STACK_OF(X509) * chain, EVP_PKEY *key, mode_t mode)
{
	BIO *b = NULL;
	BUF_MEM *m;
	int i;
	enum cc_err cr;
	enum um_err r = UM_ERR_TLS;

	if ((b = BIO_new(key ? BIO_s_secmem() : BIO_s_mem())) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "BIO");
		goto out;
	}
	if ((key != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1) ||
	    (x != NULL && PEM_write_bio_X509(b, x) != 1)) {
		r = um_seterr_ssl(UM_ERR_TLS, "encoding %s", path);
		goto out;
	}
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		if (PEM_write_bio_X509(b, sk_X509_value(chain, i)) != 1) {
			r = um_seterr_ssl(UM_ERR_TLS, "encoding %s", path);
			goto out;
		}
	}
	BIO_get_mem_ptr(b, &m);
	cr = cc_file_write_atomic(path, m->data, m->length, mode);
	if (key != NULL)
		OPENSSL_cleanse(m->data, m->length);
	if (cr != CC_OK) {
		r = um_seterr_cc(UM_ERR_CERTCORE, cr, "writing sofia-sip's certificate folder");
		goto out;
	}
	r = UM_OK;
out:
	BIO_free(b);
	ERR_clear_error();
	return r;
}

/* Adds a copy of `n` to `names` unless an equal name is there already; 0 when out of memory. */
static int
add_name(STACK_OF(X509_NAME) * names, const X509_NAME *n)
{
	X509_NAME *d;
	int i;

	for (i = 0; i < sk_X509_NAME_num(names); i++)
		if (X509_NAME_cmp(sk_X509_NAME_value(names, i), n) == 0)
			return 1;
	if ((d = X509_NAME_dup(n)) == NULL)
		return 0;
	if (!sk_X509_NAME_push(names, d)) {
		X509_NAME_free(d);
		return 0;
	}
	return 1;
}

/*
 * Every CRL of the store's crl/ folder (files an administrator put there and certcore's cache
 * of fetched ones, PEM or DER) into `st`, for the revocation check of gateway certificates.
 * OpenSSL picks the CRL of each issuer and checks its signature and dates at the handshake;
 * nothing is fetched here (this runs on the SIP thread; crlfetch.c fetches, on its own). A file
 * that holds no CRL is skipped with a warning. certcore's CRL lookup (crl.c) is private and answers
 * for one certificate at a time, so the folder is read here with OpenSSL's own loader.
 */
static enum um_err
load_crls(struct um_certs *c, X509_STORE *st, size_t *count)
{
	X509_LOOKUP *lu;
	DIR *d = NULL;
	struct dirent *de;
	char *dir = NULL, *p = NULL;
	int n;
	enum um_err r = UM_ERR_NOMEM;

	*count = 0;
	if (asprintf(&dir, "%s/crl", c->store_path) < 0) {
		dir = NULL;
		r = um_seterr(UM_ERR_NOMEM, "CRL folder path");
		goto out;
	}
	if ((d = opendir(dir)) == NULL) {
		r = UM_OK; /* no folder: no CRLs */
		goto out;
	}
	if ((lu = X509_STORE_add_lookup(st, X509_LOOKUP_file())) == NULL) {
		r = um_seterr_ssl(UM_ERR_TLS, "loading the CRLs of %s", dir);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		free(p);
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0) {
			p = NULL;
			r = um_seterr(UM_ERR_NOMEM, "CRL path");
			goto out;
		}
		if ((n = X509_load_crl_file(lu, p, X509_FILETYPE_PEM)) <= 0) {
			ERR_clear_error();
			n = X509_load_crl_file(lu, p, X509_FILETYPE_ASN1);
		}
		if (n <= 0) {
			char why[512] = "";

			cc_ssl_reasons(why, sizeof(why));
			cc_log_message(c->log, CC_LOG_WARNING,
			               "CRL file %s skipped: no CRL in it, as PEM or DER%s", p,
			               why);
			continue;
		}
		*count += (size_t)n;
	}
	r = UM_OK;
out:
	if (d != NULL)
		closedir(d);
	free(dir);
	free(p);
	return r;
}

/*
 * Roots from the store (and system bundle) plus each gateway's pinned certificate, with the
 * store's CRLs and revocation checking on; and the CA names the CertificateRequest lists, as
 * cfg->client_ca_names says.
 */
static enum um_err
build_trust(struct um_certs *c, struct cc_store *s, const struct um_config *cfg, X509_STORE **out,
            STACK_OF(X509) * *certs_out, STACK_OF(X509_NAME) * *names_out)
{
	struct cc_trust *t = NULL;
	X509_STORE *st = NULL;
	STACK_OF(X509) *all = NULL;
	STACK_OF(X509_NAME) *names = NULL;
	size_t i, ncrl = 0;
	enum cc_err cr;
	enum um_err r = UM_ERR_TLS;

	*out = NULL;
	*certs_out = NULL;
	*names_out = NULL;
	if ((cr = cc_trust_load(s, NULL, &t)) != CC_OK) {
		r = um_seterr_cc(UM_ERR_CERTCORE, cr, "trusted roots");
		goto out;
	}
	if ((cr = cc_trust_x509_store(t, &st)) != CC_OK) {
		r = um_seterr_cc(UM_ERR_CERTCORE, cr, "trusted roots");
		goto out;
	}
	if ((all = sk_X509_new_null()) == NULL || (names = sk_X509_NAME_new_null()) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "trust");
		goto out;
	}
	for (i = 0; i < cc_trust_count(t); i++) {
		X509 *x = cc_trust_cert(t, i);

		if (X509_up_ref(x) && !sk_X509_push(all, x))
			X509_free(x);
		/* "store": the roots of the store's own trust folders, not the system bundle. */
		if ((cfg->client_ca_names == UM_CLIENT_CA_ALL ||
		     (cfg->client_ca_names == UM_CLIENT_CA_STORE &&
		      cc_trust_type(t, i) != CC_ROOT_THIRD_PARTY)) &&
		    !add_name(names, X509_get_subject_name(x))) {
			r = um_seterr(UM_ERR_NOMEM, "client CA names");
			goto out;
		}
	}
	for (i = 0; i < cfg->ngateways; i++) {
		X509 *pin = cfg->gateways[i].pin;

		if (pin == NULL)
			continue;
		/* A pinned self-signed gateway certificate is its own trust anchor. */
		if (X509_STORE_add_cert(st, pin) != 1)
			ERR_clear_error(); /* the same certificate twice */
		if (X509_up_ref(pin) && !sk_X509_push(all, pin))
			X509_free(pin);
		/* Its issuer (itself, when self-signed) is what a client looks for in the list. */
		if (cfg->client_ca_names != UM_CLIENT_CA_NONE &&
		    !add_name(names, X509_get_issuer_name(pin))) {
			r = um_seterr(UM_ERR_NOMEM, "client CA names");
			goto out;
		}
	}
	if ((r = load_crls(c, st, &ncrl)) != UM_OK)
		goto out;
	/*
	 * Every certificate of a gateway's chain is checked against its issuer's CRL (RFC 5280
	 * section 6.3); what happens without one is tlshook.c's verify_cb (gateway_revocation).
	 */
	if (X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL) != 1) {
		r = um_seterr_ssl(UM_ERR_TLS, "turning on the CRL check");
		goto out;
	}
	*out = st;
	*certs_out = all;
	*names_out = names;
	st = NULL;
	all = NULL;
	names = NULL;
	r = UM_OK;
out:
	X509_STORE_free(st);
	sk_X509_pop_free(all, X509_free);
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	cc_trust_free(t);
	ERR_clear_error();
	return r;
}

/* Hands a new trust store, client CA list and revocation policy to the TLS hook. */
static void
set_trust(X509_STORE *st, STACK_OF(X509_NAME) * names, const struct um_config *cfg)
{
	um_tls_set_require_crl(cfg->gateway_revocation == UM_REVOCATION_REQUIRE);
	um_tls_set_client_ca_names(names);
	um_tls_set_trust(st);
}

/*
 * sofia-sip 1.12 starts TLS only with a certificate and key in files (TPTAG_CERTIFICATE:
 * agent.pem), and loads them once, when it makes its contexts. umd serves its real identity
 * from memory (tlshook.c's certificate callback replaces whatever the context holds), so sofia
 * gets a throw-away EC key and a one-day certificate for a name that cannot exist (RFC 6761
 * .invalid), made here and never used in a handshake: the UM key is never written outside
 * the store's keys/. um_certs_free removes the file.
 */
static enum um_err
placeholder(struct um_certs *c, time_t now)
{
	const char *doms[1] = {"umd-placeholder.invalid"};
	struct cc_new_params p;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	enum cc_err cr;
	enum um_err r;

	memset(&p, 0, sizeof(p));
	p.domains = doms;
	p.ndomains = 1;
	p.key_type = CC_KEY_EC_P256;
	p.days = 1;
	p.now = now;
	if ((cr = cc_selfsigned_create(&p, &x, &key)) != CC_OK) {
		r = um_seterr_cc(UM_ERR_CERTCORE, cr, "making sofia-sip's throw-away certificate");
		goto out;
	}
	if (asprintf(&c->agent, "%s/agent.pem", c->dir) < 0) {
		c->agent = NULL;
		r = um_seterr(UM_ERR_NOMEM, "paths");
		goto out;
	}
	r = write_pem(c->agent, x, NULL, key, 0600);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

/* Installs `cert` for new handshakes, and the roots in sofia's folder. */
static enum um_err
install(struct um_certs *c, struct cc_store *s, const struct um_config *cfg,
        const struct cc_cert *cert)
{
	X509_STORE *st = NULL;
	STACK_OF(X509) *roots = NULL;
	STACK_OF(X509_NAME) *names = NULL;
	char *cafile = NULL;
	enum um_err r = UM_ERR_NOMEM;

	/* Checked here, never handed on unchecked: sofia-sip would start without a certificate. */
	if ((r = um_certs_key_matches(cert)) != UM_OK)
		goto out;
	if (asprintf(&cafile, "%s/cafile.pem", c->dir) < 0) {
		cafile = NULL;
		r = um_seterr(UM_ERR_NOMEM, "paths");
		goto out;
	}
	if ((r = build_trust(c, s, cfg, &st, &roots, &names)) != UM_OK)
		goto out;
	/* sofia-sip refuses to start TLS when cafile.pem holds nothing: our own certificate then.
	 */
	if ((r = write_pem(cafile, sk_X509_num(roots) ? NULL : cc_cert_x509(cert), roots, NULL,
	                   0644)) != UM_OK)
		goto out;
	if ((r = um_tls_set_identity(cc_cert_x509(cert), cc_cert_chain(cert), cc_cert_key(cert))) !=
	    UM_OK)
		goto out;
	set_trust(st, names, cfg);
	st = NULL;
	names = NULL;
	memcpy(c->thumb, cc_cert_thumbprint(cert), CC_THUMB_LEN + 1);
	if (c->metrics != NULL &&
	    um_metrics_set_cert(c->metrics, "UM", c->thumb, cc_cert_not_after(cert)) != UM_OK)
		cc_log_message(c->log, CC_LOG_WARNING, "metrics: %s", um_errdetail());
	r = UM_OK;
out:
	X509_STORE_free(st);
	sk_X509_pop_free(roots, X509_free);
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	free(cafile);
	return r;
}

enum um_err
um_certs_reload_crls(struct um_certs *c, const struct um_config *cfg, size_t *ncrl)
{
	struct cc_store *s = NULL;
	X509_STORE *st = NULL;
	STACK_OF(X509) *roots = NULL;
	STACK_OF(X509_NAME) *names = NULL;
	STACK_OF(X509_OBJECT) * objs;
	enum cc_err cr;
	enum um_err r;
	int i;

	*ncrl = 0;
	if ((cr = cc_store_open(c->store_path, 0, &s)) != CC_OK) {
		r = um_seterr_cc(UM_ERR_CERTCORE, cr, "opening the store");
		goto out;
	}
	if ((r = build_trust(c, s, cfg, &st, &roots, &names)) != UM_OK)
		goto out;
	objs = X509_STORE_get0_objects(st);
	for (i = 0; i < sk_X509_OBJECT_num(objs); i++)
		if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_CRL)
			(*ncrl)++;
	set_trust(st, names, cfg);
	st = NULL;
	names = NULL;
	r = UM_OK;
out:
	X509_STORE_free(st);
	sk_X509_pop_free(roots, X509_free);
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	cc_store_free(s);
	return r;
}

#define STATE_NAME "umd-um" /* state/umd-um.ini: the thumbprint last in use, across restarts */
#define MADE_BY    UM_MADE_BY

/* Logs why each certificate is not eligible for UM (cached CRLs only: this is a report). */
static void
report_ineligible(struct um_certs *c, struct cc_store *s, time_t now)
{
	struct cc_selection *sel = NULL;
	struct cc_verify_opts vo;
	size_t i;

	memset(&vo, 0, sizeof(vo));
	vo.offline = true;
	vo.now = now;
	if (cc_store_select(s, CC_SVC_UM, c->fqdn, &vo, &sel) == CC_OK)
		for (i = 0; i < cc_selection_rejected_count(sel); i++)
			cc_log_message(c->log, CC_LOG_INFO, "certificate %s not used for UM: %s",
			               cc_cert_thumbprint(cc_selection_rejected(sel, i)),
			               cc_selection_rejected_reason(sel, i));
	cc_selection_free(sel);
}

/*
 * Chooses with certcore's one rule (choose.h): UM's order for our FQDN; else the certificate in
 * use when it has merely expired; else, with `create`, a new self-signed one for the FQDN and
 * its short name (as Exchange UM made its own), marked as umd's so that only it is renewed
 * automatically. `in_use` may be NULL.
 */
static enum um_err
choose(struct um_certs *c, struct cc_store *s, bool offline, time_t now, const char *in_use,
       bool create, struct cc_choice *ch)
{
	struct cc_new_params p;
	struct cc_verify_opts vo;
	const char *doms[2];
	char short_name[64];
	enum cc_err cr;

	memset(&vo, 0, sizeof(vo));
	vo.offline = offline;
	vo.timeout = 5;
	vo.now = now;
	um_certs_own_params(c->fqdn, CC_SVC_UM, "umd self-signed", now, &p, doms, short_name);
	if ((cr = cc_store_select_or_create(s, CC_SVC_UM, c->fqdn, &vo, in_use, create ? &p : NULL,
	                                    c->log, ch)) != CC_OK)
		return um_seterr_cc(UM_ERR_CERTCORE, cr, "choosing the UM certificate");
	/*
	 * Why each other one was not taken, said once per choice: a choice that found nothing
	 * and is asked again with `create` (um_certs_refresh) reports on the second call only.
	 */
	if (ch->how == CC_CHOSE_CREATED || (ch->how == CC_CHOSE_NONE && create))
		report_ineligible(c, s, now);
	if (ch->how == CC_CHOSE_KEPT_EXPIRED)
		cc_log_message(c->log, CC_LOG_WARNING,
		               "certificate %s has expired and no other certificate is eligible "
		               "for UM: still serving it (CertificateExpired every day until it "
		               "is replaced)",
		               cc_cert_thumbprint(ch->cert));
	return UM_OK;
}

/* Remembers the thumbprint in use, so that a restart keeps an expired one as Exchange does. */
static void
save_in_use(struct um_certs *c, struct cc_store *s)
{
	const char *k[1] = {"thumbprint"}, *v[1] = {c->thumb};

	if (cc_store_state_set(s, STATE_NAME, k, v, 1) != CC_OK)
		cc_log_message(c->log, CC_LOG_WARNING, "state %s: %s", STATE_NAME, cc_errdetail());
}

enum um_err
um_certs_start(const struct um_config *cfg, struct cc_log *log, struct um_metrics *metrics,
               time_t now, struct um_certs **out)
{
	struct um_certs *c = NULL;
	struct cc_store *s = NULL;
	struct cc_cert *cert = NULL;
	struct cc_choice ch;
	char *shortname = NULL, last[CC_THUMB_LEN + 8];
	enum cc_err cr;
	enum um_err r = UM_ERR_NOMEM;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->store_path = strdup(cfg->store)) == NULL ||
	    asprintf(&c->dir, "%s/state/umd-tls", cfg->store) < 0) {
		if (c != NULL)
			c->dir = NULL;
		r = um_seterr(UM_ERR_NOMEM, "certificates");
		goto out;
	}
	c->log = log;
	c->metrics = metrics;
	c->renew_days = cfg->renew_self_signed_days;
	if (cfg->fqdn != NULL) {
		if ((c->fqdn = strdup(cfg->fqdn)) == NULL) {
			r = um_seterr(UM_ERR_NOMEM, "fqdn");
			goto out;
		}
	} else if ((cr = cc_host_names(&c->fqdn, &shortname)) != CC_OK) {
		r = um_seterr_cc(UM_ERR_CERTCORE, cr, "the host's FQDN");
		goto out;
	}
	if ((cr = cc_store_open(cfg->store, CC_STORE_CREATE, &s)) != CC_OK) {
		r = um_seterr_cc(UM_ERR_CERTCORE, cr, "opening the store");
		goto out;
	}
	if (mkdir(c->dir, 0700) == -1 && errno != EEXIST) {
		r = um_seterr(UM_ERR_IO, "mkdir %s: %s", c->dir, strerror(errno));
		goto out;
	}
	/* The certificate last in use, kept when it has merely expired (choose.h). */
	if (cc_store_state_get(s, STATE_NAME, "thumbprint", last, sizeof(last)) != CC_OK) {
		cc_log_message(log, CC_LOG_WARNING, "state %s: %s", STATE_NAME, cc_errdetail());
		last[0] = '\0';
	}
	/* At start the CRLs may be fetched: nothing is being served yet. */
	if ((r = choose(c, s, false, now, last, true, &ch)) != UM_OK)
		goto out;
	cert = ch.cert;
	if (cert == NULL) {
		r = um_seterr(UM_ERR_CERT,
		              "no certificate is eligible for UM (see the lines above)");
		goto out;
	}
	if (*ch.in_use_reason != '\0')
		cc_log_message(log, CC_LOG_WARNING,
		               "certificate %s, in use before, is not used: %s", last,
		               ch.in_use_reason);
	if ((r = placeholder(c, now)) != UM_OK || (r = install(c, s, cfg, cert)) != UM_OK)
		goto out;
	save_in_use(c, s);
	cc_log_cert_in_use(c->log, "UM", cert);
	if (cc_expiry_tick(s, cert, "UM", log, now, NULL) != CC_OK)
		cc_log_message(log, CC_LOG_WARNING, "expiry clock: %s", cc_errdetail());
	*out = c;
	c = NULL;
	r = UM_OK;
out:
	cc_cert_free(cert);
	cc_store_free(s);
	um_certs_free(c);
	free(shortname);
	return r;
}

enum um_err
um_certs_refresh(struct um_certs *c, const struct um_config *cfg, time_t now)
{
	struct cc_store *s = NULL;
	struct cc_cert *cur = NULL;
	struct cc_choice ch;
	char old[CC_THUMB_LEN + 1], renewed_as[CC_THUMB_LEN + 1];
	const char *why = NULL;
	bool renewed = false;
	enum cc_err cr;
	enum um_err r;

	memset(&ch, 0, sizeof(ch));
	memcpy(old, c->thumb, sizeof(old));
	if ((cr = cc_store_open(c->store_path, 0, &s)) != CC_OK) {
		r = um_seterr_cc(UM_ERR_CERTCORE, cr, "opening the store");
		goto out;
	}
	/*
	 * Automatic renewal of umd's own self-signed certificate near its end (Exchange left it to
	 * an administrator, who often forgot); an administrator's is never touched. The clone
	 * wins the choice below.
	 */
	cr = cc_store_auto_renew(s, c->thumb, MADE_BY, c->renew_days, now, renewed_as, &renewed);
	um_certs_log_renewal(c->log, "UM", old, cr == CC_ERR_NOT_FOUND ? CC_OK : cr, renewed,
	                     renewed_as);
	/* Cached CRLs only, so the SIP thread never waits on the network. */
	if ((r = choose(c, s, true, now, c->thumb, false, &ch)) != UM_OK)
		goto out;
	if (ch.cert == NULL && cc_store_find(s, c->thumb, &cur) == CC_OK &&
	    cc_cert_status(cur, now, &why) == CC_STATUS_UNKNOWN) {
		/*
		 * Its revocation cannot be checked from the cache (the CRL fetcher, crlfetch.c,
		 * brings CRLs ahead of need): not known to be bad, so no reason to break the
		 * gateways that trust it. Revoked, Invalid or Untrusted drop it below.
		 */
		report_ineligible(c, s, now);
		cc_log_message(
		        c->log, CC_LOG_WARNING,
		        "certificate %s: revocation cannot be checked now (%s); still serving "
		        "it",
		        c->thumb, why ? why : "");
		if (cc_expiry_tick(s, cur, "UM", c->log, now, NULL) != CC_OK)
			cc_log_message(c->log, CC_LOG_WARNING, "expiry clock: %s", cc_errdetail());
		r = UM_OK;
		goto out;
	}
	/* Nothing else: Exchange uses no certificate whose Status is not Valid. Make our own. */
	if (ch.cert == NULL && (r = choose(c, s, true, now, c->thumb, true, &ch)) != UM_OK)
		goto out;
	if (ch.cert == NULL) {
		r = um_seterr(UM_ERR_CERT, "no certificate is eligible for UM");
		goto out;
	}
	if (strcmp(cc_cert_thumbprint(ch.cert), c->thumb) != 0) {
		if ((r = install(c, s, cfg, ch.cert)) != UM_OK)
			goto out;
		save_in_use(c, s);
		cc_log_cert_changed(c->log, "UM", old, ch.cert,
		                    *ch.in_use_reason ? ch.in_use_reason
		                    : renewed         ? "renewed"
		                                      : "another certificate ranks first for UM");
	} else {
		/* Same certificate: roots and gateway pins may still have changed. */
		X509_STORE *st = NULL;
		STACK_OF(X509) *roots = NULL;
		STACK_OF(X509_NAME) *names = NULL;

		if ((r = build_trust(c, s, cfg, &st, &roots, &names)) != UM_OK)
			goto out;
		set_trust(st, names, cfg);
		sk_X509_pop_free(roots, X509_free);
	}
	if (cc_expiry_tick(s, ch.cert, "UM", c->log, now, NULL) != CC_OK)
		cc_log_message(c->log, CC_LOG_WARNING, "expiry clock: %s", cc_errdetail());
	r = UM_OK;
out:
	cc_cert_free(ch.cert);
	cc_store_free(s);
	return r;
}

void
um_certs_log_renewal(struct cc_log *log, const char *service, const char *old, enum cc_err cr,
                     bool renewed, const char *renewed_as)
{
	char why[1100];

	if (cr != CC_OK) {
		struct cc_field f[] = {
		        CC_FSTR("service", service),
		        CC_FSTR("thumbprint", old),
		        CC_FSTR("reason", why),
		};

		snprintf(why, sizeof(why), "%s: %s", cc_strerror(cr), cc_errdetail());
		cc_log_event(log, CC_LOG_WARNING, CC_EV_CERTIFICATE_RENEWAL_FAILED, f, 3);
	} else if (renewed) {
		struct cc_field f[] = {
		        CC_FSTR("service", service),
		        CC_FSTR("old_thumbprint", old),
		        CC_FSTR("thumbprint", renewed_as),
		};

		cc_log_event(log, CC_LOG_INFO, CC_EV_SELF_SIGNED_CERTIFICATE_RENEWED, f, 3);
	}
}

void
um_certs_own_params(const char *fqdn, unsigned services, const char *friendly, time_t now,
                    struct cc_new_params *p, const char *doms[2], char short_name[64])
{
	const char *dot = strchr(fqdn, '.');

	/* The FQDN and its short name, as Exchange UM made its own certificate. */
	doms[0] = fqdn;
	snprintf(short_name, 64, "%.*s", dot ? (int)(dot - fqdn) : (int)strlen(fqdn), fqdn);
	doms[1] = short_name;
	memset(p, 0, sizeof(*p));
	p->domains = doms;
	p->ndomains = dot != NULL && dot != fqdn ? 2 : 1;
	p->services = services;
	p->key_type = CC_KEY_RSA_2048;
	p->now = now;
	p->friendly_name = friendly;
	p->made_by = MADE_BY;
}

/* The replicator's certificate: certcore's LDAP selection, or a new self-signed one. */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "certcore/events.h"
#include "certcore/select.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "edgesync/identity.h"
#include "internal.h"

static enum es_err
select_ldap(struct cc_store *s, struct cc_cert **out)
{
	struct cc_verify_opts opts;
	struct cc_selection *sel = NULL;
	enum cc_err ce;

	*out = NULL;
	memset(&opts, 0, sizeof(opts));
	/* the replicator's own key is judged offline: a CRL server being down must not stop
	 * replication */
	opts.offline = true;
	if ((ce = cc_store_select(s, CC_SVC_LDAP, NULL, &opts, &sel)) != CC_OK)
		return es_seterr_cc(ES_ERR_CERT, ce, "selecting the LDAP certificate of %s",
		                    cc_store_path(s));
	*out = cc_selection_selected(sel);
	cc_selection_free(sel);
	return ES_OK;
}

enum es_err
es_identity_select(struct cc_store *s, bool create, struct cc_log *log, struct cc_cert **out)
{
	struct cc_new_params p;
	char thumb[CC_THUMB_LEN + 1], when[32], *domains = NULL;
	struct cc_cert *c = NULL;
	enum cc_err ce;
	enum es_err r;
	size_t i;

	*out = NULL;
	if ((r = select_ldap(s, &c)) != ES_OK)
		return r;
	if (c == NULL && !create)
		return es_seterr(ES_ERR_NOT_FOUND, "no certificate of %s is eligible for LDAP",
		                 cc_store_path(s));
	if (c == NULL) {
		memset(&p, 0, sizeof(p));
		p.services = CC_SVC_LDAP;
		p.key_type = CC_KEY_RSA_2048;
		p.friendly_name = "edgesync replicator";
		if ((ce = cc_store_new_self_signed(s, &p, thumb)) != CC_OK)
			return es_seterr_cc(ES_ERR_CERT, ce,
			                    "creating the replicator certificate in %s",
			                    cc_store_path(s));
		if ((ce = cc_store_find(s, thumb, &c)) != CC_OK)
			return es_seterr_cc(ES_ERR_CERT, ce, "the new certificate %s", thumb);
		for (i = 0; i < cc_cert_domain_count(c); i++) {
			char *d = es_aprintf("%s%s%s", domains ? domains : "", domains ? "," : "",
			                     cc_cert_domain(c, i));

			free(domains);
			if ((domains = d) == NULL)
				return es_seterr(ES_ERR_NOMEM, "domains");
		}
		if (log != NULL) {
			struct cc_field f[] = {
			        CC_FSTR("service", "LDAP"),
			        CC_FSTR("thumbprint", thumb),
			        CC_FSTR("domains", domains ? domains : ""),
			        CC_FSTR("not_after", cc_time_iso8601(cc_cert_not_after(c), when)),
			};
			cc_log_event(log, CC_LOG_INFO, CC_EV_SELF_SIGNED_CERTIFICATE_CREATED, f,
			             ES_NELEM(f));
		}
		free(domains);
	}
	*out = c;
	return ES_OK;
}

enum es_err
es_identity_recipients(struct cc_cert *self, char *const *extra, STACK_OF(X509) * *out)
{
	enum es_err r = ES_ERR_NOMEM;
	STACK_OF(X509) *sk = NULL;
	X509 *x = NULL;
	BIO *bio = NULL;
	size_t i;

	*out = NULL;
	if ((sk = sk_X509_new_null()) == NULL)
		goto nomem;
	if (!X509_up_ref(cc_cert_x509(self)))
		goto nomem;
	if (!sk_X509_push(sk, cc_cert_x509(self))) {
		X509_free(cc_cert_x509(self));
		goto nomem;
	}
	for (i = 0; extra != NULL && extra[i] != NULL; i++) {
		if ((bio = BIO_new_file(extra[i], "r")) == NULL ||
		    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
			r = es_seterr_ssl(ES_ERR_CERT, "replicator certificate %s", extra[i]);
			goto out;
		}
		BIO_free(bio);
		bio = NULL;
		if (!sk_X509_push(sk, x))
			goto nomem;
		x = NULL;
	}
	*out = sk;
	sk = NULL;
	r = ES_OK;
	goto out;
nomem:
	r = es_seterr(ES_ERR_NOMEM, "recipients");
out:
	X509_free(x);
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	return r;
}

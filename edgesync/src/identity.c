/* The replicator's certificate: certcore's LDAP selection, or a new self-signed one. */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "certcore/choose.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "edgesync/identity.h"
#include "internal.h"

enum es_err
es_identity_select(struct cc_store *s, bool create, struct cc_log *log, struct cc_cert **out)
{
	struct cc_verify_opts opts;
	struct cc_new_params p;
	struct cc_choice ch;
	enum cc_err ce;

	*out = NULL;
	memset(&opts, 0, sizeof(opts));
	/* the replicator's own key is judged offline: a CRL server being down must not stop
	 * replication */
	opts.offline = true;
	/* none eligible: the host's FQDN and short name, RSA 2048, service LDAP */
	memset(&p, 0, sizeof(p));
	p.services = CC_SVC_LDAP;
	p.key_type = CC_KEY_RSA_2048;
	p.friendly_name = "edgesync replicator";
	p.made_by = "edgesync";
	/* "": the replicator's key is an identity (credentials are encrypted to it), no host name
	 */
	if ((ce = cc_store_select_or_create(s, CC_SVC_LDAP, "", &opts, NULL, create ? &p : NULL,
	                                    log, &ch)) != CC_OK)
		return es_seterr_cc(ES_ERR_CERT, ce, "choosing the LDAP certificate of %s",
		                    cc_store_path(s));
	if (ch.cert == NULL)
		return es_seterr(ES_ERR_NOT_FOUND, "no certificate of %s is eligible for LDAP",
		                 cc_store_path(s));
	*out = ch.cert;
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

/* The edge credential, CMS-enveloped to the replicators' certificates (OpenSSL CMS). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "certcore/cert.h"
#include "edgesync/credential.h"
#include "internal.h"

enum es_err
es_credential_seal(const char *password, STACK_OF(X509) * recipients, unsigned char **der,
                   size_t *len)
{
	enum es_err r = ES_ERR_CRYPTO;
	BIO *in = NULL;
	CMS_ContentInfo *cms = NULL;
	int n;

	*der = NULL;
	*len = 0;
	if (password == NULL || *password == '\0' || strlen(password) > ES_CREDENTIAL_MAX)
		return es_seterr(ES_ERR_INVAL, "credential: empty or longer than %d bytes",
		                 ES_CREDENTIAL_MAX);
	if (recipients == NULL || sk_X509_num(recipients) == 0)
		return es_seterr(ES_ERR_INVAL, "credential: no recipient certificate");
	if ((in = BIO_new_mem_buf(password, (int)strlen(password))) == NULL) {
		r = es_seterr_ssl(ES_ERR_NOMEM, "credential");
		goto out;
	}
	/* GCM makes OpenSSL 3 write AuthEnvelopedData: tampering is detected on decryption */
	if ((cms = CMS_encrypt(recipients, in, EVP_aes_256_gcm(), CMS_BINARY)) == NULL) {
		r = es_seterr_ssl(ES_ERR_CRYPTO, "CMS_encrypt");
		goto out;
	}
	if ((n = i2d_CMS_ContentInfo(cms, der)) <= 0) {
		*der = NULL;
		r = es_seterr_ssl(ES_ERR_CRYPTO, "CMS to DER");
		goto out;
	}
	*len = (size_t)n;
	r = ES_OK;
out:
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return r;
}

static enum es_err
parse(const unsigned char *der, size_t len, CMS_ContentInfo **out)
{
	const unsigned char *p = der;

	*out = NULL;
	if (der == NULL || len == 0 || len > 1 << 20 ||
	    (*out = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL || p != der + len) {
		CMS_ContentInfo_free(*out);
		*out = NULL;
		return es_seterr_ssl(ES_ERR_CREDENTIAL, "credential is not a CMS structure");
	}
	return ES_OK;
}

/* Decrypts `cms` with one key; the password is checked and copied out of a secure BIO. */
static enum es_err
decrypt(CMS_ContentInfo *cms, X509 *cert, EVP_PKEY *key, char **password)
{
	enum es_err r = ES_ERR_CREDENTIAL;
	BIO *out = NULL;
	char buf[ES_CREDENTIAL_MAX + 1], *pw = NULL;
	int n;

	*password = NULL;
	if ((out = BIO_new(BIO_s_secmem())) == NULL) {
		r = es_seterr_ssl(ES_ERR_NOMEM, "credential");
		goto out;
	}
	if (CMS_decrypt(cms, key, cert, NULL, out, CMS_BINARY) != 1) {
		r = es_seterr_ssl(ES_ERR_CREDENTIAL, "CMS_decrypt");
		goto out;
	}
	n = BIO_read(out, buf, sizeof(buf));
	if (n <= 0 || n > ES_CREDENTIAL_MAX || memchr(buf, '\0', (size_t)n) != NULL) {
		r = es_seterr(ES_ERR_CREDENTIAL, "credential: the decrypted password is empty, too "
		                                 "long or holds a NUL byte");
		goto out;
	}
	if ((pw = malloc((size_t)n + 1)) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "credential");
		goto out;
	}
	memcpy(pw, buf, (size_t)n);
	pw[n] = '\0';
	*password = pw;
	r = ES_OK;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	BIO_free(out);
	return r;
}

enum es_err
es_credential_open_with(const unsigned char *der, size_t len, X509 *cert, EVP_PKEY *key,
                        char **password)
{
	CMS_ContentInfo *cms = NULL;
	enum es_err r;

	*password = NULL;
	if ((r = parse(der, len, &cms)) != ES_OK)
		return r;
	r = decrypt(cms, cert, key, password);
	CMS_ContentInfo_free(cms);
	return r;
}

/*
 * Whether `x` may be a recipient of `cms`: a key transport recipient names its certificate
 * (issuer and serial, or key identifier: RFC 5652 6.2.1); any other kind is tried.
 */
static bool
recipient(CMS_ContentInfo *cms, X509 *x)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
	CMS_RecipientInfo *ri;
	int i;

	for (i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		ri = sk_CMS_RecipientInfo_value(ris, i);
		if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_TRANS ||
		    CMS_RecipientInfo_ktri_cert_cmp(ri, x) == 0)
			return true;
	}
	return false;
}

/* es_credential_open's decryption: the store's own key, in this process. */
static enum es_err
decrypt_here(void *arg, const unsigned char *der, size_t len, struct cc_cert *c, char **password)
{
	CMS_ContentInfo *cms = arg;

	(void)der;
	(void)len;
	return decrypt(cms, cc_cert_x509(c), cc_cert_key(c), password);
}

enum es_err
es_credential_open_via(const unsigned char *der, size_t len, struct cc_store *store,
                       es_credential_decrypt_fn fn, void *arg, char **password)
{
	CMS_ContentInfo *cms = NULL;
	enum es_err r, rr;
	struct cc_cert *c;
	size_t i, tried = 0;
	char last[512] = "";

	*password = NULL;
	if ((r = parse(der, len, &cms)) != ES_OK)
		return r;
	if (fn == NULL) {
		fn = decrypt_here;
		arg = cms;
	}
	r = ES_ERR_CREDENTIAL;
	for (i = 0; i < cc_store_count(store); i++) {
		c = cc_store_cert(store, i);
		if (!cc_cert_has_private_key(c) || !recipient(cms, cc_cert_x509(c)))
			continue;
		tried++;
		if ((rr = fn(arg, der, len, c, password)) == ES_OK) {
			r = ES_OK;
			break;
		}
		if (rr != ES_ERR_CREDENTIAL) {
			r = rr; /* the detail is fn's */
			goto out;
		}
		snprintf(last, sizeof(last), "%s", es_errdetail());
	}
	ERR_clear_error();
	if (r != ES_OK)
		r = es_seterr(
		        ES_ERR_CREDENTIAL,
		        "no certificate of the store %s opens the credential (%zu keys of its "
		        "recipients tried%s%s); it was encrypted to another replicator: import the "
		        "subscription again, or list this replicator's certificate in "
		        "replicator_certificates",
		        cc_store_path(store), tried, *last ? "; last: " : "", last);
out:
	CMS_ContentInfo_free(cms);
	return r;
}

enum es_err
es_credential_open(const unsigned char *der, size_t len, struct cc_store *store, char **password)
{
	return es_credential_open_via(der, len, store, NULL, NULL, password);
}

/* edgesync's key holder, the replicator's side (keyholder.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "certcore/keyproc.h"
#include "edgesync/credential.h"
#include "edgesync/keyholder.h"
#include "edgesync/keyproto.h"
#include "edgesync/keyserve.h"
#include "internal.h"

#define REPLY_SECONDS 10 /* a holder that does not answer in this time is taken as gone */

struct es_keyholder {
	struct cc_keyproc *kp;
	char *store;
	struct cc_log *log;
};

/* The holder's process (cc_keyproc_main_fn). */
static int
holder_main(int fd, void *arg)
{
	struct es_keyholder *kh = arg;

	return es_keyserve_run(fd, kh->store, kh->log);
}

enum es_err
es_keyholder_start(const char *store, struct cc_log *log, struct es_keyholder **out)
{
	struct es_keyholder *kh;
	enum cc_err ce;

	*out = NULL;
	if ((kh = calloc(1, sizeof(*kh))) == NULL || (kh->store = strdup(store)) == NULL) {
		free(kh);
		return es_seterr(ES_ERR_NOMEM, "key holder");
	}
	kh->log = log;
	if ((ce = cc_keyproc_start("edgesync-keys", REPLY_SECONDS, holder_main, kh, &kh->kp)) !=
	    CC_OK) {
		free(kh->store);
		free(kh);
		return es_seterr_cc(ES_ERR_KEYHOLDER, ce, "starting the key holder");
	}
	*out = kh;
	return ES_OK;
}

void
es_keyholder_stop(struct es_keyholder *kh)
{
	if (kh == NULL)
		return;
	cc_keyproc_stop(kh->kp);
	free(kh->store);
	free(kh);
}

pid_t
es_keyholder_pid(const struct es_keyholder *kh)
{
	return cc_keyproc_pid(kh->kp);
}

bool
es_keyholder_ended(struct es_keyholder *kh, char *why, size_t len)
{
	return kh != NULL && cc_keyproc_ended(kh->kp, why, len);
}

bool
es_keyholder_gone(struct es_keyholder *kh)
{
	return kh != NULL && cc_keyproc_gone(kh->kp);
}

static void
request(struct es_keyp_req *req, enum es_keyp_op op, const char *thumb, size_t len)
{
	memset(req, 0, sizeof(*req));
	req->op = (uint8_t)op;
	req->len = (uint32_t)len;
	memcpy(req->thumb, thumb, CC_THUMB_LEN);
}

enum cc_err
es_keyholder_key(void *arg, const char *thumb, X509 *x, EVP_PKEY **key, char *why, size_t len)
{
	struct es_keyholder *kh = arg;
	struct es_keyp_req req;
	EVP_PKEY *pub;

	*key = NULL;
	if (strlen(thumb) != CC_THUMB_LEN) {
		snprintf(why, len, "not a thumbprint");
		return CC_OK;
	}
	request(&req, ES_KEYP_LOAD, thumb, 0);
	if (cc_keyproc_call(kh->kp, &req, sizeof(req), NULL, 0, NULL, NULL) != CC_OK) {
		snprintf(why, len, "%s", cc_errdetail());
		return CC_OK;
	}
	/* the stand-in: the certificate's public key (keyholder.h) */
	if ((pub = X509_get0_pubkey(x)) == NULL || !EVP_PKEY_up_ref(pub)) {
		ERR_clear_error();
		snprintf(why, len, "the certificate's public key cannot be read");
		return CC_OK;
	}
	*key = pub;
	return CC_OK;
}

enum es_err
es_keyholder_decrypt(void *arg, const unsigned char *der, size_t len, struct cc_cert *c,
                     char **password)
{
	struct es_keyholder *kh = arg;
	struct es_keyp_req req;
	char buf[ES_CREDENTIAL_MAX + 1], *pw = NULL;
	size_t n = ES_CREDENTIAL_MAX;
	enum cc_err ce;
	enum es_err r = ES_ERR_CREDENTIAL;

	*password = NULL;
	if (len == 0 || len > ES_KEYP_ENVELOPE_MAX)
		return es_seterr(ES_ERR_CREDENTIAL,
		                 "a credential of %zu bytes: the key holder opens 1 to %d", len,
		                 ES_KEYP_ENVELOPE_MAX);
	request(&req, ES_KEYP_DECRYPT, cc_cert_thumbprint(c), len);
	if ((ce = cc_keyproc_call(kh->kp, &req, sizeof(req), der, len, buf, &n)) != CC_OK) {
		r = ce == CC_ERR_IO      ? ES_ERR_KEYHOLDER
		    : ce == CC_ERR_NOMEM ? ES_ERR_NOMEM
		                         : ES_ERR_CREDENTIAL;
		r = es_seterr(r, "%s", cc_errdetail());
		goto out;
	}
	if (n == 0 || memchr(buf, '\0', n) != NULL) {
		r = es_seterr(ES_ERR_CREDENTIAL,
		              "the key holder's password is empty or holds a NUL");
		goto out;
	}
	if ((pw = malloc(n + 1)) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "credential");
		goto out;
	}
	memcpy(pw, buf, n);
	pw[n] = '\0';
	*password = pw;
	r = ES_OK;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

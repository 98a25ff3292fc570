/* The key holder's loop (keyserve.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "certcore/store.h"
#include "keys/keyproto.h"
#include "keys/keyserve.h"

/* One key held: a reference of the store's EVP_PKEY, kept past the store's reloads. */
struct held {
	char thumb[CC_THUMB_LEN + 1];
	EVP_PKEY *key;
};

struct holder {
	const char *store_path;
	struct cc_log *log;
	struct cc_store *store;
	time_t opened;
	struct held *keys;
	size_t nkeys;
};

struct reply {
	struct um_keyp_rep h;
	unsigned char data[UM_KEYP_MAX];
};

/* The reply "key holder: WHAT[: ARG][ (OpenSSL's reason)]". */
static void
fail(struct reply *rep, const char *what, const char *arg)
{
	char buf[UM_KEYP_MAX];
	unsigned long e = ERR_peek_last_error();
	int n;

	n = snprintf(buf, sizeof(buf), "key holder: %s%s%s", what, arg ? ": " : "", arg ? arg : "");
	if (n >= 0 && e != 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, " (%s)",
		         ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "OpenSSL");
	ERR_clear_error();
	rep->h.ok = 0;
	rep->h.len = (uint16_t)strnlen(buf, sizeof(buf) - 1);
	memcpy(rep->data, buf, rep->h.len);
}

static struct held *
find_held(struct holder *h, const char *thumb)
{
	size_t i;

	for (i = 0; i < h->nkeys; i++)
		if (strcmp(h->keys[i].thumb, thumb) == 0)
			return &h->keys[i];
	return NULL;
}

/* The store's word on the key file of `thumb`, when it could not load it. */
static const char *
key_problem(const struct cc_store *s, const char *thumb)
{
	char suffix[CC_THUMB_LEN + 16];
	size_t i, n, sl;
	const char *p;

	snprintf(suffix, sizeof(suffix), "/keys/%s.key", thumb);
	sl = strlen(suffix);
	for (i = 0; i < cc_store_problem_count(s); i++) {
		p = cc_store_problem_path(s, i);
		n = strlen(p);
		if (n >= sl && strcmp(p + n - sl, suffix) == 0)
			return cc_store_problem_reason(s, i);
	}
	return NULL;
}

static void
load(struct holder *h, const char *thumb, struct reply *rep)
{
	struct cc_cert *c = NULL;
	struct cc_store *s = NULL;
	struct held *k, *nk;
	time_t now = time(NULL);
	const char *why;

	/* Read again unless read this very second and the certificate is there. */
	if (h->store == NULL || now != h->opened || cc_store_find(h->store, thumb, &c) != CC_OK) {
		/* umd may ask from inside a write of its own (a key it just made): no lock. */
		if (cc_store_open(h->store_path, CC_STORE_NO_LOCK, &s) != CC_OK) {
			fail(rep, "opening the store", cc_errdetail());
			return;
		}
		cc_store_free(h->store);
		h->store = s;
		h->opened = now;
		c = NULL;
	}
	if (c == NULL && cc_store_find(h->store, thumb, &c) != CC_OK) {
		fail(rep, "no such certificate in the store", thumb);
		return;
	}
	if (cc_cert_key(c) == NULL) {
		why = key_problem(h->store, thumb);
		fail(rep, "no usable private key", why);
		return;
	}
	if ((k = find_held(h, thumb)) == NULL) {
		if ((nk = realloc(h->keys, (h->nkeys + 1) * sizeof(*nk))) == NULL) {
			fail(rep, "out of memory", NULL);
			return;
		}
		h->keys = nk;
		k = &h->keys[h->nkeys++];
		memcpy(k->thumb, thumb, sizeof(k->thumb));
		k->key = NULL;
	}
	if (!EVP_PKEY_up_ref(cc_cert_key(c))) {
		fail(rep, "EVP_PKEY_up_ref failed", NULL);
		return;
	}
	EVP_PKEY_free(k->key);
	k->key = cc_cert_key(c);
	rep->h.ok = 1;
	rep->h.len = 0;
}

/* The digests TLS 1.2 and 1.3 sign with (RFC 8446 4.2.3); SHA-1 is not signed. */
static const EVP_MD *
digest(int nid)
{
	switch (nid) {
	case NID_sha224:
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
		return EVP_get_digestbynid(nid);
	default:
		return NULL;
	}
}

static void
sign(struct holder *h, const char *thumb, const struct um_keyp_req *req, const unsigned char *tbs,
     struct reply *rep)
{
	struct held *k = find_held(h, thumb);
	EVP_PKEY_CTX *ctx = NULL;
	const EVP_MD *md = digest(req->md_nid), *mgf1 = NULL;
	size_t siglen = sizeof(rep->data);
	bool rsa;

	if (k == NULL) {
		fail(rep, "key not loaded", thumb);
		goto out;
	}
	rsa = EVP_PKEY_is_a(k->key, "RSA");
	if (md == NULL || (size_t)EVP_MD_get_size(md) != req->len) {
		fail(rep, "digest refused (SHA-2 of its length only)", NULL);
		goto out;
	}
	if ((req->alg == UM_KEYP_ECDSA && !EVP_PKEY_is_a(k->key, "EC")) ||
	    ((req->alg == UM_KEYP_RSA_PKCS1 || req->alg == UM_KEYP_RSA_PSS) && !rsa) ||
	    (req->alg != UM_KEYP_ECDSA && req->alg != UM_KEYP_RSA_PKCS1 &&
	     req->alg != UM_KEYP_RSA_PSS)) {
		fail(rep, "algorithm does not fit the key", NULL);
		goto out;
	}
	if (req->alg == UM_KEYP_RSA_PSS &&
	    ((mgf1 = digest(req->mgf1_nid)) == NULL ||
	     (req->saltlen < 0 && req->saltlen != RSA_PSS_SALTLEN_DIGEST &&
	      req->saltlen != RSA_PSS_SALTLEN_MAX) ||
	     req->saltlen > UM_KEYP_MAX)) {
		fail(rep, "PSS parameters refused", NULL);
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
	    (req->alg == UM_KEYP_RSA_PKCS1 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
	    (req->alg == UM_KEYP_RSA_PSS &&
	     (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mgf1) != 1 ||
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, req->saltlen) != 1))) {
		fail(rep, "setting up the signature failed", NULL);
		goto out;
	}
	if (EVP_PKEY_sign(ctx, rep->data, &siglen, tbs, req->len) != 1) {
		fail(rep, "signing failed", NULL);
		goto out;
	}
	rep->h.ok = 1;
	rep->h.len = (uint16_t)siglen;
out:
	EVP_PKEY_CTX_free(ctx);
}

int
um_keyserve_run(int fd, const char *store, struct cc_log *log)
{
	struct {
		struct um_keyp_req h;
		unsigned char data[UM_KEYP_MAX];
	} in;
	struct um_keyp_parsed req;
	struct reply rep;
	struct holder h;
	const char *why;
	ssize_t n;
	size_t i;
	int rc = 1;

	memset(&h, 0, sizeof(h));
	h.store_path = store;
	h.log = log;
	for (;;) {
		n = recv(fd, &in, sizeof(in), 0);
		if (n == 0) {
			rc = 0; /* umd closed its end: it is stopping */
			break;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cc_log_message(log, CC_LOG_ERROR, "key holder: recv: %s", strerror(errno));
			break;
		}
		memset(&rep, 0, sizeof(rep));
		if (!um_keyp_parse(&in, (size_t)n, &req, &why))
			fail(&rep, why, NULL);
		else if (req.h.op == UM_KEYP_LOAD)
			load(&h, req.thumb, &rep);
		else if (req.h.op == UM_KEYP_SIGN)
			sign(&h, req.thumb, &req.h, req.data, &rep);
		else
			fail(&rep, "unknown request", NULL);
		if (send(fd, &rep, sizeof(rep.h) + rep.h.len, MSG_NOSIGNAL) == -1) {
			cc_log_message(log, CC_LOG_ERROR, "key holder: send: %s", strerror(errno));
			break;
		}
		OPENSSL_cleanse(&in, sizeof(in));
	}
	for (i = 0; i < h.nkeys; i++)
		EVP_PKEY_free(h.keys[i].key);
	free(h.keys);
	cc_store_free(h.store);
	return rc;
}

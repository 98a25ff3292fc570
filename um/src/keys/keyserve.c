/* The key holder's loop (keyserve.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "certcore/keyfile.h"
#include "certcore/sandbox.h"
#include "certcore/selfsigned.h"
#include "keys/keyproto.h"
#include "keys/keyserve.h"

/*
 * One key held: read from keys/THUMB.key (LOAD), or made here (MAKE: named by the SHA-1 of its
 * public key until WRITE names it by its certificate's thumbprint).
 */
struct held {
	char thumb[CC_THUMB_LEN + 1];
	EVP_PKEY *key;
	bool made;    /* made here, not written yet */
	bool written; /* written by this holder (REMOVE may take it back) */
};

struct holder {
	const char *store_path;
	struct cc_log *log;
	struct cc_keydir *keys; /* the store's keys/, opened before confinement */
	bool confined;
	struct held *held;
	size_t nheld;
};

#define MAX_MADE 8 /* keys made and not written yet */

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

	for (i = 0; i < h->nheld; i++)
		if (strcmp(h->held[i].thumb, thumb) == 0)
			return &h->held[i];
	return NULL;
}

/* Holds `key` (taken) as `thumb`, replacing a key held under that name. */
static bool
hold(struct holder *h, const char *thumb, EVP_PKEY *key, bool made, bool written)
{
	struct held *k = find_held(h, thumb), *nk;

	if (k == NULL) {
		if ((nk = realloc(h->held, (h->nheld + 1) * sizeof(*nk))) == NULL)
			return false;
		h->held = nk;
		k = &h->held[h->nheld++];
		memcpy(k->thumb, thumb, CC_THUMB_LEN + 1);
		k->key = NULL;
	}
	EVP_PKEY_free(k->key);
	k->key = key;
	k->made = made;
	k->written = written;
	return true;
}

static void
forget(struct holder *h, struct held *k)
{
	size_t i = (size_t)(k - h->held);

	EVP_PKEY_free(k->key);
	memmove(k, k + 1, (h->nheld - i - 1) * sizeof(*k)); /* kept in the order made */
	h->nheld--;
}

static bool
open_keys(struct holder *h, struct reply *rep)
{
	if (h->keys == NULL && cc_keydir_open(h->store_path, &h->keys) != CC_OK) {
		fail(rep, "opening the store's keys", cc_errdetail());
		return false;
	}
	return true;
}

/* 40 upper-case hex digits of the SHA-1 of `der`. */
static void
sha1_hex(const unsigned char *der, size_t len, char out[CC_THUMB_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	memset(out, 0, CC_THUMB_LEN + 1);
	if (EVP_Digest(der, len, md, &n, EVP_sha1(), NULL) != 1 || n * 2 != CC_THUMB_LEN)
		return;
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
}

/* The certificate in a request's data, and its thumbprint; NULL with the reply made. */
static X509 *
cert_of(const struct um_keyp_parsed *req, char thumb[CC_THUMB_LEN + 1], struct reply *rep)
{
	const unsigned char *p = req->data;
	X509 *x;

	if ((x = d2i_X509(NULL, &p, req->h.len)) == NULL || p != req->data + req->h.len) {
		X509_free(x);
		fail(rep, "not a certificate (DER)", NULL);
		return NULL;
	}
	sha1_hex(req->data, req->h.len, thumb);
	return x;
}

/* LOAD: keys/THUMB.key, the key of the certificate in the request. */
static void
load(struct holder *h, const struct um_keyp_parsed *req, struct reply *rep)
{
	char thumb[CC_THUMB_LEN + 1], why[512];
	struct held *k = find_held(h, req->thumb);
	EVP_PKEY *key = NULL;
	X509 *x;

	if ((x = cert_of(req, thumb, rep)) == NULL)
		return;
	if (strcmp(thumb, req->thumb) != 0) {
		fail(rep, "the certificate is not the one named", req->thumb);
		goto out;
	}
	if (k != NULL && !k->made && X509_check_private_key(x, k->key) == 1)
		goto ok; /* held already: a thumbprint names one key */
	if (!open_keys(h, rep))
		goto out;
	if (cc_keydir_read(h->keys, thumb, &key, why, sizeof(why)) != CC_OK) {
		fail(rep, "reading the key", cc_errdetail());
		goto out;
	}
	if (key == NULL) {
		fail(rep, "no usable private key", why);
		goto out;
	}
	if (X509_check_private_key(x, key) != 1) {
		fail(rep, "private key does not match the certificate's public key; key not used",
		     NULL);
		goto out;
	}
	if (!hold(h, thumb, key, false, k != NULL && k->written)) {
		fail(rep, "out of memory", NULL);
		goto out;
	}
	key = NULL;
ok:
	rep->h.ok = 1;
	rep->h.len = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(x);
}

/*
 * A made key that is never written (umd's write failed before it asked) is not kept for ever:
 * at most MAX_MADE wait, the oldest goes first.
 */
static void
forget_oldest_made(struct holder *h)
{
	size_t i, n = 0, first = h->nheld;

	for (i = 0; i < h->nheld; i++)
		if (h->held[i].made && n++ == 0)
			first = i;
	if (n >= MAX_MADE)
		forget(h, &h->held[first]);
}

/* MAKE: a new key of certcore's type; the reply is its public key, SHA-1 of which names it. */
static void
make(struct holder *h, const struct um_keyp_parsed *req, struct reply *rep)
{
	char name[CC_THUMB_LEN + 1];
	EVP_PKEY *key = NULL;
	unsigned char *der = NULL;
	int len;

	if (cc_key_generate((enum cc_key_type)req->h.key_type, &key) != CC_OK) {
		fail(rep, "making a key", cc_errdetail());
		goto out;
	}
	if ((len = i2d_PUBKEY(key, &der)) <= 0 || (size_t)len > sizeof(rep->data)) {
		fail(rep, "encoding the public key", NULL);
		goto out;
	}
	sha1_hex(der, (size_t)len, name);
	forget_oldest_made(h);
	if (!hold(h, name, key, true, false)) {
		fail(rep, "out of memory", NULL);
		goto out;
	}
	key = NULL;
	memcpy(rep->data, der, (size_t)len);
	rep->h.ok = 1;
	rep->h.len = (uint16_t)len;
out:
	EVP_PKEY_free(key);
	OPENSSL_free(der);
}

/*
 * WRITE: the made key as keys/CERT.key of the certificate in the request, which must carry it;
 * never over an existing file (a forged request cannot replace a stored key).
 */
static void
write_key(struct holder *h, const struct um_keyp_parsed *req, struct reply *rep)
{
	char thumb[CC_THUMB_LEN + 1];
	struct held *k = find_held(h, req->thumb);
	X509 *x = NULL;

	if (k == NULL || !k->made) {
		fail(rep, "no key made by this holder has that name", req->thumb);
		goto out;
	}
	if ((x = cert_of(req, thumb, rep)) == NULL)
		goto out;
	if (X509_check_private_key(x, k->key) != 1) {
		fail(rep, "the certificate does not carry that key", NULL);
		goto out;
	}
	if (!open_keys(h, rep))
		goto out;
	if (cc_keydir_write(h->keys, thumb, k->key) != CC_OK) {
		fail(rep, "writing the key", cc_errdetail());
		goto out;
	}
	/* Held from now on under the certificate's thumbprint. */
	memcpy(k->thumb, thumb, sizeof(thumb));
	k->made = false;
	k->written = true;
	memcpy(rep->data, thumb, CC_THUMB_LEN);
	rep->h.ok = 1;
	rep->h.len = CC_THUMB_LEN;
out:
	ERR_clear_error();
	X509_free(x);
}

/* REMOVE: takes back keys/THUMB.key, only when this holder wrote it. */
static void
remove_key(struct holder *h, const struct um_keyp_parsed *req, struct reply *rep)
{
	struct held *k = find_held(h, req->thumb);

	if (k == NULL || !k->written) {
		fail(rep, "no key written by this holder has that name", req->thumb);
		return;
	}
	if (!open_keys(h, rep))
		return;
	if (cc_keydir_remove(h->keys, req->thumb) != CC_OK) {
		fail(rep, "removing the key", cc_errdetail());
		return;
	}
	forget(h, k);
	rep->h.ok = 1;
	rep->h.len = 0;
}

/*
 * Locks the holder in (certcore/sandbox.h, cc_sandbox_confine) before it reads its first
 * request: to the store's keys/ (read and write), opened first (certcore checks the store's
 * directory on the way), no network. Not at fork: umd makes the store after forking the holder, and
 * nothing but umd's requests reaches the holder. false when it must stop: the kernel has Landlock
 * and it failed.
 */
static bool
confine(struct holder *h)
{
	enum cc_sandbox_result res;
	char *path = NULL;
	int abi = 0;
	bool ok = false;

	h->confined = true;
	if (h->keys == NULL && cc_keydir_open(h->store_path, &h->keys) != CC_OK)
		cc_log_message(h->log, CC_LOG_ERROR, "key holder: %s (no key can be read)",
		               cc_errdetail());
	if (h->keys != NULL && asprintf(&path, "%s/keys", h->store_path) < 0) {
		path = NULL;
		cc_log_message(h->log, CC_LOG_ERROR, "key holder: out of memory");
		goto out;
	}
	if (cc_sandbox_confine((const char *const *)&path, path != NULL ? 1 : 0, CC_SANDBOX_WRITE,
	                       &res, &abi) != CC_OK) {
		cc_log_message(h->log, CC_LOG_ERROR, "key holder: %s: stopping", cc_errdetail());
		goto out;
	}
	if (res == CC_SANDBOX_ENFORCED)
		cc_log_message(h->log, CC_LOG_INFO,
		               "key holder (process %d): confined to %s, %s (Landlock ABI %d)",
		               (int)getpid(), path ? path : "no folder",
		               abi >= 4 ? "no TCP" : "TCP not restricted by this kernel", abi);
	else
		cc_log_message(h->log, CC_LOG_WARNING,
		               "key holder (process %d): no usable Landlock (ABI %d): not confined "
		               "to %s",
		               (int)getpid(), abi, path ? path : "the store's keys/");
	ok = true;
out:
	free(path);
	return ok;
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
		if (!h.confined && !confine(&h))
			break;
		memset(&rep, 0, sizeof(rep));
		if (!um_keyp_parse(&in, (size_t)n, &req, &why))
			fail(&rep, why, NULL);
		else if (req.h.op == UM_KEYP_LOAD)
			load(&h, &req, &rep);
		else if (req.h.op == UM_KEYP_SIGN)
			sign(&h, req.thumb, &req.h, req.data, &rep);
		else if (req.h.op == UM_KEYP_MAKE)
			make(&h, &req, &rep);
		else if (req.h.op == UM_KEYP_WRITE)
			write_key(&h, &req, &rep);
		else if (req.h.op == UM_KEYP_REMOVE)
			remove_key(&h, &req, &rep);
		else
			fail(&rep, "unknown request", NULL);
		if (send(fd, &rep, sizeof(rep.h) + rep.h.len, MSG_NOSIGNAL) == -1) {
			cc_log_message(log, CC_LOG_ERROR, "key holder: send: %s", strerror(errno));
			break;
		}
		OPENSSL_cleanse(&in, sizeof(in));
	}
	for (i = 0; i < h.nheld; i++)
		EVP_PKEY_free(h.held[i].key);
	free(h.held);
	cc_keydir_free(h.keys);
	return rc;
}

/* umd's key holder, umd's side (keyholder.h). */
/*
 * RSA_METHOD, EC_KEY_METHOD and EVP_PKEY_METHOD are deprecated in OpenSSL 3.0 in favour of
 * providers, and still what 3.0 calls for a "foreign" key; said here, for this file only.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "keys/keyholder.h"
#include "keys/keyproto.h"
#include "keys/keyserve.h"

#define REPLY_SECONDS 10 /* a holder that does not answer in this time is taken as gone */

struct um_keyholder {
	pthread_mutex_t mu; /* one request at a time on the socket */
	int fd;
	pid_t pid;
	bool dead; /* it did not answer, or has ended: no more requests */
	char *store;
};

/* What a stand-in key knows of its holder (RSA or EC_KEY ex data, freed with the key). */
struct ref {
	struct um_keyholder *kh;
	char thumb[CC_THUMB_LEN];
};

static struct {
	pthread_once_t once;
	bool ok;
	int rsa_idx, ec_idx;
	RSA_METHOD *rsa;
	EC_KEY_METHOD *ec;
	EVP_PKEY_METHOD *pmeth;
	int (*rsa_sign_orig)(EVP_PKEY_CTX *, unsigned char *, size_t *, const unsigned char *,
	                     size_t);
} m = {.once = PTHREAD_ONCE_INIT, .rsa_idx = -1, .ec_idx = -1};

static void
ref_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

/*
 * One request and its reply. ok: the reply's bytes in out (at most *outlen, set to their
 * count); else UM_ERR_TLS with the holder's reason.
 */
static enum um_err
ask(struct um_keyholder *kh, struct um_keyp_req *req, const unsigned char *data, unsigned char *out,
    size_t *outlen)
{
	struct {
		struct um_keyp_rep h;
		unsigned char data[UM_KEYP_MAX];
	} rep;
	struct iovec iov[2] = {{req, sizeof(*req)}, {(void *)data, req->len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = data ? 2 : 1};
	ssize_t n;
	enum um_err r = UM_ERR_TLS;

	pthread_mutex_lock(&kh->mu);
	if (kh->dead) {
		r = um_seterr(UM_ERR_TLS, "the key holder (pid %d) is gone", (int)kh->pid);
		goto out;
	}
	while ((n = sendmsg(kh->fd, &msg, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	if (n == -1) {
		kh->dead = true;
		r = um_seterr(UM_ERR_TLS, "the key holder (pid %d): send: %s", (int)kh->pid,
		              strerror(errno));
		goto out;
	}
	while ((n = recv(kh->fd, &rep, sizeof(rep), 0)) == -1 && errno == EINTR)
		;
	if (n <= 0 || (size_t)n < sizeof(rep.h) || rep.h.len != (size_t)n - sizeof(rep.h)) {
		kh->dead = true;
		r = um_seterr(UM_ERR_TLS, "the key holder (pid %d) did not answer: %s",
		              (int)kh->pid,
		              n == 0    ? "it closed its end"
		              : n == -1 ? strerror(errno)
		                        : "malformed reply");
		goto out;
	}
	if (!rep.h.ok) {
		r = um_seterr(UM_ERR_TLS, "%.*s", (int)rep.h.len, (const char *)rep.data);
		goto out;
	}
	if (out != NULL) {
		if (rep.h.len > *outlen) {
			r = um_seterr(UM_ERR_TLS, "the key holder's reply does not fit");
			goto out;
		}
		memcpy(out, rep.data, rep.h.len);
		*outlen = rep.h.len;
	}
	r = UM_OK;
out:
	pthread_mutex_unlock(&kh->mu);
	return r;
}

static enum um_err
ask_sign(const struct ref *ref, enum um_keyp_alg alg, int md_nid, int mgf1_nid, int saltlen,
         const unsigned char *tbs, size_t tbslen, unsigned char *sig, size_t *siglen)
{
	struct um_keyp_req req;

	if (tbslen > UM_KEYP_MAX)
		return um_seterr(UM_ERR_TLS, "digest too long");
	memset(&req, 0, sizeof(req));
	req.op = UM_KEYP_SIGN;
	req.alg = (uint8_t)alg;
	req.len = (uint16_t)tbslen;
	req.md_nid = md_nid;
	req.mgf1_nid = mgf1_nid;
	req.saltlen = saltlen;
	memcpy(req.thumb, ref->thumb, CC_THUMB_LEN);
	return ask(ref->kh, &req, tbs, sig, siglen);
}

/* A failed request goes on OpenSSL's queue, so libssl's alert names the key holder. */
static void
raise_error(void)
{
	ERR_raise_data(ERR_LIB_USER, ERR_R_OPERATION_FAIL, "%s", um_errdetail());
}

/*
 * The RSA pkey method's sign, for every legacy RSA key of the process: a stand-in sends the
 * digest and its parameters; any other key signs as OpenSSL would.
 */
static int
rsa_pmeth_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs,
               size_t tbslen)
{
	EVP_PKEY *pk = EVP_PKEY_CTX_get0_pkey(ctx);
	const RSA *rsa = pk ? EVP_PKEY_get0_RSA(pk) : NULL;
	const struct ref *ref = rsa ? RSA_get_ex_data(rsa, m.rsa_idx) : NULL;
	const EVP_MD *md = NULL, *mgf1 = NULL;
	int pad = 0, salt = 0;
	enum um_keyp_alg alg;

	if (ref == NULL)
		return m.rsa_sign_orig(ctx, sig, siglen, tbs, tbslen);
	if (sig == NULL) {
		*siglen = (size_t)RSA_size(rsa);
		return 1;
	}
	if (EVP_PKEY_CTX_get_signature_md(ctx, &md) != 1 || md == NULL ||
	    EVP_PKEY_CTX_get_rsa_padding(ctx, &pad) != 1) {
		ERR_raise_data(ERR_LIB_USER, ERR_R_OPERATION_FAIL,
		               "the key holder signs digests of a known algorithm only");
		return 0;
	}
	if (pad == RSA_PKCS1_PADDING) {
		alg = UM_KEYP_RSA_PKCS1;
	} else if (pad == RSA_PKCS1_PSS_PADDING) {
		alg = UM_KEYP_RSA_PSS;
		if (EVP_PKEY_CTX_get_rsa_pss_saltlen(ctx, &salt) != 1 ||
		    EVP_PKEY_CTX_get_rsa_mgf1_md(ctx, &mgf1) != 1 || mgf1 == NULL)
			return 0;
	} else {
		ERR_raise_data(ERR_LIB_USER, ERR_R_OPERATION_FAIL,
		               "the key holder signs with PKCS#1 v1.5 or PSS padding only");
		return 0;
	}
	if (ask_sign(ref, alg, EVP_MD_get_type(md), mgf1 ? EVP_MD_get_type(mgf1) : 0, salt, tbs,
	             tbslen, sig, siglen) != UM_OK) {
		raise_error();
		return 0;
	}
	return 1;
}

/* Never done with a stand-in: the private key is elsewhere. */
static int
rsa_refuse(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding)
{
	(void)flen;
	(void)from;
	(void)to;
	(void)rsa;
	(void)padding;
	ERR_raise_data(ERR_LIB_USER, ERR_R_OPERATION_FAIL,
	               "raw RSA private operations are not done by the key holder");
	return -1;
}

/* The digest algorithm of an ECDSA `type` (0 when ECDSA_do_sign gives none): by its length. */
static int
ec_md_nid(int type, int dlen)
{
	const EVP_MD *md = type != 0 ? EVP_get_digestbynid(type) : NULL;

	if (md != NULL && EVP_MD_get_size(md) == dlen)
		return type;
	switch (dlen) {
	case 28:
		return NID_sha224;
	case 32:
		return NID_sha256;
	case 48:
		return NID_sha384;
	case 64:
		return NID_sha512;
	default:
		return NID_undef;
	}
}

static int
ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig, unsigned int *siglen,
        const BIGNUM *kinv, const BIGNUM *r, EC_KEY *eckey)
{
	const struct ref *ref = EC_KEY_get_ex_data(eckey, m.ec_idx);
	size_t n = (size_t)ECDSA_size(eckey);

	if (ref == NULL || kinv != NULL || r != NULL || dlen < 0) {
		ERR_raise_data(ERR_LIB_USER, ERR_R_OPERATION_FAIL,
		               "ECDSA with a given nonce is not done by the key holder");
		return 0;
	}
	if (ask_sign(ref, UM_KEYP_ECDSA, ec_md_nid(type, dlen), 0, 0, dgst, (size_t)dlen, sig,
	             &n) != UM_OK) {
		raise_error();
		return 0;
	}
	*siglen = (unsigned int)n;
	return 1;
}

static ECDSA_SIG *
ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *eckey)
{
	unsigned char der[UM_KEYP_MAX];
	const unsigned char *p = der;
	unsigned int n = 0;

	if ((size_t)ECDSA_size(eckey) > sizeof(der) ||
	    ec_sign(0, dgst, dlen, der, &n, kinv, r, eckey) != 1)
		return NULL;
	return d2i_ECDSA_SIG(NULL, &p, (long)n);
}

static void
make_methods(void)
{
	const EVP_PKEY_METHOD *orig = EVP_PKEY_meth_find(EVP_PKEY_RSA);
	int (*sign_init)(EVP_PKEY_CTX *) = NULL;

	m.rsa_idx = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_RSA, 0, NULL, NULL, NULL, ref_free);
	m.ec_idx = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_EC_KEY, 0, NULL, NULL, NULL, ref_free);
	if (m.rsa_idx < 0 || m.ec_idx < 0 || orig == NULL)
		return;
	/* RSA: a method of its own makes the key foreign (legacy); its private ops refuse. */
	if ((m.rsa = RSA_meth_dup(RSA_PKCS1_OpenSSL())) == NULL ||
	    RSA_meth_set1_name(m.rsa, "umd key holder") != 1 ||
	    RSA_meth_set_priv_enc(m.rsa, rsa_refuse) != 1 ||
	    RSA_meth_set_priv_dec(m.rsa, rsa_refuse) != 1)
		return;
	/* Signatures, where the digest and its parameters are still known: the pkey method. */
	if ((m.pmeth = EVP_PKEY_meth_new(EVP_PKEY_RSA, EVP_PKEY_FLAG_AUTOARGLEN)) == NULL)
		return;
	EVP_PKEY_meth_copy(m.pmeth, orig);
	EVP_PKEY_meth_get_sign(orig, &sign_init, &m.rsa_sign_orig);
	EVP_PKEY_meth_set_sign(m.pmeth, sign_init, rsa_pmeth_sign);
	if (EVP_PKEY_meth_add0(m.pmeth) != 1) {
		EVP_PKEY_meth_free(m.pmeth);
		m.pmeth = NULL;
		return;
	}
	/* EC: ECDSA through the EC_KEY method (OpenSSL's for everything but signing). */
	if ((m.ec = EC_KEY_METHOD_new(EC_KEY_OpenSSL())) == NULL)
		return;
	EC_KEY_METHOD_set_sign(m.ec, ec_sign, NULL, ec_sign_sig);
	m.ok = true;
}

/* The stand-in, with the public key `pub` (borrowed), for the holder's key `thumb`. */
static enum um_err
stand_in(struct um_keyholder *kh, const char *thumb, EVP_PKEY *pub, EVP_PKEY **out)
{
	EVP_PKEY *pk = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	struct ref *ref = NULL;
	RSA *rsa = NULL;
	EC_KEY *ec = NULL;
	int len;
	enum um_err r = UM_ERR_TLS;

	*out = NULL;
	if (pub == NULL || (len = i2d_PUBKEY(pub, &der)) <= 0) {
		r = um_seterr(UM_ERR_TLS, "the public key cannot be read");
		goto out;
	}
	if ((ref = calloc(1, sizeof(*ref))) == NULL || (pk = EVP_PKEY_new()) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "key");
		goto out;
	}
	ref->kh = kh;
	memcpy(ref->thumb, thumb, CC_THUMB_LEN);
	p = der;
	if (EVP_PKEY_is_a(pub, "RSA")) {
		/* A key of its own (d2i), not the certificate's cached one, gets the method. */
		if ((rsa = d2i_RSA_PUBKEY(NULL, &p, len)) == NULL ||
		    RSA_set_method(rsa, m.rsa) != 1 || RSA_set_ex_data(rsa, m.rsa_idx, ref) != 1) {
			r = um_seterr(UM_ERR_TLS, "making the RSA key's stand-in failed");
			goto out;
		}
		ref = NULL;
		if (EVP_PKEY_assign_RSA(pk, rsa) != 1) {
			r = um_seterr(UM_ERR_TLS, "making the RSA key's stand-in failed");
			goto out;
		}
		rsa = NULL;
	} else if (EVP_PKEY_is_a(pub, "EC")) {
		if ((ec = d2i_EC_PUBKEY(NULL, &p, len)) == NULL ||
		    EC_KEY_set_method(ec, m.ec) != 1 ||
		    EC_KEY_set_ex_data(ec, m.ec_idx, ref) != 1) {
			r = um_seterr(UM_ERR_TLS, "making the EC key's stand-in failed");
			goto out;
		}
		ref = NULL;
		if (EVP_PKEY_assign_EC_KEY(pk, ec) != 1) {
			r = um_seterr(UM_ERR_TLS, "making the EC key's stand-in failed");
			goto out;
		}
		ec = NULL;
	} else {
		r = um_seterr(UM_ERR_TLS, "only RSA and EC keys are held by the key holder");
		goto out;
	}
	*out = pk;
	pk = NULL;
	r = UM_OK;
out:
	ERR_clear_error();
	RSA_free(rsa);
	EC_KEY_free(ec);
	EVP_PKEY_free(pk);
	free(ref);
	OPENSSL_free(der);
	return r;
}

/* The DER of `x` in `buf` (UM_KEYP_MAX bytes); 0 when it cannot be had or is longer. */
static size_t
cert_der(X509 *x, unsigned char *buf)
{
	int n = i2d_X509(x, NULL);
	unsigned char *p = buf;

	if (n <= 0 || (size_t)n > UM_KEYP_MAX || i2d_X509(x, &p) != n)
		return 0;
	return (size_t)n;
}

enum cc_err
um_keyholder_key(void *arg, const char *thumb, X509 *x, EVP_PKEY **key, char *why, size_t len)
{
	struct um_keyholder *kh = arg;
	struct um_keyp_req req;
	unsigned char *der = NULL;
	enum um_err r;

	*key = NULL;
	if (strlen(thumb) != CC_THUMB_LEN) {
		snprintf(why, len, "not a thumbprint");
		return CC_OK;
	}
	if ((der = malloc(UM_KEYP_MAX)) == NULL)
		return CC_ERR_NOMEM;
	memset(&req, 0, sizeof(req));
	req.op = UM_KEYP_LOAD;
	memcpy(req.thumb, thumb, CC_THUMB_LEN);
	/* The certificate goes along: the holder checks the key file against it. */
	if ((req.len = (uint16_t)cert_der(x, der)) == 0)
		r = um_seterr(UM_ERR_TLS, "the certificate is too large for the key holder");
	else if ((r = ask(kh, &req, der, NULL, NULL)) == UM_OK)
		r = stand_in(kh, thumb, X509_get0_pubkey(x), key);
	free(der);
	ERR_clear_error();
	if (r == UM_ERR_NOMEM)
		return CC_ERR_NOMEM;
	if (r != UM_OK)
		snprintf(why, len, "%s", um_errdetail());
	return CC_OK;
}

/* The holder's name of a stand-in's key; NULL for any other key. */
static const char *
name_of(EVP_PKEY *key)
{
	const struct ref *ref = NULL;
	const RSA *rsa;
	const EC_KEY *ec;

	if (EVP_PKEY_is_a(key, "RSA") && (rsa = EVP_PKEY_get0_RSA(key)) != NULL)
		ref = RSA_get_ex_data(rsa, m.rsa_idx);
	else if (EVP_PKEY_is_a(key, "EC") && (ec = EVP_PKEY_get0_EC_KEY(key)) != NULL)
		ref = EC_KEY_get_ex_data(ec, m.ec_idx);
	ERR_clear_error();
	return ref != NULL ? ref->thumb : NULL;
}

enum cc_err
um_keyholder_make(void *arg, int key_type, EVP_PKEY **key, char *why, size_t len)
{
	struct um_keyholder *kh = arg;
	struct um_keyp_req req;
	unsigned char spki[UM_KEYP_MAX], md[EVP_MAX_MD_SIZE];
	const unsigned char *p = spki;
	size_t n = sizeof(spki);
	unsigned int mdlen = 0, i;
	char name[CC_THUMB_LEN + 1];
	EVP_PKEY *pub = NULL;
	enum um_err r;

	*key = NULL;
	memset(&req, 0, sizeof(req));
	req.op = UM_KEYP_MAKE;
	req.key_type = key_type;
	memset(req.thumb, '0', CC_THUMB_LEN); /* no name yet */
	if ((r = ask(kh, &req, NULL, spki, &n)) != UM_OK)
		goto out;
	if ((pub = d2i_PUBKEY(NULL, &p, (long)n)) == NULL ||
	    EVP_Digest(spki, n, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen * 2 != CC_THUMB_LEN) {
		r = um_seterr(UM_ERR_TLS, "the key holder's public key cannot be read");
		goto out;
	}
	/* The holder names a key it made by the SHA-1 of its public key (keyproto.h). */
	for (i = 0; i < mdlen; i++)
		snprintf(name + 2 * i, 3, "%02X", md[i]);
	r = stand_in(kh, name, pub, key);
out:
	ERR_clear_error();
	EVP_PKEY_free(pub);
	if (r == UM_ERR_NOMEM)
		return CC_ERR_NOMEM;
	if (r != UM_OK) {
		snprintf(why, len, "%s", um_errdetail());
		return CC_ERR_CRYPTO;
	}
	return CC_OK;
}

enum cc_err
um_keyholder_write(void *arg, const char *thumb, X509 *x, EVP_PKEY *key, char *why, size_t len)
{
	struct um_keyholder *kh = arg;
	struct um_keyp_req req;
	unsigned char *der = NULL;
	char got[CC_THUMB_LEN + 1];
	size_t n = CC_THUMB_LEN;
	const char *name = name_of(key);
	enum um_err r;

	if (name == NULL) {
		snprintf(why, len,
		         "the key was not made by the key holder: it is not written here");
		return CC_ERR_INVAL;
	}
	if ((der = malloc(UM_KEYP_MAX)) == NULL)
		return CC_ERR_NOMEM;
	memset(&req, 0, sizeof(req));
	req.op = UM_KEYP_WRITE;
	memcpy(req.thumb, name, CC_THUMB_LEN);
	memset(got, 0, sizeof(got));
	if ((req.len = (uint16_t)cert_der(x, der)) == 0)
		r = um_seterr(UM_ERR_TLS, "the certificate is too large for the key holder");
	else if ((r = ask(kh, &req, der, (unsigned char *)got, &n)) == UM_OK &&
	         (n != CC_THUMB_LEN || strcmp(got, thumb) != 0))
		r = um_seterr(UM_ERR_TLS, "the key holder wrote the key under another name (%s)",
		              got);
	free(der);
	if (r != UM_OK) {
		snprintf(why, len, "%s", um_errdetail());
		return r == UM_ERR_NOMEM ? CC_ERR_NOMEM : CC_ERR_IO;
	}
	return CC_OK;
}

enum cc_err
um_keyholder_remove(void *arg, const char *thumb, char *why, size_t len)
{
	struct um_keyholder *kh = arg;
	struct um_keyp_req req;

	if (strlen(thumb) != CC_THUMB_LEN) {
		snprintf(why, len, "not a thumbprint");
		return CC_ERR_INVAL;
	}
	memset(&req, 0, sizeof(req));
	req.op = UM_KEYP_REMOVE;
	memcpy(req.thumb, thumb, CC_THUMB_LEN);
	if (ask(kh, &req, NULL, NULL, NULL) != UM_OK) {
		snprintf(why, len, "%s", um_errdetail());
		return CC_ERR_IO;
	}
	return CC_OK;
}

enum um_err
um_keyholder_start(const char *store, struct cc_log *log, struct um_keyholder **out)
{
	struct um_keyholder *kh = NULL;
	struct timeval tv = {REPLY_SECONDS, 0};
	int sv[2] = {-1, -1}, rc;
	enum um_err r = UM_ERR_NOMEM;

	*out = NULL;
	pthread_once(&m.once, make_methods);
	if (!m.ok) {
		r = um_seterr(UM_ERR_TLS, "the key holder's OpenSSL methods cannot be made");
		goto out;
	}
	if ((kh = calloc(1, sizeof(*kh))) == NULL || (kh->store = strdup(store)) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "key holder");
		goto out;
	}
	kh->fd = -1;
	pthread_mutex_init(&kh->mu, NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		r = um_seterr(UM_ERR_IO, "socketpair: %s", strerror(errno));
		goto out;
	}
	fflush(NULL); /* nothing buffered is written twice */
	if ((kh->pid = fork()) == -1) {
		r = um_seterr(UM_ERR_IO, "fork: %s", strerror(errno));
		goto out;
	}
	if (kh->pid == 0) {
		/* The holder: its socket as fd 3, nothing else of umd's open but stdio. */
		(void)prctl(PR_SET_NAME, "umd-keys", 0, 0, 0);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		if (dup2(sv[1], 3) == -1)
			_exit(1);
		(void)close_range(4, ~0U, 0);
		rc = um_keyserve_run(3, kh->store, log);
		fflush(NULL);
		/* _exit: umd's atexit handlers (and the sanitizer's) are umd's, not the holder's.
		 */
		_exit(rc);
	}
	close(sv[1]);
	sv[1] = -1;
	kh->fd = sv[0];
	sv[0] = -1;
	if (setsockopt(kh->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1) {
		r = um_seterr(UM_ERR_IO, "setsockopt: %s", strerror(errno));
		goto out;
	}
	*out = kh;
	kh = NULL;
	r = UM_OK;
out:
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	um_keyholder_stop(kh);
	return r;
}

pid_t
um_keyholder_pid(const struct um_keyholder *kh)
{
	return kh->pid;
}

bool
um_keyholder_ended(struct um_keyholder *kh, char *why, size_t len)
{
	int st;
	pid_t p;

	if (kh == NULL || kh->pid <= 0)
		return false;
	while ((p = waitpid(kh->pid, &st, WNOHANG)) == -1 && errno == EINTR)
		;
	if (p != kh->pid)
		return false;
	if (WIFSIGNALED(st))
		snprintf(why, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(why, len, "exited with status %d", WEXITSTATUS(st));
	pthread_mutex_lock(&kh->mu);
	kh->dead = true;
	kh->pid = -kh->pid; /* reaped: never waited for again */
	pthread_mutex_unlock(&kh->mu);
	return true;
}

void
um_keyholder_stop(struct um_keyholder *kh)
{
	int st;

	if (kh == NULL)
		return;
	if (kh->fd != -1)
		close(kh->fd);
	if (kh->pid > 0)
		while (waitpid(kh->pid, &st, 0) == -1 && errno == EINTR)
			;
	pthread_mutex_destroy(&kh->mu);
	free(kh->store);
	free(kh);
}

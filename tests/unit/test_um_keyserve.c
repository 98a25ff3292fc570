/*
 * um/src/keys/keyserve.c: the key holder's loop, spoken to in its own wire format over a
 * socketpair (keyproto.h) from a forked holder: a short or oversized datagram, a thumbprint that
 * is not one, an unknown operation, a certificate the store lacks, a key not loaded, SHA-1, a
 * digest of the wrong length, an algorithm that does not fit the key and PSS parameters out of
 * range are refused with a reason; a loaded key signs and the signature verifies; the holder
 * ends with status 0 when its peer closes. Keys it makes (MAKE) sign, are written once to
 * keys/THUMB.key of a certificate that carries them (WRITE, 0600, never over a file) and taken
 * back only when it wrote them (REMOVE); LOAD checks the key file against the certificate.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "certcore/keyfile.h"
#include "certcore/log.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "keys/keyproto.h"
#include "keys/keyserve.h"
#include "testutil.h"

struct fx {
	char *dir;
	char store[4096];
	X509 *x;
	EVP_PKEY *k;
	char thumb[CC_THUMB_LEN + 1];
	int fd;
	pid_t pid;
};

static void
fx_open(struct fx *f)
{
	struct tu_cert_spec spec = {.cn = "um1.example.test", .key = "rsa2048"};
	struct cc_meta meta = {.services = CC_SVC_UM};
	struct cc_store *s = NULL;
	struct cc_log *log = NULL;
	int sv[2];

	memset(f, 0, sizeof(*f));
	f->dir = tu_tmpdir();
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	CU_ASSERT_FATAL(cc_store_open(f->store, CC_STORE_CREATE, &s) == CC_OK);
	tu_make_cert(&spec, &f->x, &f->k);
	CU_ASSERT_FATAL(cc_store_add(s, f->x, NULL, f->k, &meta, f->thumb) == CC_OK);
	cc_store_free(s);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	fflush(NULL);
	f->pid = fork();
	if (f->pid == 0) {
		close(sv[0]);
		if (cc_log_new(CC_LOG_TEXT, stderr, "holder", false, &log) != CC_OK)
			_exit(3);
		_exit(um_keyserve_run(sv[1], f->store, log));
	}
	close(sv[1]);
	f->fd = sv[0];
}

static int
fx_close(struct fx *f)
{
	int st = -1;

	close(f->fd);
	waitpid(f->pid, &st, 0);
	X509_free(f->x);
	EVP_PKEY_free(f->k);
	tu_rmrf(f->dir);
	free(f->dir);
	return st;
}

/* Sends `req` (+ `len` bytes); the reply's status, its bytes in `out` (NUL-terminated). */
static int
ask(struct fx *f, const void *req, size_t len, char *out, size_t *outlen)
{
	struct {
		struct um_keyp_rep h;
		char data[UM_KEYP_MAX + 1];
	} rep;
	ssize_t n;

	CU_ASSERT_FATAL(send(f->fd, req, len, 0) == (ssize_t)len);
	n = recv(f->fd, &rep, sizeof(rep) - 1, 0);
	CU_ASSERT_FATAL(n >= (ssize_t)sizeof(rep.h) && rep.h.len == (size_t)n - sizeof(rep.h));
	memcpy(out, rep.data, rep.h.len);
	out[rep.h.len] = '\0';
	if (outlen != NULL)
		*outlen = rep.h.len;
	return rep.h.ok;
}

struct msg {
	struct um_keyp_req h;
	unsigned char d[UM_KEYP_MAX + 16];
};

static size_t
mk(struct msg *m, int op, int alg, const char *thumb, int md, const unsigned char *d, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->h.op = (uint8_t)op;
	m->h.alg = (uint8_t)alg;
	m->h.md_nid = md;
	m->h.mgf1_nid = md;
	m->h.saltlen = RSA_PSS_SALTLEN_DIGEST;
	m->h.len = (uint16_t)len;
	memcpy(m->h.thumb, thumb, CC_THUMB_LEN);
	if (len > 0)
		memcpy(m->d, d, len);
	return sizeof(m->h) + len;
}

/* The DER of `x` in `d`; its length. */
static size_t
der_of(X509 *x, unsigned char *d)
{
	unsigned char *p = d;
	int n = i2d_X509(x, &p);

	CU_ASSERT_FATAL(n > 0 && (size_t)n <= UM_KEYP_MAX);
	return (size_t)n;
}

/* LOAD of `x` named `thumb`. */
static size_t
mk_load(struct msg *m, const char *thumb, X509 *x)
{
	unsigned char d[UM_KEYP_MAX];
	size_t len = der_of(x, d);

	return mk(m, UM_KEYP_LOAD, 0, thumb, 0, d, len);
}

/* A certificate for the public key `pub` (signed by `signer`; the holder does not care). */
static X509 *
cert_for(EVP_PKEY *pub, EVP_PKEY *signer)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	CU_ASSERT_FATAL(x != NULL && n != NULL);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	                                           (const unsigned char *)"made.example.test", -1,
	                                           -1, 0) == 1);
	CU_ASSERT_FATAL(X509_set_version(x, X509_VERSION_3) == 1);
	CU_ASSERT_FATAL(ASN1_INTEGER_set(X509_get_serialNumber(x), 7) == 1);
	CU_ASSERT_FATAL(X509_set_subject_name(x, n) == 1 && X509_set_issuer_name(x, n) == 1);
	CU_ASSERT_FATAL(X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL);
	CU_ASSERT_FATAL(X509_gmtime_adj(X509_getm_notAfter(x), 86400) != NULL);
	CU_ASSERT_FATAL(X509_set_pubkey(x, pub) == 1);
	CU_ASSERT_FATAL(X509_sign(x, signer, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static void
test_refusals(void)
{
	struct fx f;
	struct msg m;
	char out[UM_KEYP_MAX + 1], zeros[CC_THUMB_LEN + 1];
	unsigned char dg[64];
	size_t n;

	memset(dg, 7, sizeof(dg));
	memset(zeros, '0', CC_THUMB_LEN);
	zeros[CC_THUMB_LEN] = '\0';
	fx_open(&f);
	CU_ASSERT_FALSE(ask(&f, "x", 1, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "malformed"));
	n = mk_load(&m, f.thumb, f.x);
	m.h.len = (uint16_t)(m.h.len + 5); /* says more than there is */
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "malformed"));
	n = mk_load(&m, "../../../../../../../../../etc/passwd....", f.x);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "malformed"));
	n = mk(&m, 9, 0, f.thumb, 0, NULL, 0);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "unknown request"));
	n = mk_load(&m, zeros, f.x);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "not the one named"));
	n = mk(&m, UM_KEYP_LOAD, 0, f.thumb, 0, (const unsigned char *)"not DER", 7);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "not a certificate"));
	n = mk(&m, UM_KEYP_SIGN, UM_KEYP_RSA_PKCS1, f.thumb, NID_sha256, dg, 32);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "not loaded"));
	n = mk_load(&m, f.thumb, f.x);
	CU_ASSERT_TRUE(ask(&f, &m, n, out, NULL));
	n = mk(&m, UM_KEYP_SIGN, UM_KEYP_RSA_PKCS1, f.thumb, NID_sha1, dg, 20);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "digest refused"));
	n = mk(&m, UM_KEYP_SIGN, UM_KEYP_RSA_PKCS1, f.thumb, NID_sha256, dg, 31);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "digest refused"));
	n = mk(&m, UM_KEYP_SIGN, UM_KEYP_ECDSA, f.thumb, NID_sha256, dg, 32);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "does not fit"));
	n = mk(&m, UM_KEYP_SIGN, 0, f.thumb, NID_sha256, dg, 32);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	n = mk(&m, UM_KEYP_SIGN, UM_KEYP_RSA_PSS, f.thumb, NID_sha256, dg, 32);
	m.h.saltlen = -4;
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "PSS parameters"));
	CU_ASSERT_EQUAL(fx_close(&f), 0);
}

static void
test_signs(void)
{
	struct fx f;
	struct msg m;
	char out[UM_KEYP_MAX + 1];
	unsigned char dg[32];
	size_t n, siglen;
	EVP_PKEY_CTX *pc;

	memset(dg, 9, sizeof(dg));
	fx_open(&f);
	n = mk_load(&m, f.thumb, f.x);
	CU_ASSERT_TRUE(ask(&f, &m, n, out, NULL));
	n = mk(&m, UM_KEYP_SIGN, UM_KEYP_RSA_PSS, f.thumb, NID_sha256, dg, sizeof(dg));
	CU_ASSERT_TRUE_FATAL(ask(&f, &m, n, out, &siglen));
	CU_ASSERT_EQUAL(siglen, 256);
	pc = EVP_PKEY_CTX_new(X509_get0_pubkey(f.x), NULL);
	CU_ASSERT_EQUAL(EVP_PKEY_verify_init(pc), 1);
	CU_ASSERT_EQUAL(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
	CU_ASSERT_EQUAL(EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()), 1);
	CU_ASSERT_EQUAL(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST), 1);
	CU_ASSERT_EQUAL(EVP_PKEY_verify(pc, (unsigned char *)out, siglen, dg, sizeof(dg)), 1);
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	CU_ASSERT_EQUAL(fx_close(&f), 0);
}

/* The SHA-1 of `d` as 40 upper-case hex digits: a made key's name, a certificate's thumbprint. */
static void
name_of(const unsigned char *d, size_t len, char out[CC_THUMB_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	CU_ASSERT_FATAL(EVP_Digest(d, len, md, &n, EVP_sha1(), NULL) == 1 && n == 20);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
}

static void
test_makes_and_writes(void)
{
	struct fx f;
	struct msg m;
	char out[UM_KEYP_MAX + 1], name[CC_THUMB_LEN + 1], thumb[CC_THUMB_LEN + 1], path[4200];
	unsigned char dg[32], der[UM_KEYP_MAX];
	const unsigned char *p;
	size_t n, len;
	EVP_PKEY *pub, *other = NULL;
	X509 *x, *y;
	struct stat st;
	EVP_PKEY_CTX *pc;

	memset(dg, 5, sizeof(dg));
	fx_open(&f);
	/* No data, or a key type certcore does not have: refused. */
	n = mk(&m, UM_KEYP_MAKE, 0, f.thumb, 0, NULL, 0);
	m.h.key_type = 99;
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	n = mk(&m, UM_KEYP_MAKE, 0, f.thumb, 0, NULL, 0);
	m.h.key_type = CC_KEY_EC_P256;
	CU_ASSERT_TRUE_FATAL(ask(&f, &m, n, out, &len));
	p = (const unsigned char *)out;
	pub = d2i_PUBKEY(NULL, &p, (long)len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	CU_ASSERT_TRUE(EVP_PKEY_is_a(pub, "EC"));
	name_of((const unsigned char *)out, len, name);
	/* The made key signs under its name, and the signature verifies with its public key. */
	n = mk(&m, UM_KEYP_SIGN, UM_KEYP_ECDSA, name, NID_sha256, dg, sizeof(dg));
	CU_ASSERT_TRUE_FATAL(ask(&f, &m, n, out, &len));
	pc = EVP_PKEY_CTX_new(pub, NULL);
	CU_ASSERT_EQUAL(EVP_PKEY_verify_init(pc), 1);
	CU_ASSERT_EQUAL(EVP_PKEY_verify(pc, (unsigned char *)out, len, dg, sizeof(dg)), 1);
	EVP_PKEY_CTX_free(pc);
	/* A certificate that does not carry it (the store's own) is not written under. */
	len = der_of(f.x, der);
	n = mk(&m, UM_KEYP_WRITE, 0, name, 0, der, len);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "does not carry"));
	/* Nor is a name the holder did not make (the store's key: no replacing it). */
	x = cert_for(pub, f.k);
	len = der_of(x, der);
	n = mk(&m, UM_KEYP_WRITE, 0, f.thumb, 0, der, len);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "no key made"));
	/* Written: keys/THUMB.key, 0600, the key certcore reads back. */
	n = mk(&m, UM_KEYP_WRITE, 0, name, 0, der, len);
	CU_ASSERT_TRUE_FATAL(ask(&f, &m, n, out, NULL));
	name_of(der, len, thumb);
	CU_ASSERT_STRING_EQUAL(out, thumb);
	snprintf(path, sizeof(path), "%s/keys/%s.key", f.store, thumb);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	/* Once only: the name is the certificate's now. */
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	/* Loaded by its certificate; a key file that does not match its certificate is not. */
	n = mk_load(&m, thumb, x);
	CU_ASSERT_TRUE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_FATAL((other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) != NULL);
	y = cert_for(other, f.k);
	len = der_of(y, der);
	name_of(der, len, name);
	snprintf(path, sizeof(path), "%s/keys/%s.key", f.store, name);
	{
		char cmd[8600];

		snprintf(cmd, sizeof(cmd), "cp -p '%s/keys/%s.key' '%s'", f.store, thumb, path);
		CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	}
	n = mk(&m, UM_KEYP_LOAD, 0, name, 0, der, len);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "does not match"));
	/* REMOVE: not a key it did not write (the store's, the copy); its own, once. */
	n = mk(&m, UM_KEYP_REMOVE, 0, f.thumb, 0, NULL, 0);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	n = mk(&m, UM_KEYP_REMOVE, 0, name, 0, NULL, 0);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/keys/%s.key", f.store, f.thumb);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	n = mk(&m, UM_KEYP_REMOVE, 0, thumb, 0, NULL, 0);
	CU_ASSERT_TRUE(ask(&f, &m, n, out, NULL));
	snprintf(path, sizeof(path), "%s/keys/%s.key", f.store, thumb);
	CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	EVP_PKEY_free(pub);
	EVP_PKEY_free(other);
	X509_free(x);
	X509_free(y);
	ERR_clear_error();
	CU_ASSERT_EQUAL(fx_close(&f), 0);
}

/* Made keys never written are not kept without end: the ninth pushes the first out. */
static void
test_made_keys_bounded(void)
{
	struct fx f;
	struct msg m;
	char out[UM_KEYP_MAX + 1], first[CC_THUMB_LEN + 1], last[CC_THUMB_LEN + 1];
	unsigned char dg[32];
	size_t n, len;
	int i;

	memset(dg, 3, sizeof(dg));
	fx_open(&f);
	for (i = 0; i < 9; i++) {
		n = mk(&m, UM_KEYP_MAKE, 0, f.thumb, 0, NULL, 0);
		m.h.key_type = CC_KEY_EC_P256;
		CU_ASSERT_TRUE_FATAL(ask(&f, &m, n, out, &len));
		name_of((const unsigned char *)out, len, i == 0 ? first : last);
	}
	n = mk(&m, UM_KEYP_SIGN, UM_KEYP_ECDSA, first, NID_sha256, dg, sizeof(dg));
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	n = mk(&m, UM_KEYP_SIGN, UM_KEYP_ECDSA, last, NID_sha256, dg, sizeof(dg));
	CU_ASSERT_TRUE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_EQUAL(fx_close(&f), 0);
}

static CU_TestInfo tests[] = {
        {"malformed and unfit requests refused with a reason", test_refusals},
        {"a loaded key signs (PSS); the holder ends when its peer closes", test_signs},
        {"made keys sign, are written once for a certificate carrying them, removed once",
         test_makes_and_writes},
        {"at most eight made keys wait to be written", test_made_keys_bounded},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_keyserve", tests);
}

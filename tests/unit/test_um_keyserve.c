/*
 * um/src/keys/keyserve.c: the key holder's loop, spoken to in its own wire format over a
 * socketpair (keyproto.h) from a forked holder: a short or oversized datagram, a thumbprint that
 * is not one, an unknown operation, a certificate the store lacks, a key not loaded, SHA-1, a
 * digest of the wrong length, an algorithm that does not fit the key and PSS parameters out of
 * range are refused with a reason; a loaded key signs and the signature verifies; the holder
 * ends with status 0 when its peer closes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "certcore/log.h"
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
	n = mk(&m, UM_KEYP_LOAD, 0, f.thumb, 0, NULL, 0);
	m.h.len = 5; /* says more than there is */
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "malformed"));
	n = mk(&m, UM_KEYP_LOAD, 0, "../../../../../../../../../etc/passwd....", 0, NULL, 0);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "malformed"));
	n = mk(&m, 9, 0, f.thumb, 0, NULL, 0);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "unknown request"));
	n = mk(&m, UM_KEYP_LOAD, 0, zeros, 0, NULL, 0);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "no such certificate"));
	n = mk(&m, UM_KEYP_SIGN, UM_KEYP_RSA_PKCS1, f.thumb, NID_sha256, dg, 32);
	CU_ASSERT_FALSE(ask(&f, &m, n, out, NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "not loaded"));
	n = mk(&m, UM_KEYP_LOAD, 0, f.thumb, 0, NULL, 0);
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
	n = mk(&m, UM_KEYP_LOAD, 0, f.thumb, 0, NULL, 0);
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

static CU_TestInfo tests[] = {
        {"malformed and unfit requests refused with a reason", test_refusals},
        {"a loaded key signs (PSS); the holder ends when its peer closes", test_signs},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_keyserve", tests);
}

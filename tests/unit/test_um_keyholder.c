/*
 * um/src/keys/keyholder.c: umd's side of the key holder. A real holder process on a store in a
 * temporary directory, certcore's key source pointed at it: the store's certificates come with
 * stand-in keys; their signatures (RSA PKCS#1 v1.5 and PSS, ECDSA) verify with the
 * certificates' public keys; TLS 1.2 and 1.3 handshakes in memory complete with them as server
 * and as client; what the holder does not do is refused (a raw RSA operation, SHA-1); a key
 * file open to others is not used, with the store's reason; a killed holder is reported, and
 * signatures fail rather than hang. As certcore's key maker it makes, writes and signs the
 * keys of self-signed and renewed certificates.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>

#include "certcore/log.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "keys/keyholder.h"
#include "testutil.h"

struct fx {
	char *dir;
	char store[4096];
	FILE *logf;
	struct cc_log *log;
	X509 *rsa_x, *ec_x, *open_x;
	EVP_PKEY *rsa_k, *ec_k, *open_k;
	char rsa_t[CC_THUMB_LEN + 1], ec_t[CC_THUMB_LEN + 1], open_t[CC_THUMB_LEN + 1];
	struct um_keyholder *kh;
	struct cc_store *s; /* opened through the holder */
};

static void
add(struct cc_store *s, const char *key, X509 **x, EVP_PKEY **k, char *thumb)
{
	struct tu_cert_spec spec = {.cn = "um1.example.test"};
	struct cc_meta meta = {.services = CC_SVC_UM};

	spec.key = key;
	tu_make_cert(&spec, x, k);
	CU_ASSERT_FATAL(cc_store_add(s, *x, NULL, *k, &meta, thumb) == CC_OK);
}

static void
fx_open(struct fx *x)
{
	struct cc_store *s = NULL;
	char p[4200];

	memset(x, 0, sizeof(*x));
	x->dir = tu_tmpdir();
	snprintf(x->store, sizeof(x->store), "%s/store", x->dir);
	CU_ASSERT_FATAL(cc_store_open(x->store, CC_STORE_CREATE, &s) == CC_OK);
	add(s, "rsa2048", &x->rsa_x, &x->rsa_k, x->rsa_t);
	add(s, "ec256", &x->ec_x, &x->ec_k, x->ec_t);
	add(s, "ec256", &x->open_x, &x->open_k, x->open_t);
	cc_store_free(s);
	snprintf(p, sizeof(p), "%s/keys/%s.key", x->store, x->open_t);
	CU_ASSERT_FATAL(chmod(p, 0644) == 0);
	x->logf = tmpfile();
	CU_ASSERT_FATAL(cc_log_new(CC_LOG_TEXT, x->logf, "test", false, &x->log) == CC_OK);
	CU_ASSERT_FATAL(um_keyholder_start(x->store, x->log, &x->kh) == UM_OK);
	cc_store_set_key_source(um_keyholder_key, x->kh);
	CU_ASSERT_FATAL(cc_store_open(x->store, 0, &x->s) == CC_OK);
}

static void
fx_close(struct fx *x)
{
	cc_store_free(x->s);
	cc_store_set_key_source(NULL, NULL);
	um_keyholder_stop(x->kh);
	cc_log_free(x->log);
	fclose(x->logf);
	X509_free(x->rsa_x);
	X509_free(x->ec_x);
	X509_free(x->open_x);
	EVP_PKEY_free(x->rsa_k);
	EVP_PKEY_free(x->ec_k);
	EVP_PKEY_free(x->open_k);
	tu_rmrf(x->dir);
	free(x->dir);
}

static EVP_PKEY *
stand_in(struct fx *x, const char *thumb)
{
	struct cc_cert *c = NULL;

	CU_ASSERT_FATAL(cc_store_find(x->s, thumb, &c) == CC_OK);
	return cc_cert_key(c);
}

/* Signs "message" with `k` and verifies with `x`'s public key; pad 0: the key's default. */
static bool
sign_verify(EVP_PKEY *k, X509 *x, const EVP_MD *md, int pad)
{
	static const unsigned char msg[] = "message";
	unsigned char sig[1024];
	size_t len = sizeof(sig);
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	bool ok = false;

	if (EVP_DigestSignInit(mc, &pc, md, NULL, k) != 1 ||
	    (pad != 0 && EVP_PKEY_CTX_set_rsa_padding(pc, pad) != 1) ||
	    (pad == RSA_PKCS1_PSS_PADDING &&
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) != 1) ||
	    EVP_DigestSign(mc, sig, &len, msg, sizeof(msg)) != 1)
		goto out;
	EVP_MD_CTX_free(mc);
	mc = EVP_MD_CTX_new();
	if (EVP_DigestVerifyInit(mc, &pc, md, NULL, X509_get0_pubkey(x)) != 1 ||
	    (pad != 0 && EVP_PKEY_CTX_set_rsa_padding(pc, pad) != 1) ||
	    EVP_DigestVerify(mc, sig, len, msg, sizeof(msg)) != 1)
		goto out;
	ok = true;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(mc);
	return ok;
}

static int
accept_any(X509_STORE_CTX *xs, void *arg)
{
	(void)xs;
	(void)arg;
	return 1;
}

/*
 * A TLS handshake in memory: the server presents `sx` with `sk`; with `cx`/`ck` the client
 * presents a certificate too (requested). `sigalgs` limits the client's (NULL: defaults).
 */
static bool
handshake(X509 *sx, EVP_PKEY *sk, X509 *cx, EVP_PKEY *ck, int version, const char *sigalgs)
{
	SSL_CTX *sc = SSL_CTX_new(TLS_server_method()), *cc = SSL_CTX_new(TLS_client_method());
	SSL *s = NULL, *c = NULL;
	BIO *b1 = NULL, *b2 = NULL;
	int i, rs = 0, rc = 0;
	bool ok = false;

	if (sc == NULL || cc == NULL || SSL_CTX_use_certificate(sc, sx) != 1 ||
	    SSL_CTX_use_PrivateKey(sc, sk) != 1 ||
	    SSL_CTX_set_min_proto_version(sc, version) != 1 ||
	    SSL_CTX_set_max_proto_version(sc, version) != 1 ||
	    (sigalgs != NULL && SSL_CTX_set1_sigalgs_list(cc, sigalgs) != 1))
		goto out;
	if (cx != NULL) {
		SSL_CTX_set_verify(sc, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		SSL_CTX_set_cert_verify_callback(sc, accept_any, NULL);
		if (SSL_CTX_use_certificate(cc, cx) != 1 || SSL_CTX_use_PrivateKey(cc, ck) != 1)
			goto out;
	}
	if ((s = SSL_new(sc)) == NULL || (c = SSL_new(cc)) == NULL ||
	    BIO_new_bio_pair(&b1, 0, &b2, 0) != 1)
		goto out;
	SSL_set_bio(s, b1, b1);
	SSL_set_bio(c, b2, b2);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	for (i = 0; i < 50 && (rs != 1 || rc != 1); i++) {
		rc = SSL_do_handshake(c);
		rs = SSL_do_handshake(s);
	}
	ok = rs == 1 && rc == 1;
	/* TLS 1.3: the client's certificate is checked after the client's handshake ends. */
	if (ok && cx != NULL) {
		char b[1];

		(void)SSL_read(s, b, 0);
		ok = SSL_get0_peer_certificate(s) != NULL;
	}
out:
	ERR_clear_error();
	SSL_free(s);
	SSL_free(c);
	SSL_CTX_free(sc);
	SSL_CTX_free(cc);
	return ok;
}

static void
test_stand_ins_sign(void)
{
	struct fx x;
	EVP_PKEY *rsa, *ec;
	struct cc_cert *c = NULL;

	fx_open(&x);
	rsa = stand_in(&x, x.rsa_t);
	ec = stand_in(&x, x.ec_t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
	CU_ASSERT_PTR_NOT_EQUAL(rsa, x.rsa_k);
	CU_ASSERT_EQUAL(X509_check_private_key(x.rsa_x, rsa), 1);
	CU_ASSERT_EQUAL(X509_check_private_key(x.ec_x, ec), 1);
	CU_ASSERT_TRUE(sign_verify(rsa, x.rsa_x, EVP_sha256(), RSA_PKCS1_PADDING));
	CU_ASSERT_TRUE(sign_verify(rsa, x.rsa_x, EVP_sha384(), RSA_PKCS1_PSS_PADDING));
	CU_ASSERT_TRUE(sign_verify(ec, x.ec_x, EVP_sha256(), 0));
	CU_ASSERT_TRUE(sign_verify(ec, x.ec_x, EVP_sha512(), 0));
	/* The key file open to others: no key, the store's reason. */
	CU_ASSERT_FATAL(cc_store_find(x.s, x.open_t, &c) == CC_OK);
	CU_ASSERT_FALSE(cc_cert_has_private_key(c));
	CU_ASSERT_TRUE(cc_store_problem_count(x.s) == 1 &&
	               strstr(cc_store_problem_reason(x.s, 0), "0644") != NULL);
	fx_close(&x);
}

static void
test_refused(void)
{
	struct fx x;
	EVP_PKEY *rsa;
	EVP_PKEY_CTX *pc;
	unsigned char in[256], out[512];
	size_t len = sizeof(out);

	fx_open(&x);
	rsa = stand_in(&x, x.rsa_t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
	/* SHA-1 is not signed. */
	CU_ASSERT_FALSE(sign_verify(rsa, x.rsa_x, EVP_sha1(), RSA_PKCS1_PADDING));
	/* No digest algorithm, raw RSA: refused, not done in this process either. */
	memset(in, 1, sizeof(in));
	pc = EVP_PKEY_CTX_new(rsa, NULL);
	CU_ASSERT_EQUAL(EVP_PKEY_sign_init(pc), 1);
	CU_ASSERT_EQUAL(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_NO_PADDING), 1);
	CU_ASSERT_NOT_EQUAL(EVP_PKEY_sign(pc, out, &len, in, sizeof(in)), 1);
	EVP_PKEY_CTX_free(pc);
	len = sizeof(out);
	pc = EVP_PKEY_CTX_new(rsa, NULL);
	CU_ASSERT_EQUAL(EVP_PKEY_decrypt_init(pc), 1);
	CU_ASSERT_NOT_EQUAL(EVP_PKEY_decrypt(pc, out, &len, in, sizeof(in)), 1);
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	fx_close(&x);
}

static void
test_tls(void)
{
	struct fx x;
	EVP_PKEY *rsa, *ec;

	fx_open(&x);
	rsa = stand_in(&x, x.rsa_t);
	ec = stand_in(&x, x.ec_t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
	CU_ASSERT_TRUE(handshake(x.rsa_x, rsa, NULL, NULL, TLS1_3_VERSION, NULL));
	CU_ASSERT_TRUE(handshake(x.rsa_x, rsa, NULL, NULL, TLS1_2_VERSION, "RSA+SHA256"));
	CU_ASSERT_TRUE(handshake(x.rsa_x, rsa, NULL, NULL, TLS1_2_VERSION, "rsa_pss_rsae_sha256"));
	CU_ASSERT_TRUE(handshake(x.ec_x, ec, NULL, NULL, TLS1_3_VERSION, NULL));
	CU_ASSERT_TRUE(handshake(x.ec_x, ec, NULL, NULL, TLS1_2_VERSION, NULL));
	/* As a client (umd's SMTP certificate): the stand-in signs CertificateVerify. */
	CU_ASSERT_TRUE(handshake(x.ec_x, x.ec_k, x.rsa_x, rsa, TLS1_3_VERSION, NULL));
	CU_ASSERT_TRUE(handshake(x.rsa_x, x.rsa_k, x.ec_x, ec, TLS1_2_VERSION, NULL));
	/* The control: a key that is not the certificate's fails. */
	CU_ASSERT_FALSE(handshake(x.rsa_x, ec, NULL, NULL, TLS1_3_VERSION, NULL));
	fx_close(&x);
}

static void
test_holder_killed(void)
{
	struct fx x;
	EVP_PKEY *rsa;
	char why[64];

	fx_open(&x);
	rsa = stand_in(&x, x.rsa_t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
	CU_ASSERT_FALSE(um_keyholder_ended(x.kh, why, sizeof(why)));
	CU_ASSERT_EQUAL_FATAL(kill(um_keyholder_pid(x.kh), SIGKILL), 0);
	usleep(100000);
	CU_ASSERT_FALSE(sign_verify(rsa, x.rsa_x, EVP_sha256(), RSA_PKCS1_PADDING));
	CU_ASSERT_TRUE(um_keyholder_ended(x.kh, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "killed by signal 9");
	CU_ASSERT_FALSE(sign_verify(rsa, x.rsa_x, EVP_sha256(), RSA_PKCS1_PADDING));
	fx_close(&x);
}

/*
 * With the holder as certcore's key maker, a self-signed certificate the store makes and a
 * renewal of it get keys the holder made and wrote (keys/THUMB.key, 0600, the certificate's),
 * certificates the holder signed, and stand-ins that sign; a key certcore did not get from the
 * maker is refused by its write rather than written here.
 */
static void
test_maker(void)
{
	struct fx x;
	struct cc_key_maker mk = {um_keyholder_make, um_keyholder_write, um_keyholder_remove, NULL};
	struct cc_new_params p;
	struct tu_cert_spec spec = {.cn = "other.example.test", .key = "ec256"};
	struct cc_meta meta = {.services = CC_SVC_UM};
	const char *doms[1] = {"um1.example.test"};
	char t[CC_THUMB_LEN + 1], r[CC_THUMB_LEN + 1], path[4200];
	struct cc_cert *c = NULL;
	struct stat st;
	EVP_PKEY *k = NULL, *onfile = NULL;
	X509 *ox = NULL;
	FILE *f;
	bool renewed = false;

	fx_open(&x);
	mk.arg = x.kh;
	cc_store_set_key_maker(&mk);
	memset(&p, 0, sizeof(p));
	p.domains = doms;
	p.ndomains = 1;
	p.services = CC_SVC_UM;
	p.key_type = CC_KEY_RSA_2048;
	p.made_by = "umd";
	p.days = 10;
	CU_ASSERT_FATAL(cc_store_new_self_signed(x.s, &p, t) == CC_OK);
	CU_ASSERT_FATAL(cc_store_find(x.s, t, &c) == CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cc_cert_key(c));
	CU_ASSERT_EQUAL(X509_verify(cc_cert_x509(c), X509_get0_pubkey(cc_cert_x509(c))), 1);
	CU_ASSERT_TRUE(sign_verify(cc_cert_key(c), cc_cert_x509(c), EVP_sha256(), 0));
	snprintf(path, sizeof(path), "%s/keys/%s.key", x.store, t);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "r"));
	onfile = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	CU_ASSERT_EQUAL(X509_check_private_key(cc_cert_x509(c), onfile), 1);
	/* Renewal (cc_store_auto_renew, as umd calls it): a new key, made and written there. */
	CU_ASSERT_FATAL(cc_store_auto_renew(x.s, t, "umd", 30, time(NULL), r, &renewed) == CC_OK);
	CU_ASSERT_TRUE_FATAL(renewed);
	CU_ASSERT_FATAL(cc_store_find(x.s, r, &c) == CC_OK);
	CU_ASSERT_PTR_NOT_NULL(cc_cert_key(c));
	CU_ASSERT_EQUAL(X509_verify(cc_cert_x509(c), X509_get0_pubkey(cc_cert_x509(c))), 1);
	CU_ASSERT_NOT_EQUAL(X509_check_private_key(cc_cert_x509(c), onfile), 1);
	snprintf(path, sizeof(path), "%s/keys/%s.key", x.store, r);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	/* A key that is not the holder's is not written by this process. */
	tu_make_cert(&spec, &ox, &k);
	CU_ASSERT_NOT_EQUAL(cc_store_add(x.s, ox, NULL, k, &meta, t), CC_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "not made by the key holder"));
	cc_store_set_key_maker(NULL);
	ERR_clear_error();
	EVP_PKEY_free(onfile);
	EVP_PKEY_free(k);
	X509_free(ox);
	fx_close(&x);
}

static CU_TestInfo tests[] = {
        {"stand-ins sign (PKCS#1, PSS, ECDSA); a key open to others is not used",
         test_stand_ins_sign},
        {"SHA-1, raw RSA and decryption refused", test_refused},
        {"TLS 1.2 and 1.3 handshakes, as server and client", test_tls},
        {"a killed holder is reported, signatures fail", test_holder_killed},
        {"self-signed and renewed certificates get keys the holder made and wrote", test_maker},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_keyholder", tests);
}

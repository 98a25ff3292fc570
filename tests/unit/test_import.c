/*
 * Import and export (import.c): PEM, DER, PKCS#7 and PKCS#12 read with their failures (wrong
 * password, corrupt, truncated), the leaf told from its chain, imports into a store (completing
 * a request, or bringing a key) and refused ones that write nothing, PFX export refused unless
 * exportable and read back with its algorithms checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "certcore/request.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "testutil.h"

/* A throw-away PKI: root -> intermediate -> leaf, and a stranger issued by the root. */
static X509 *root, *inter, *leaf, *stranger;
static EVP_PKEY *root_key, *inter_key, *leaf_key, *stranger_key;

static void
make_pki(void)
{
	static const char *const sans[] = {"mail.contoso.com", NULL};
	struct tu_cert_spec r = {.cn = "umedge Test Root", .ca = true, .key = "ec256"};
	struct tu_cert_spec i = {.cn = "umedge Test Issuing CA", .ca = true, .key = "ec256"};
	struct tu_cert_spec l = {.cn = "mail.contoso.com", .sans = sans, .key = "ec256"};
	struct tu_cert_spec s = {.cn = "other.contoso.com", .key = "ec256"};

	if (root != NULL)
		return;
	tu_make_cert(&r, &root, &root_key);
	i.issuer = root;
	i.issuer_key = root_key;
	tu_make_cert(&i, &inter, &inter_key);
	l.issuer = inter;
	l.issuer_key = inter_key;
	tu_make_cert(&l, &leaf, &leaf_key);
	s.issuer = root;
	s.issuer_key = root_key;
	tu_make_cert(&s, &stranger, &stranger_key);
}

static STACK_OF(X509) * stack_of(X509 *a, X509 *b, X509 *c)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	if (a != NULL)
		sk_X509_push(sk, a);
	if (b != NULL)
		sk_X509_push(sk, b);
	if (c != NULL)
		sk_X509_push(sk, c);
	return sk;
}

static unsigned char *
der_of_cert(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	CU_ASSERT_FATAL(n > 0);
	*len = (size_t)n;
	return der;
}

/* A .p7b as openssl crl2pkcs7 -nocrl makes it: signedData with certificates only. */
static unsigned char *
p7b(STACK_OF(X509) * certs, bool pem, size_t *len)
{
	PKCS7 *p7 = PKCS7_new();
	unsigned char *out = NULL;
	BIO *b;
	BUF_MEM *m;
	int i, n;

	CU_ASSERT_FATAL(p7 != NULL && PKCS7_set_type(p7, NID_pkcs7_signed) == 1 &&
	                PKCS7_content_new(p7, NID_pkcs7_data) == 1);
	for (i = 0; certs != NULL && i < sk_X509_num(certs); i++)
		CU_ASSERT_FATAL(PKCS7_add_certificate(p7, sk_X509_value(certs, i)) == 1);
	if (pem) {
		b = BIO_new(BIO_s_mem());
		CU_ASSERT_FATAL(PEM_write_bio_PKCS7(b, p7) == 1);
		BIO_get_mem_ptr(b, &m);
		out = OPENSSL_memdup(m->data, m->length);
		*len = m->length;
		BIO_free(b);
	} else {
		n = i2d_PKCS7(p7, &out);
		CU_ASSERT_FATAL(n > 0);
		*len = (size_t)n;
	}
	PKCS7_free(p7);
	return out;
}

/* A PKCS#12 with OpenSSL 3's defaults (AES-256-CBC, SHA-256 MAC), as a server would export. */
static unsigned char *
pfx(const char *pw, const char *name, EVP_PKEY *k, X509 *x, STACK_OF(X509) * ca_certs, size_t *len)
{
	PKCS12 *p12 = PKCS12_create(pw, name, k, x, ca_certs, 0, 0, 0, 0, 0);
	unsigned char *out = NULL;
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p12);
	n = i2d_PKCS12(p12, &out);
	CU_ASSERT_FATAL(n > 0);
	*len = (size_t)n;
	PKCS12_free(p12);
	return out;
}

static char *
pem_text(X509 *a, X509 *b, X509 *c)
{
	char *pa = tu_cert_pem(a), *pb = b ? tu_cert_pem(b) : strdup(""),
	     *pc = c ? tu_cert_pem(c) : strdup(""), *all;

	if (asprintf(&all, "%s%s%s", pa, pb, pc) < 0)
		abort();
	free(pa);
	free(pb);
	free(pc);
	return all;
}

static void
test_read_pem_der(void)
{
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *key = NULL;
	char *text, *keypem, *mixed;
	unsigned char *der, *longer;
	size_t len;

	make_pki();
	text = pem_text(leaf, inter, root);
	CU_ASSERT_EQUAL_FATAL(
	        cc_import_read((unsigned char *)text, strlen(text), NULL, &certs, &key), CC_OK);
	CU_ASSERT_EQUAL_FATAL(sk_X509_num(certs), 3);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(certs, 0), leaf), 0);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(certs, 2), root), 0);
	CU_ASSERT_PTR_NULL(key);
	sk_X509_pop_free(certs, X509_free);

	/* A PEM file with a key in it is read for its certificates: keys travel in PKCS#12. */
	keypem = tu_key_pem(leaf_key);
	if (asprintf(&mixed, "%s%s", keypem, text) < 0)
		abort();
	CU_ASSERT_EQUAL(cc_import_read((unsigned char *)mixed, strlen(mixed), NULL, &certs, &key),
	                CC_OK);
	CU_ASSERT_EQUAL(sk_X509_num(certs), 3);
	CU_ASSERT_PTR_NULL(key);
	sk_X509_pop_free(certs, X509_free);
	free(mixed);
	free(keypem);
	free(text);

	der = der_of_cert(leaf, &len);
	CU_ASSERT_EQUAL_FATAL(cc_import_read(der, len, NULL, &certs, &key), CC_OK);
	CU_ASSERT_EQUAL_FATAL(sk_X509_num(certs), 1);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(certs, 0), leaf), 0);
	sk_X509_pop_free(certs, X509_free);
	/* Bytes after the certificate are not ignored. */
	longer = malloc(len + 4);
	memcpy(longer, der, len);
	memcpy(longer + len, "junk", 4);
	certs = (STACK_OF(X509) *)1;
	CU_ASSERT_EQUAL(cc_import_read(longer, len + 4, NULL, &certs, &key), CC_ERR_PARSE);
	CU_ASSERT_PTR_NULL(certs);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "after the end"));
	free(longer);
	OPENSSL_free(der);
}

static void
test_read_p7b(void)
{
	STACK_OF(X509) *in = NULL, *certs = NULL;
	EVP_PKEY *key = NULL;
	unsigned char *buf, *der = NULL;
	size_t len;
	PKCS7 *p7;
	int form, n;

	make_pki();
	in = stack_of(root, leaf, inter);
	for (form = 0; form < 2; form++) {
		buf = p7b(in, form == 0, &len);
		CU_ASSERT_EQUAL_FATAL(cc_import_read(buf, len, NULL, &certs, &key), CC_OK);
		CU_ASSERT_EQUAL_FATAL(sk_X509_num(certs), 3);
		CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(certs, 0), root), 0);
		CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(certs, 1), leaf), 0);
		CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(certs, 2), inter), 0);
		CU_ASSERT_PTR_NULL(key);
		sk_X509_pop_free(certs, X509_free);
		OPENSSL_free(buf);
	}
	sk_X509_free(in);

	/* signedData without certificates, and PKCS#7 that is not signedData. */
	buf = p7b(NULL, false, &len);
	CU_ASSERT_EQUAL(cc_import_read(buf, len, NULL, &certs, &key), CC_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "no certificates"));
	OPENSSL_free(buf);
	p7 = PKCS7_new();
	CU_ASSERT_FATAL(PKCS7_set_type(p7, NID_pkcs7_data) == 1);
	n = i2d_PKCS7(p7, &der);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(cc_import_read(der, (size_t)n, NULL, &certs, &key), CC_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "not signedData"));
	OPENSSL_free(der);
	PKCS7_free(p7);
}

static void
test_read_pkcs12(void)
{
	STACK_OF(X509) * ca_certs, *certs = NULL;
	EVP_PKEY *key = NULL;
	unsigned char *buf;
	size_t len;

	make_pki();
	ca_certs = stack_of(inter, root, NULL);
	buf = pfx("correct horse", "leaf", leaf_key, leaf, ca_certs, &len);
	CU_ASSERT_EQUAL_FATAL(cc_import_read(buf, len, "correct horse", &certs, &key), CC_OK);
	CU_ASSERT_EQUAL(sk_X509_num(certs), 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(key, leaf_key), 1);
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);

	/* Wrong or missing password: named as such, nothing returned. */
	certs = (STACK_OF(X509) *)1;
	key = (EVP_PKEY *)1;
	CU_ASSERT_EQUAL(cc_import_read(buf, len, "wrong horse", &certs, &key), CC_ERR_PASSWORD);
	CU_ASSERT_PTR_NULL(certs);
	CU_ASSERT_PTR_NULL(key);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "password"));
	CU_ASSERT_EQUAL(cc_import_read(buf, len, NULL, &certs, &key), CC_ERR_PASSWORD);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "empty password"));
	CU_ASSERT_EQUAL(cc_import_read(buf, len, "", &certs, &key), CC_ERR_PASSWORD);
	OPENSSL_free(buf);

	/* A PKCS#12 made with an empty password opens without one. */
	buf = pfx("", NULL, leaf_key, leaf, NULL, &len);
	CU_ASSERT_EQUAL(cc_import_read(buf, len, NULL, &certs, &key), CC_OK);
	CU_ASSERT_EQUAL(sk_X509_num(certs), 1);
	CU_ASSERT_PTR_NOT_NULL(key);
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);
	CU_ASSERT_EQUAL(cc_import_read(buf, len, "", &certs, &key), CC_OK);
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);
	CU_ASSERT_EQUAL(cc_import_read(buf, len, "not empty", &certs, &key), CC_ERR_PASSWORD);
	OPENSSL_free(buf);
	sk_X509_free(ca_certs);
}

/* Each corrupt or truncated input fails with CC_ERR_PARSE and a reason that says something. */
static void
expect_parse_error(const unsigned char *buf, size_t len, const char *pw, const char *want)
{
	STACK_OF(X509) *certs = (STACK_OF(X509) *)1;
	EVP_PKEY *key = (EVP_PKEY *)1;

	CU_ASSERT_EQUAL(cc_import_read(buf, len, pw, &certs, &key), CC_ERR_PARSE);
	CU_ASSERT_PTR_NULL(certs);
	CU_ASSERT_PTR_NULL(key);
	if (strstr(cc_errdetail(), want) == NULL) {
		fprintf(stderr, "\n    detail [%s] lacks [%s]\n", cc_errdetail(), want);
		CU_FAIL("error detail");
	}
	CU_ASSERT_EQUAL(ERR_peek_error(), 0); /* the reason was drained into the detail */
}

static void
test_corrupt(void)
{
	static const char bad_b64[] =
	        "-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n";
	static const char csr[] = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n"
	                          "-----END CERTIFICATE REQUEST-----\n";
	static const char only_key_hdr[] = "-----BEGIN PUBLIC KEY-----\nMIIB\n"
	                                   "-----END PUBLIC KEY-----\n";
	STACK_OF(X509) * in;
	unsigned char *der, *p7, *p12;
	size_t len, p7len, p12len;
	char *pem;

	make_pki();
	der = der_of_cert(leaf, &len);
	/* Truncated DER: the library's own reason (the length runs past the end). */
	expect_parse_error(der, len / 2, NULL, "DER certificate: ");
	expect_parse_error(der, len / 2, NULL, "too long");
	expect_parse_error(der, 3, NULL, "DER");
	OPENSSL_free(der);

	in = stack_of(leaf, inter, NULL);
	p7 = p7b(in, false, &p7len);
	expect_parse_error(p7, p7len - 10, NULL, "PKCS#7");
	OPENSSL_free(p7);
	p12 = pfx("pw", NULL, leaf_key, leaf, in, &p12len);
	expect_parse_error(p12, p12len / 2, "pw", "PKCS#12: ");
	OPENSSL_free(p12);
	sk_X509_free(in);

	pem = tu_cert_pem(leaf);
	expect_parse_error((unsigned char *)pem, strlen(pem) / 2, NULL, "PEM");
	free(pem);
	expect_parse_error((const unsigned char *)bad_b64, strlen(bad_b64), NULL, "PEM");
	expect_parse_error((const unsigned char *)csr, strlen(csr), NULL, "certificate request");
	expect_parse_error((const unsigned char *)only_key_hdr, strlen(only_key_hdr), NULL,
	                   "no certificate");
	expect_parse_error((const unsigned char *)"hello, world", 12, NULL, "not DER");
	expect_parse_error((const unsigned char *)"", 0, NULL, "empty");
	expect_parse_error(NULL, 0, NULL, "empty");
}

/* A PKCS#12 altered after it was made: its MAC no longer verifies. */
static void
test_altered_pkcs12(void)
{
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *key = NULL;
	unsigned char *p12;
	size_t len;
	enum cc_err r;

	make_pki();
	p12 = pfx("pw", NULL, leaf_key, leaf, NULL, &len);
	p12[len / 2] ^= 0x20;
	r = cc_import_read(p12, len, "pw", &certs, &key);
	CU_ASSERT(r == CC_ERR_PASSWORD || r == CC_ERR_PARSE);
	CU_ASSERT_PTR_NULL(certs);
	CU_ASSERT_PTR_NULL(key);
	OPENSSL_free(p12);
}

/* ---- PKCS#12 cost limits: counts checked before any key is derived -------------- */

/* Writes `iter` into a password-based encryption's parameters: PBES2's PBKDF2, or PBEPARAM. */
static void
set_pbe_iter(X509_ALGOR *alg, long iter)
{
	PBE2PARAM *pbe2;
	PBKDF2PARAM *kdf;
	PBEPARAM *pbe;

	if (OBJ_obj2nid(alg->algorithm) == NID_pbes2) {
		pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
		CU_ASSERT_PTR_NOT_NULL_FATAL(pbe2);
		kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
		                                pbe2->keyfunc->parameter);
		CU_ASSERT_PTR_NOT_NULL_FATAL(kdf);
		CU_ASSERT_FATAL(ASN1_INTEGER_set(kdf->iter, iter) == 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ASN1_TYPE_pack_sequence(
		        ASN1_ITEM_rptr(PBKDF2PARAM), kdf, &pbe2->keyfunc->parameter));
		CU_ASSERT_PTR_NOT_NULL_FATAL(
		        ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBE2PARAM), pbe2, &alg->parameter));
		PBKDF2PARAM_free(kdf);
		PBE2PARAM_free(pbe2);
		return;
	}
	pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pbe);
	CU_ASSERT_FATAL(ASN1_INTEGER_set(pbe->iter, iter) == 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(
	        ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBEPARAM), pbe, &alg->parameter));
	PBEPARAM_free(pbe);
}

/* What a costly PKCS#12 asks for; 0 leaves a count as made (2048). */
struct costly {
	int nid;         /* NID_aes_256_cbc (PBES2) or a PKCS#12 PBE */
	long mac_iter;   /* written into the MAC after it was computed */
	long cert_iter;  /* into each encrypted container of the certificate */
	long key_iter;   /* into the shrouded key bag */
	bool key_inside; /* the key bag inside the encrypted container, not beside it */
	int ncontainers; /* encrypted containers holding the certificate (0 means 1) */
};

/*
 * A PKCS#12 of the leaf and its key, password "pw", made with 2048 iterations everywhere and
 * then given the counts of `c`. The MAC is computed after the bags' counts were written, so
 * only a MAC count makes it fail to verify (it is refused before that is tried).
 */
static unsigned char *
costly_pfx(const struct costly *c, size_t *len)
{
	STACK_OF(PKCS12_SAFEBAG) *certbags = NULL, *keybags = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12_SAFEBAG *kb;
	PKCS12 *p12;
	PKCS7 *p7;
	const ASN1_INTEGER *mi = NULL;
	const X509_ALGOR *alg = NULL;
	unsigned char *out = NULL;
	int i, n;

	make_pki();
	CU_ASSERT_PTR_NOT_NULL_FATAL(PKCS12_add_cert(&certbags, leaf));
	kb = PKCS12_add_key(c->key_inside ? &certbags : &keybags, leaf_key, 0, 2048, c->nid, "pw");
	CU_ASSERT_PTR_NOT_NULL_FATAL(kb);
	if (c->key_iter != 0) {
		X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(kb), &alg, NULL);
		set_pbe_iter((X509_ALGOR *)alg, c->key_iter);
	}
	for (i = 0; i < (c->ncontainers > 0 ? c->ncontainers : 1); i++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(PKCS12_add_safe(&safes, certbags, c->nid, 2048, "pw"));
		p7 = sk_PKCS7_value(safes, sk_PKCS7_num(safes) - 1);
		if (c->cert_iter != 0)
			set_pbe_iter(p7->d.encrypted->enc_data->algorithm, c->cert_iter);
	}
	if (keybags != NULL)
		CU_ASSERT_PTR_NOT_NULL_FATAL(PKCS12_add_safe(&safes, keybags, -1, 0, NULL));
	p12 = PKCS12_add_safes(safes, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p12);
	CU_ASSERT_FATAL(PKCS12_set_mac(p12, "pw", -1, NULL, 0, 2048, EVP_sha256()) == 1);
	if (c->mac_iter != 0) {
		PKCS12_get0_mac(NULL, NULL, NULL, &mi, p12);
		CU_ASSERT_PTR_NOT_NULL_FATAL(mi);
		CU_ASSERT_FATAL(ASN1_INTEGER_set((ASN1_INTEGER *)mi, c->mac_iter) == 1);
	}
	n = i2d_PKCS12(p12, &out);
	CU_ASSERT_FATAL(n > 0);
	*len = (size_t)n;
	PKCS12_free(p12);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	sk_PKCS12_SAFEBAG_pop_free(certbags, PKCS12_SAFEBAG_free);
	sk_PKCS12_SAFEBAG_pop_free(keybags, PKCS12_SAFEBAG_free);
	return out;
}

/*
 * cc_import_read of a costly PKCS#12 in a child with an alarm, so that a derivation that runs
 * for minutes shows as a failure rather than a hang. Returns the result; the detail is copied.
 */
static enum cc_err
read_guarded(const unsigned char *buf, size_t len, char *detail, size_t dlen)
{
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *key = NULL;
	int fds[2], status = 0, r = -1;
	ssize_t n;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		close(fds[0]);
		alarm(60);
		r = (int)cc_import_read(buf, len, "pw", &certs, &key);
		if (r == CC_OK && (key == NULL || sk_X509_num(certs) < 1))
			r = -2;
		if (write(fds[1], &r, sizeof(r)) != sizeof(r) ||
		    write(fds[1], cc_errdetail(), strlen(cc_errdetail())) < 0)
			_exit(2);
		sk_X509_pop_free(certs, X509_free);
		EVP_PKEY_free(key);
		_exit(0);
	}
	close(fds[1]);
	memset(detail, 0, dlen);
	if (read(fds[0], &r, sizeof(r)) != sizeof(r))
		r = -1;
	n = read(fds[0], detail, dlen - 1);
	(void)n;
	close(fds[0]);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status));
	if (WIFSIGNALED(status))
		fprintf(stderr, "\n    reader killed by signal %d (still deriving keys)",
		        WTERMSIG(status));
	return (enum cc_err)r;
}

static void
expect_costly_refused(const struct costly *c, enum cc_err want_r, const char *want)
{
	unsigned char *buf;
	size_t len;
	char detail[1024];
	enum cc_err r;

	buf = costly_pfx(c, &len);
	r = read_guarded(buf, len, detail, sizeof(detail));
	CU_ASSERT_EQUAL(r, want_r);
	if (strstr(detail, want) == NULL) {
		fprintf(stderr, "\n    detail [%s] lacks [%s]\n", detail, want);
		CU_FAIL("error detail");
	}
	OPENSSL_free(buf);
}

static void
test_pkcs12_iterations_refused(void)
{
	struct costly c;
	char want[64];

	/* The attack: the MAC's count patched to 2^31-1. */
	memset(&c, 0, sizeof(c));
	c.nid = NID_aes_256_cbc;
	c.mac_iter = 2147483647;
	expect_costly_refused(&c, CC_ERR_LIMIT, "MAC asks for 2147483647 iterations");
	/* One past the limit is refused; the limit itself is named. */
	c.mac_iter = CC_PKCS12_MAX_ITER + 1;
	snprintf(want, sizeof(want), "more than the %d", CC_PKCS12_MAX_ITER);
	expect_costly_refused(&c, CC_ERR_LIMIT, want);
	/* The certificates' encrypted container: PBES2 (PBKDF2) and PKCS#12's own PBE. */
	memset(&c, 0, sizeof(c));
	c.nid = NID_aes_256_cbc;
	c.cert_iter = 2147483647;
	expect_costly_refused(&c, CC_ERR_LIMIT,
	                      "encrypted certificates ask for 2147483647 iterations");
	c.nid = NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
	expect_costly_refused(&c, CC_ERR_LIMIT,
	                      "encrypted certificates ask for 2147483647 iterations");
	/* The shrouded key beside the certificates, and inside their encrypted container. */
	memset(&c, 0, sizeof(c));
	c.nid = NID_aes_256_cbc;
	c.key_iter = 2147483647;
	expect_costly_refused(&c, CC_ERR_LIMIT, "private key asks for 2147483647 iterations");
	c.key_inside = true;
	expect_costly_refused(&c, CC_ERR_LIMIT, "private key asks for 2147483647 iterations");
	c.nid = NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
	expect_costly_refused(&c, CC_ERR_LIMIT, "private key asks for 2147483647 iterations");
	/* Each count within the limit, but many of them: the sum is bounded too. */
	memset(&c, 0, sizeof(c));
	c.nid = NID_aes_256_cbc;
	c.cert_iter = CC_PKCS12_MAX_ITER;
	c.ncontainers = 3;
	expect_costly_refused(&c, CC_ERR_LIMIT, "in all");
	/* A negative count is not a count: malformed, with the library's reason. */
	memset(&c, 0, sizeof(c));
	c.nid = NID_aes_256_cbc;
	c.mac_iter = -5;
	expect_costly_refused(&c, CC_ERR_PARSE, "MAC iteration count: ");
	c.mac_iter = 0;
	c.key_iter = -1;
	expect_costly_refused(&c, CC_ERR_PARSE, "private key iteration count: ");
}

/* The same files with ordinary counts import: the checks refuse cost, not structure. */
static void
test_pkcs12_iterations_accepted(void)
{
	static const int nids[] = {NID_aes_256_cbc, NID_pbe_WithSHA1And3_Key_TripleDES_CBC};
	struct costly c;
	unsigned char *buf;
	size_t len, i;
	char detail[1024];
	enum cc_err r;

	for (i = 0; i < 2 * sizeof(nids) / sizeof(nids[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.nid = nids[i / 2];
		c.key_inside = i % 2 == 1;
		c.ncontainers = 2;
		buf = costly_pfx(&c, &len);
		r = read_guarded(buf, len, detail, sizeof(detail));
		CU_ASSERT_EQUAL(r, CC_OK);
		if (r != CC_OK)
			fprintf(stderr, "\n    %s, key %s: %d %s\n", OBJ_nid2sn(c.nid),
			        c.key_inside ? "inside" : "beside", (int)r, detail);
		OPENSSL_free(buf);
	}
}

static void
test_split(void)
{
	STACK_OF(X509) * in, *chain = NULL;
	X509 *got = NULL;

	make_pki();
	/* Any order: the leaf issued nothing; the chain goes up from it. */
	in = stack_of(root, leaf, inter);
	CU_ASSERT_EQUAL_FATAL(cc_import_split(in, NULL, NULL, &got, &chain), CC_OK);
	CU_ASSERT_EQUAL(X509_cmp(got, leaf), 0);
	CU_ASSERT_EQUAL_FATAL(sk_X509_num(chain), 2);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(chain, 0), inter), 0);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(chain, 1), root), 0);
	X509_free(got);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_free(in);

	/* The same leaf twice is still one leaf; a lone self-signed root is its own leaf. */
	in = stack_of(leaf, inter, leaf);
	CU_ASSERT_EQUAL(cc_import_split(in, NULL, NULL, &got, &chain), CC_OK);
	CU_ASSERT_EQUAL(X509_cmp(got, leaf), 0);
	CU_ASSERT_EQUAL(sk_X509_num(chain), 1);
	X509_free(got);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_free(in);
	in = stack_of(root, NULL, NULL);
	CU_ASSERT_EQUAL(cc_import_split(in, NULL, NULL, &got, &chain), CC_OK);
	CU_ASSERT_EQUAL(X509_cmp(got, root), 0);
	CU_ASSERT_EQUAL(sk_X509_num(chain), 0);
	X509_free(got);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_free(in);

	/* Two certificates that issued nothing, and no request to tell them apart. */
	in = stack_of(leaf, stranger, root);
	got = (X509 *)1;
	CU_ASSERT_EQUAL(cc_import_split(in, NULL, NULL, &got, &chain), CC_ERR_PARSE);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT_PTR_NULL(chain);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "cannot tell"));
	/* With a key, its certificate is the leaf wherever it is. */
	CU_ASSERT_EQUAL(cc_import_split(in, stranger_key, NULL, &got, &chain), CC_OK);
	CU_ASSERT_EQUAL(X509_cmp(got, stranger), 0);
	CU_ASSERT_EQUAL(sk_X509_num(chain), 1);
	X509_free(got);
	sk_X509_pop_free(chain, X509_free);
	CU_ASSERT_EQUAL(cc_import_split(in, inter_key, NULL, &got, &chain), CC_ERR_KEY_MISMATCH);
	sk_X509_free(in);
	in = sk_X509_new_null();
	CU_ASSERT_EQUAL(cc_import_split(in, NULL, NULL, &got, &chain), CC_ERR_PARSE);
	sk_X509_free(in);
}

static struct cc_store *
new_store(char **dir, char **path)
{
	struct cc_store *s = NULL;

	*dir = tu_tmpdir();
	if (asprintf(path, "%s/store", *dir) < 0)
		abort();
	CU_ASSERT_EQUAL_FATAL(cc_store_open(*path, CC_STORE_CREATE, &s), CC_OK);
	return s;
}

static struct cc_request_params
req_params(const char *const *domains)
{
	struct cc_request_params p;

	memset(&p, 0, sizeof(p));
	p.domains = domains;
	p.ndomains = 1;
	p.key_type = CC_KEY_EC_P256;
	p.services = CC_SVC_UM;
	p.friendly_name = "requested";
	return p;
}

static void
test_import_completes_request(void)
{
	static const char *const d1[] = {"um1.contoso.com"}, *const d2[] = {"um2.contoso.com"};
	struct cc_request_params p1 = req_params(d1), p2 = req_params(d2);
	struct cc_import_params ip = {CC_SVC_SMTP, true, NULL};
	char *dir, *path;
	char id1[CC_THUMB_LEN + 1], id2[CC_THUMB_LEN + 1], thumb[CC_THUMB_LEN + 1],
	        got[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	X509_REQ *r1 = NULL, *r2 = NULL;
	X509 *l1, *l2;
	STACK_OF(X509) * in, *certs = NULL;
	EVP_PKEY *key = NULL;
	struct cc_cert *c;
	unsigned char *buf;
	size_t len;

	make_pki();
	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p1, id1, &r1), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p2, id2, &r2), CC_OK);
	l1 = tu_issue_request(r1, inter, inter_key);
	l2 = tu_issue_request(r2, inter, inter_key);

	/*
	 * A .p7b with both issued certificates and the chain: two leaves, both with a request;
	 * such a file is refused rather than guessed at.
	 */
	in = sk_X509_new_null();
	sk_X509_push(in, root);
	sk_X509_push(in, l1);
	sk_X509_push(in, inter);
	sk_X509_push(in, l2);
	buf = p7b(in, true, &len);
	CU_ASSERT_EQUAL_FATAL(cc_import_read(buf, len, NULL, &certs, &key), CC_OK);
	CU_ASSERT_EQUAL(cc_store_import(s, certs, key, &ip, thumb, got), CC_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "several match"));
	sk_X509_pop_free(certs, X509_free);
	OPENSSL_free(buf);

	/* Without the second leaf, the first completes its request and only that one. */
	(void)sk_X509_pop(in);
	buf = p7b(in, false, &len);
	CU_ASSERT_EQUAL_FATAL(cc_import_read(buf, len, NULL, &certs, &key), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_import(s, certs, key, &ip, thumb, got), CC_OK);
	CU_ASSERT_STRING_EQUAL(got, id1);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s, thumb, &c), CC_OK);
	CU_ASSERT_EQUAL(X509_cmp(cc_cert_x509(c), l1), 0);
	CU_ASSERT_TRUE(cc_cert_has_private_key(c));
	CU_ASSERT_EQUAL(cc_cert_services(c), CC_SVC_UM | CC_SVC_SMTP);
	CU_ASSERT_FALSE(cc_cert_exportable(c)); /* the request's flag, not the import's */
	CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "requested");
	CU_ASSERT_EQUAL_FATAL(sk_X509_num(cc_cert_chain(c)), 2);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(cc_cert_chain(c), 0), inter), 0);
	CU_ASSERT_FALSE(cc_store_has_request(s, X509_REQ_get0_pubkey(r1)));
	CU_ASSERT_TRUE(cc_store_has_request(s, X509_REQ_get0_pubkey(r2)));
	sk_X509_pop_free(certs, X509_free);
	OPENSSL_free(buf);
	sk_X509_free(in);

	/* The second, as a bare DER certificate, with a friendly name given at import. */
	ip.friendly_name = "given";
	buf = der_of_cert(l2, &len);
	CU_ASSERT_EQUAL_FATAL(cc_import_read(buf, len, NULL, &certs, &key), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_import(s, certs, key, &ip, thumb, got), CC_OK);
	CU_ASSERT_STRING_EQUAL(got, id2);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s, thumb, &c), CC_OK);
	CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "given");
	CU_ASSERT_EQUAL(sk_X509_num(cc_cert_chain(c)), 0);
	CU_ASSERT_EQUAL(cc_store_count(s), 2);
	sk_X509_pop_free(certs, X509_free);
	OPENSSL_free(buf);

	X509_free(l1);
	X509_free(l2);
	X509_REQ_free(r1);
	X509_REQ_free(r2);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void
test_import_refused(void)
{
	static const char *const d1[] = {"mail.contoso.com"};
	struct cc_request_params p = req_params(d1);
	char *dir, *path, *before, *after;
	char id[CC_THUMB_LEN + 1], thumb[CC_THUMB_LEN + 1], got[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	STACK_OF(X509) * in, *certs = NULL;
	EVP_PKEY *key = NULL;
	unsigned char *buf;
	size_t len;

	make_pki();
	/* A request is pending, for another key than the leaf's (same names). */
	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id, NULL), CC_OK);
	before = tu_tree_listing(path);
	in = stack_of(leaf, inter, root);
	buf = p7b(in, false, &len);
	CU_ASSERT_EQUAL_FATAL(cc_import_read(buf, len, NULL, &certs, &key), CC_OK);
	CU_ASSERT_EQUAL(cc_store_import(s, certs, key, NULL, thumb, got), CC_ERR_NO_KEY);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "matches no pending request"));
	CU_ASSERT_EQUAL(thumb[0], '\0');
	CU_ASSERT_EQUAL(got[0], '\0');
	after = tu_tree_listing(path);
	CU_ASSERT_STRING_EQUAL(before, after);
	free(after);
	sk_X509_pop_free(certs, X509_free);
	OPENSSL_free(buf);
	sk_X509_free(in);
	free(before);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void
test_import_pkcs12(void)
{
	struct cc_import_params ip = {CC_SVC_LDAP, false, NULL};
	char *dir, *path, *before, *after;
	char thumb[CC_THUMB_LEN + 1], got[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	STACK_OF(X509) * ca_certs, *certs = NULL;
	EVP_PKEY *key = NULL;
	struct cc_cert *c;
	unsigned char *buf;
	size_t len;

	make_pki();
	ca_certs = stack_of(root, inter, NULL);
	buf = pfx("pw", "from pfx", leaf_key, leaf, ca_certs, &len);
	CU_ASSERT_EQUAL_FATAL(cc_import_read(buf, len, "pw", &certs, &key), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_import(s, certs, key, &ip, thumb, got), CC_OK);
	CU_ASSERT_EQUAL(got[0], '\0');
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s, thumb, &c), CC_OK);
	CU_ASSERT_EQUAL(X509_cmp(cc_cert_x509(c), leaf), 0);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(cc_cert_key(c), leaf_key), 1);
	CU_ASSERT_FALSE(cc_cert_exportable(c)); /* only with --exportable */
	CU_ASSERT_EQUAL(cc_cert_services(c), CC_SVC_LDAP);
	CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "from pfx");
	CU_ASSERT_EQUAL_FATAL(sk_X509_num(cc_cert_chain(c)), 2);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(cc_cert_chain(c), 0), inter), 0);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(cc_cert_chain(c), 1), root), 0);

	/* The same again: already there, and nothing changes. */
	before = tu_tree_listing(path);
	CU_ASSERT_EQUAL(cc_store_import(s, certs, key, &ip, thumb, got), CC_ERR_EXISTS);
	after = tu_tree_listing(path);
	CU_ASSERT_STRING_EQUAL(before, after);
	free(before);
	free(after);
	CU_ASSERT_EQUAL(cc_store_remove(s, cc_cert_thumbprint(c)), CC_OK);

	/* With --exportable and a name given. */
	ip.exportable = true;
	ip.friendly_name = "mine";
	CU_ASSERT_EQUAL_FATAL(cc_store_import(s, certs, key, &ip, thumb, got), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s, thumb, &c), CC_OK);
	CU_ASSERT_TRUE(cc_cert_exportable(c));
	CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "mine");
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);
	OPENSSL_free(buf);
	sk_X509_free(ca_certs);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void
test_export_refused(void)
{
	struct cc_meta locked = {CC_SVC_UM, false, NULL, NULL},
	               unlocked = {CC_SVC_UM, true, NULL, NULL};
	char *dir, *path, thumb[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	struct cc_cert *c;
	unsigned char *out = (unsigned char *)1;
	size_t len = 1;

	make_pki();
	CU_ASSERT_EQUAL_FATAL(cc_store_add(s, leaf, NULL, leaf_key, &locked, thumb), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s, thumb, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_cert_export_pkcs12(c, "pw", &out, &len), CC_ERR_NO_EXPORT);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "exportable"));
	CU_ASSERT_EQUAL(cc_store_remove(s, thumb), CC_OK);

	/* Exportable, but no key in the store; and exportable with a key but no password. */
	CU_ASSERT_EQUAL_FATAL(cc_store_add(s, leaf, NULL, NULL, &unlocked, thumb), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s, thumb, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_cert_export_pkcs12(c, "pw", &out, &len), CC_ERR_NO_KEY);
	CU_ASSERT_EQUAL(cc_store_remove(s, thumb), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(s, leaf, NULL, leaf_key, &unlocked, thumb), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s, thumb, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_cert_export_pkcs12(c, "", &out, &len), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_cert_export_pkcs12(c, NULL, &out, &len), CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(out);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

/* PBES2 with AES-256-CBC and PBKDF2-HMAC-SHA256 of CC_PKCS12_ITER iterations. */
static void
check_pbes2(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj;
	PBE2PARAM *pbe2;
	PBKDF2PARAM *kdf;

	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	CU_ASSERT_EQUAL_FATAL(OBJ_obj2nid(obj), NID_pbes2);
	pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pbe2);
	CU_ASSERT_EQUAL(OBJ_obj2nid(pbe2->encryption->algorithm), NID_aes_256_cbc);
	CU_ASSERT_EQUAL_FATAL(OBJ_obj2nid(pbe2->keyfunc->algorithm), NID_id_pbkdf2);
	kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter);
	CU_ASSERT_PTR_NOT_NULL_FATAL(kdf);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(kdf->iter), CC_PKCS12_ITER);
	/* An absent PRF means HMAC-SHA1 (RFC 8018 appendix A.2). */
	CU_ASSERT_PTR_NOT_NULL(kdf->prf);
	if (kdf->prf != NULL)
		CU_ASSERT_EQUAL(OBJ_obj2nid(kdf->prf->algorithm), NID_hmacWithSHA256);
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
}

static void
test_export_readable(void)
{
	struct cc_meta unlocked = {CC_SVC_UM, true, "exported", NULL};
	struct cc_import_params ip = {0, false, NULL};
	char *dir, *path, *dir2, *path2;
	char thumb[CC_THUMB_LEN + 1], thumb2[CC_THUMB_LEN + 1], got[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path), *s2 = new_store(&dir2, &path2);
	STACK_OF(X509) *chain = stack_of(inter, root, NULL), *ca = NULL, *certs = NULL;
	STACK_OF(PKCS7) * safes;
	STACK_OF(PKCS12_SAFEBAG) * bags;
	const ASN1_OCTET_STRING *mac;
	const X509_ALGOR *macalg, *alg;
	const ASN1_OCTET_STRING *salt;
	const ASN1_INTEGER *iter;
	const ASN1_OBJECT *obj;
	struct cc_cert *c;
	unsigned char *out = NULL;
	const unsigned char *q;
	size_t len = 0;
	PKCS12 *p12;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int i, j, saw_certs = 0, saw_key = 0;

	make_pki();
	CU_ASSERT_EQUAL_FATAL(cc_store_add(s, leaf, chain, leaf_key, &unlocked, thumb), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s, thumb, &c), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_cert_export_pkcs12(c, "s3cret pass", &out, &len), CC_OK);
	q = out;
	p12 = d2i_PKCS12(NULL, &q, (long)len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p12);

	/* SHA-256 MAC of CC_PKCS12_ITER iterations that only the right password verifies. */
	PKCS12_get0_mac(&mac, &macalg, &salt, &iter, p12);
	CU_ASSERT_PTR_NOT_NULL_FATAL(macalg);
	X509_ALGOR_get0(&obj, NULL, NULL, macalg);
	CU_ASSERT_EQUAL(OBJ_obj2nid(obj), NID_sha256);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(iter), CC_PKCS12_ITER);
	CU_ASSERT_EQUAL(PKCS12_verify_mac(p12, "wrong", -1), 0);
	CU_ASSERT_EQUAL(PKCS12_verify_mac(p12, "s3cret pass", -1), 1);

	/* Certificates and key both encrypted with PBES2 / AES-256-CBC. */
	safes = PKCS12_unpack_authsafes(p12);
	CU_ASSERT_PTR_NOT_NULL_FATAL(safes);
	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);

		if (OBJ_obj2nid(p7->type) == NID_pkcs7_encrypted) {
			check_pbes2(p7->d.encrypted->enc_data->algorithm);
			saw_certs++;
		} else if (OBJ_obj2nid(p7->type) == NID_pkcs7_data) {
			bags = PKCS12_unpack_p7data(p7);
			for (j = 0; bags != NULL && j < sk_PKCS12_SAFEBAG_num(bags); j++) {
				PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, j);

				CU_ASSERT_EQUAL(PKCS12_SAFEBAG_get_nid(bag),
				                NID_pkcs8ShroudedKeyBag);
				if (PKCS12_SAFEBAG_get_nid(bag) != NID_pkcs8ShroudedKeyBag)
					continue;
				X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, NULL);
				check_pbes2(alg);
				saw_key++;
			}
			sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
		}
	}
	CU_ASSERT_EQUAL(saw_certs, 1);
	CU_ASSERT_EQUAL(saw_key, 1);
	sk_PKCS7_pop_free(safes, PKCS7_free);

	/* PKCS12_parse with the right password gives the key, the certificate and the chain. */
	CU_ASSERT_EQUAL_FATAL(PKCS12_parse(p12, "s3cret pass", &key, &x, &ca), 1);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(key, leaf_key), 1);
	CU_ASSERT_EQUAL(X509_cmp(x, leaf), 0);
	CU_ASSERT_EQUAL(sk_X509_num(ca), 2);
	CU_ASSERT_STRING_EQUAL((const char *)X509_alias_get0(x, NULL), "exported");
	EVP_PKEY_free(key);
	X509_free(x);
	sk_X509_pop_free(ca, X509_free);
	PKCS12_free(p12);

	/* And certcore's own import takes it into another store. */
	key = NULL;
	CU_ASSERT_EQUAL(cc_import_read(out, len, "wrong", &certs, &key), CC_ERR_PASSWORD);
	CU_ASSERT_EQUAL_FATAL(cc_import_read(out, len, "s3cret pass", &certs, &key), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_import(s2, certs, key, &ip, thumb2, got), CC_OK);
	CU_ASSERT_STRING_EQUAL(thumb2, thumb);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s2, thumb2, &c), CC_OK);
	CU_ASSERT_TRUE(cc_cert_has_private_key(c));
	CU_ASSERT_FALSE(cc_cert_exportable(c));
	CU_ASSERT_EQUAL(sk_X509_num(cc_cert_chain(c)), 2);
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);
	OPENSSL_free(out);
	sk_X509_free(chain);
	cc_store_free(s);
	cc_store_free(s2);
	tu_rmrf(dir);
	tu_rmrf(dir2);
	free(dir);
	free(path);
	free(dir2);
	free(path2);
}

static CU_TestInfo tests[] = {
        {"read: PEM chain, PEM with a key, DER, trailing bytes", test_read_pem_der},
        {"read: PKCS#7 chain, PEM and DER; empty and wrong type", test_read_p7b},
        {"read: PKCS#12 right, wrong, missing and empty password", test_read_pkcs12},
        {"read: corrupt and truncated inputs give the library's reason", test_corrupt},
        {"read: an altered PKCS#12 is refused", test_altered_pkcs12},
        {"read: PKCS#12 iteration counts past the limits refused before the work",
         test_pkcs12_iterations_refused},
        {"read: PKCS#12 with ordinary counts, key beside or inside, PBES2 or PKCS#12 PBE",
         test_pkcs12_iterations_accepted},
        {"split: leaf and chain in any order; ambiguous sets; keys", test_split},
        {"import: a .p7b and a DER certificate complete their requests",
         test_import_completes_request},
        {"import: matching no request refused, nothing written", test_import_refused},
        {"import: PKCS#12 brings its key; exportable only when asked", test_import_pkcs12},
        {"export: refused unless exportable, with a key and a password", test_export_refused},
        {"export: AES-256-CBC, SHA-256 MAC, readable back", test_export_readable},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	int rc = tu_run("import", tests);

	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
	X509_free(stranger);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(stranger_key);
	return rc;
}

/*
 * Unit tests for certcore/src/cert.c: the properties of struct cc_cert, computed from
 * certificates the tests make themselves with OpenSSL, and checked against values the tests
 * compute independently (SHA-1 of the DER, the times and serials they set).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "testutil.h"

#define T_2023 ((time_t)1700000000) /* 2023-11-14T22:13:20Z */
#define T_2100 ((time_t)4102444800) /* 2100-01-01T00:00:00Z (GeneralizedTime) */
#define DAY    86400L

/* Leaves a known detail behind, so a later check proves the call under test set its own. */
static void
prime_detail(void)
{
	char t[CC_THUMB_LEN + 1];
	enum cc_err e = cc_thumbprint_normalize("sentinel", t);

	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "sentinel"));
}

#define ASSERT_FRESH_DETAIL()                                                                      \
	do {                                                                                       \
		CU_ASSERT(cc_errdetail()[0] != '\0');                                              \
		CU_ASSERT_PTR_NULL(strstr(cc_errdetail(), "sentinel"));                            \
	} while (0)

static X509 *
mk(const char *cn, const char *const *sans, const char *key, EVP_PKEY **k)
{
	struct tu_cert_spec spec;
	X509 *x = NULL;
	EVP_PKEY *kk = NULL;

	memset(&spec, 0, sizeof(spec));
	spec.cn = cn;
	spec.sans = sans;
	spec.key = key;
	tu_make_cert(&spec, &x, &kk);
	if (k != NULL)
		*k = kk;
	else
		EVP_PKEY_free(kk);
	return x;
}

/* A fresh X509 decoded from x's DER (drops anything OpenSSL cached about x). */
static X509 *
reparse(X509 *x)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int len = i2d_X509(x, &der);
	X509 *y;

	CU_ASSERT_FATAL(len > 0);
	p = der;
	y = d2i_X509(NULL, &p, len);
	CU_ASSERT_FATAL(y != NULL);
	OPENSSL_free(der);
	return y;
}

/* Re-signs x with `signer` and returns it decoded afresh; x is freed. */
static X509 *
resign(X509 *x, EVP_PKEY *signer)
{
	X509 *y;

	CU_ASSERT_FATAL(X509_sign(x, signer, EVP_sha256()) > 0);
	y = reparse(x);
	X509_free(x);
	return y;
}

static struct cc_cert *
wrap(X509 *x, EVP_PKEY *k)
{
	struct cc_cert *c = NULL;
	enum cc_err e = cc_cert_new(x, NULL, k, NULL, &c);

	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_FATAL(c != NULL);
	return c;
}

/* SHA-1 over i2d_X509 with EVP_Digest, upper-case hex: computed without X509_digest. */
static void
sha1_hex(X509 *x, char out[CC_THUMB_LEN + 1])
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	int len = i2d_X509(x, &der);

	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_FATAL(EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha1(), NULL) == 1);
	CU_ASSERT_FATAL(mdlen == 20);
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
	OPENSSL_free(der);
}

static unsigned char *
der_of(X509 *x, size_t *len)
{
	unsigned char *der = NULL, *copy;
	int n = i2d_X509(x, &der);

	CU_ASSERT_FATAL(n > 0);
	copy = malloc((size_t)n + 64);
	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return copy;
}

/* Sets the validity to exact times, re-signs with `signer`. */
static X509 *
set_times(X509 *x, EVP_PKEY *signer, time_t nb, time_t na)
{
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notBefore(x), nb) != NULL);
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notAfter(x), na) != NULL);
	return resign(x, signer);
}

/* Replaces the SAN with raw dNSName octets (which the OpenSSL config syntax cannot express). */
static X509 *
set_raw_sans(X509 *x, EVP_PKEY *signer, const char *const *names, const size_t *lens, size_t n)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	size_t i;

	CU_ASSERT_FATAL(gens != NULL);
	for (i = 0; i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		CU_ASSERT_FATAL(g != NULL && s != NULL);
		CU_ASSERT_FATAL(ASN1_STRING_set(s, names[i], (int)lens[i]) == 1);
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		CU_ASSERT_FATAL(sk_GENERAL_NAME_push(gens, g) > 0);
	}
	CU_ASSERT_FATAL(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_REPLACE) ==
	                1);
	GENERAL_NAMES_free(gens);
	return resign(x, signer);
}

/* --- properties of an RSA certificate ------------------------------------------------------ */

static void
test_rsa_properties(void)
{
	static const char *const sans[] = {"MAIL.contoso.com", "autodiscover.contoso.com", NULL};
	struct tu_cert_spec spec;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	struct cc_cert *c;
	char want[CC_THUMB_LEN + 1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char viadigest[CC_THUMB_LEN + 1];
	unsigned i;

	memset(&spec, 0, sizeof(spec));
	spec.cn = "mail.contoso.com";
	spec.sans = sans;
	spec.key = "rsa2048";
	spec.serial = 0x0A1B2C;
	tu_make_cert(&spec, &x, &k);
	x = set_times(x, k, T_2023, T_2100);
	c = wrap(x, NULL);

	/* Thumbprint: SHA-1 of the DER, upper-case hex, computed two independent ways. */
	sha1_hex(x, want);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), want);
	CU_ASSERT_FATAL(X509_digest(x, EVP_sha1(), md, &mdlen) == 1 && mdlen == 20);
	for (i = 0; i < mdlen; i++)
		snprintf(viadigest + 2 * i, 3, "%02X", md[i]);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), viadigest);
	CU_ASSERT_EQUAL(strlen(cc_cert_thumbprint(c)), CC_THUMB_LEN);
	CU_ASSERT_EQUAL(strspn(cc_cert_thumbprint(c), "0123456789ABCDEF"), CC_THUMB_LEN);

	CU_ASSERT_STRING_EQUAL(cc_cert_subject(c), "CN=mail.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_issuer(c), "CN=mail.contoso.com");

	/* CN first, then SANs; "MAIL.contoso.com" is the CN again in another case: dropped. */
	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 2);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "mail.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 1), "autodiscover.contoso.com");
	CU_ASSERT_PTR_NULL(cc_cert_domain(c, 2));

	CU_ASSERT_EQUAL(cc_cert_not_before(c), T_2023);
	CU_ASSERT_EQUAL(cc_cert_not_after(c), T_2100);
	CU_ASSERT_EQUAL(cc_cert_validity_days(c), (int)((T_2100 - T_2023 + DAY - 1) / DAY));
	CU_ASSERT_STRING_EQUAL(cc_cert_serial(c), "0A1B2C");
	CU_ASSERT_EQUAL(cc_cert_key_bits(c), 2048);
	CU_ASSERT_STRING_EQUAL(cc_cert_key_algorithm(c), "RSA");
	CU_ASSERT_FALSE(cc_cert_has_private_key(c));
	CU_ASSERT_PTR_NULL(cc_cert_key(c));
	CU_ASSERT_TRUE(cc_cert_is_self_signed(c));
	CU_ASSERT_EQUAL(cc_cert_root_ca_type(c), CC_ROOT_NONE);
	CU_ASSERT_EQUAL(cc_cert_status(c, time(NULL), NULL), CC_STATUS_VALID);
	CU_ASSERT_PTR_EQUAL(cc_cert_x509(c), x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cc_cert_chain(c));
	CU_ASSERT_EQUAL(sk_X509_num(cc_cert_chain(c)), 0);
	/* No meta: no services, not exportable, no name. */
	CU_ASSERT_EQUAL(cc_cert_services(c), 0);
	CU_ASSERT_FALSE(cc_cert_exportable(c));
	CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "");

	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
check_ec(const char *type, int bits)
{
	static const char *const sans[] = {"ec.contoso.com", NULL};
	X509 *x;
	EVP_PKEY *k = NULL;
	struct cc_cert *c;
	char want[CC_THUMB_LEN + 1];

	x = mk("ec.contoso.com", sans, type, &k);
	c = wrap(x, k);
	sha1_hex(x, want);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), want);
	CU_ASSERT_EQUAL(cc_cert_key_bits(c), bits);
	CU_ASSERT_STRING_EQUAL(cc_cert_key_algorithm(c), "EC");
	CU_ASSERT_TRUE(cc_cert_has_private_key(c));
	CU_ASSERT_PTR_EQUAL(cc_cert_key(c), k);
	CU_ASSERT_TRUE(cc_cert_is_self_signed(c));
	CU_ASSERT_EQUAL(cc_cert_domain_count(c), 1);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "ec.contoso.com");
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_ec_properties(void)
{
	check_ec("ec256", 256);
	check_ec("ec384", 384);
}

/* The cc_cert holds its own references: the caller's may go at once. */
static void
test_references_taken(void)
{
	X509 *x;
	EVP_PKEY *k = NULL;
	struct cc_cert *c = NULL;
	char want[CC_THUMB_LEN + 1];
	struct cc_meta meta = {0};
	char name[] = "Contoso UM";
	enum cc_err e;

	x = mk("ref.contoso.com", NULL, "ec256", &k);
	sha1_hex(x, want);
	meta.services = 0x9;
	meta.exportable = true;
	meta.friendly_name = name;
	e = cc_cert_new(x, NULL, k, &meta, &c);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	X509_free(x);
	EVP_PKEY_free(k);
	name[0] = 'X'; /* the cc_cert keeps a copy */
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), want);
	CU_ASSERT_EQUAL(X509_check_private_key(cc_cert_x509(c), cc_cert_key(c)), 1);
	CU_ASSERT_EQUAL(cc_cert_services(c), 0x9);
	CU_ASSERT_TRUE(cc_cert_exportable(c));
	CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "Contoso UM");
	cc_cert_free(c);
	cc_cert_free(NULL);
}

/* Reference counting: each cc_cert_free drops one reference, the last frees (ASan: no leak, no
 * use after free, no double free). */
static void
test_refcount(void)
{
	X509 *x;
	EVP_PKEY *k = NULL;
	struct cc_cert *c = NULL;
	char want[CC_THUMB_LEN + 1];

	x = mk("refs.contoso.com", NULL, "ec256", &k);
	sha1_hex(x, want);
	CU_ASSERT_EQUAL_FATAL(cc_cert_new(x, NULL, k, NULL, &c), CC_OK);
	X509_free(x);
	EVP_PKEY_free(k);
	CU_ASSERT_PTR_EQUAL(cc_cert_up_ref(c), c);
	CU_ASSERT_PTR_EQUAL(cc_cert_up_ref(c), c);
	/* three holders: two may go, the third still reads everything */
	cc_cert_free(c);
	cc_cert_free(c);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), want);
	CU_ASSERT_EQUAL(X509_check_private_key(cc_cert_x509(c), cc_cert_key(c)), 1);
	cc_cert_free(c);
	CU_ASSERT_PTR_NULL(cc_cert_up_ref(NULL));
}

#define REF_ROUNDS 20000

static void *
ref_churn(void *arg)
{
	struct cc_cert *c = arg;
	int i;

	for (i = 0; i < REF_ROUNDS; i++) {
		cc_cert_up_ref(c);
		cc_cert_free(c);
	}
	/* the reference main gave this thread */
	cc_cert_free(c);
	return NULL;
}

/* References are taken and dropped on several threads at once (umd's threads): the count stays
 * right, and the last holder frees, whichever thread it is. */
static void
test_refcount_threads(void)
{
	X509 *x;
	EVP_PKEY *k = NULL;
	struct cc_cert *c = NULL;
	pthread_t th[4];
	size_t i;

	x = mk("threads.contoso.com", NULL, "ec256", &k);
	CU_ASSERT_EQUAL_FATAL(cc_cert_new(x, NULL, k, NULL, &c), CC_OK);
	X509_free(x);
	EVP_PKEY_free(k);
	for (i = 0; i < 4; i++) {
		cc_cert_up_ref(c);
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, ref_churn, c), 0);
	}
	/* main's own reference goes while the threads run */
	cc_cert_free(c);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
}

/* --- CertificateDomains -------------------------------------------------------------------- */

static void
test_domains_cn_only(void)
{
	X509 *x = mk("cnonly.contoso.com", NULL, "ec256", NULL);
	struct cc_cert *c = wrap(x, NULL);

	CU_ASSERT_EQUAL(cc_cert_domain_count(c), 1);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "cnonly.contoso.com");
	CU_ASSERT_TRUE(cc_cert_matches_host(c, "cnonly.contoso.com"));
	cc_cert_free(c);
	X509_free(x);
}

static void
test_domains_san_only(void)
{
	static const char *const sans[] = {"b.contoso.com", "a.contoso.com", "B.CONTOSO.COM", NULL};
	X509 *x = mk(NULL, sans, "ec256", NULL);
	struct cc_cert *c = wrap(x, NULL);

	/* No CN: the SANs in certificate order, deduplicated case-insensitively. */
	CU_ASSERT_STRING_EQUAL(cc_cert_subject(c), "O=umedge tests");
	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 2);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "b.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 1), "a.contoso.com");
	cc_cert_free(c);
	X509_free(x);
}

static void
test_domains_cn_first(void)
{
	static const char *const sans[] = {"a.contoso.com", "*.contoso.com", "Z.Contoso.Com",
	                                   "a.contoso.com", NULL};
	X509 *x = mk("z.contoso.com", sans, "ec256", NULL);
	struct cc_cert *c = wrap(x, NULL);

	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 3);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "z.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 1), "a.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 2), "*.contoso.com");
	cc_cert_free(c);
	X509_free(x);
}

/* CertificateDomains holds DNS names: a CN that is no host name is not one of them. */
static void
test_domains_cn_not_host_name(void)
{
	static const char *const sans[] = {"mail.contoso.com", NULL};
	X509 *x = mk("Contoso Mail", sans, "ec256", NULL);
	struct cc_cert *c = wrap(x, NULL);

	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 1);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "mail.contoso.com");
	cc_cert_free(c);
	X509_free(x);
	/* Nor are "-bad.contoso.com", "a..b" or an underscore name; a short host name is. */
	x = mk("-bad.contoso.com", NULL, "ec256", NULL);
	c = wrap(x, NULL);
	CU_ASSERT_EQUAL(cc_cert_domain_count(c), 0);
	cc_cert_free(c);
	X509_free(x);
	x = mk("a..b", NULL, "ec256", NULL);
	c = wrap(x, NULL);
	CU_ASSERT_EQUAL(cc_cert_domain_count(c), 0);
	cc_cert_free(c);
	X509_free(x);
	x = mk("um_1.contoso.com", NULL, "ec256", NULL);
	c = wrap(x, NULL);
	CU_ASSERT_EQUAL(cc_cert_domain_count(c), 0);
	cc_cert_free(c);
	X509_free(x);
	x = mk("um1", NULL, "ec256", NULL);
	c = wrap(x, NULL);
	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 1);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "um1");
	cc_cert_free(c);
	X509_free(x);
}

/* Two CNs, in subject order, both before the SANs. */
static void
test_domains_two_cns(void)
{
	static const char *const sans[] = {"san.contoso.com", NULL};
	EVP_PKEY *k = NULL;
	X509 *x = mk("one.contoso.com", sans, "ec256", &k);
	X509_NAME *n = X509_NAME_dup(X509_get_subject_name(x));
	struct cc_cert *c;

	CU_ASSERT_FATAL(n != NULL);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	                                           (const unsigned char *)"two.contoso.com", -1, -1,
	                                           0) == 1);
	CU_ASSERT_FATAL(X509_set_subject_name(x, n) == 1 && X509_set_issuer_name(x, n) == 1);
	X509_NAME_free(n);
	x = resign(x, k);
	c = wrap(x, NULL);
	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 3);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "one.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 1), "two.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 2), "san.contoso.com");
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

/*
 * dNSName is an IA5String: names with a NUL, a control character or a byte above 0x7f are not
 * host names and must not reach CertificateDomains (where they would forge output lines or
 * break JSON).
 */
static void
test_domains_bad_octets_skipped(void)
{
	static const char *const names[] = {"ok.contoso.com",       "evil.com\0.contoso.com",
	                                    "line\nStatus : Valid", "caf\xe9.contoso.com",
	                                    "\x7f.contoso.com",     "last.contoso.com"};
	static const size_t lens[] = {14, 21, 19, 16, 13, 16};
	EVP_PKEY *k = NULL;
	X509 *x = mk("cn.contoso.com", NULL, "ec256", &k);
	struct cc_cert *c;
	size_t i;

	x = set_raw_sans(x, k, names, lens, 6);
	c = wrap(x, NULL);
	CU_ASSERT_EQUAL(cc_cert_domain_count(c), 3);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "cn.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 1), "ok.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 2), "last.contoso.com");
	for (i = 0; i < cc_cert_domain_count(c); i++)
		CU_ASSERT_PTR_NULL(strpbrk(cc_cert_domain(c, i), "\n\x7f\xe9"));
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);

	/*
	 * A CN with a control character names no domain, nor does a UTF-8 CN: CertificateDomains
	 * holds DNS names (RFC 1123 host names; an IDN is one in its A-label form).
	 */
	x = mk("evil.com\nStatus : Valid", NULL, "ec256", NULL);
	c = wrap(x, NULL);
	CU_ASSERT_EQUAL(cc_cert_domain_count(c), 0);
	CU_ASSERT_PTR_NULL(strchr(cc_cert_subject(c), '\n'));
	cc_cert_free(c);
	X509_free(x);
	x = mk("m\xc3\xbcller.contoso.com", NULL, "ec256", NULL);
	c = wrap(x, NULL);
	CU_ASSERT_EQUAL(cc_cert_domain_count(c), 0);
	cc_cert_free(c);
	X509_free(x);
	x = mk("xn--mller-kva.contoso.com", NULL, "ec256", NULL);
	c = wrap(x, NULL);
	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 1);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "xn--mller-kva.contoso.com");
	cc_cert_free(c);
	X509_free(x);
}

/* --- Subject and Issuer -------------------------------------------------------------------- */

static void
test_subject_rfc2253(void)
{
	EVP_PKEY *k = NULL;
	X509 *x = mk("ignored", NULL, "ec256", &k);
	X509_NAME *n = X509_NAME_new();
	struct cc_cert *c;

	CU_ASSERT_FATAL(n != NULL);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC,
	                                           (const unsigned char *)"US", -1, -1, 0) == 1);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	                                           (const unsigned char *)"Contoso, Ltd", -1, -1,
	                                           0) == 1);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	                                           (const unsigned char *)"mail.contoso.com", -1,
	                                           -1, 0) == 1);
	CU_ASSERT_FATAL(X509_set_subject_name(x, n) == 1 && X509_set_issuer_name(x, n) == 1);
	X509_NAME_free(n);
	x = resign(x, k);
	c = wrap(x, NULL);
	/* RFC 2253: last RDN first, ',' between RDNs, a ',' in a value escaped. */
	CU_ASSERT_STRING_EQUAL(cc_cert_subject(c), "CN=mail.contoso.com,O=Contoso\\, Ltd,C=US");
	CU_ASSERT_STRING_EQUAL(cc_cert_issuer(c), cc_cert_subject(c));
	CU_ASSERT_EQUAL(cc_cert_domain_count(c), 1);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "mail.contoso.com");
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* --- self-signed, CA-issued, self-issued under another key; Status and RootCAType ---------- */

struct ca {
	X509 *x;
	EVP_PKEY *k;
};

static struct ca
make_ca(const char *cn)
{
	struct tu_cert_spec spec;
	struct ca ca = {NULL, NULL};

	memset(&spec, 0, sizeof(spec));
	spec.cn = cn;
	spec.key = "ec256";
	spec.ca = true;
	spec.eku = "";
	tu_make_cert(&spec, &ca.x, &ca.k);
	return ca;
}

static X509 *
issue(const struct ca *ca, const char *cn, long nb, long na, EVP_PKEY **k)
{
	struct tu_cert_spec spec;
	X509 *x = NULL;
	EVP_PKEY *kk = NULL;

	memset(&spec, 0, sizeof(spec));
	spec.cn = cn;
	spec.key = "ec256";
	spec.issuer = ca->x;
	spec.issuer_key = ca->k;
	spec.not_before_offset = nb;
	spec.not_after_offset = na;
	tu_make_cert(&spec, &x, &kk);
	if (k != NULL)
		*k = kk;
	else
		EVP_PKEY_free(kk);
	return x;
}

static void
test_ca_issued(void)
{
	struct ca ca = make_ca("Contoso Root CA");
	EVP_PKEY *k = NULL;
	X509 *leaf = issue(&ca, "leaf.contoso.com", -DAY, 30 * DAY, &k);
	struct cc_cert *c = wrap(leaf, k), *root = wrap(ca.x, ca.k);
	const char *reason = NULL;

	CU_ASSERT_FALSE(cc_cert_is_self_signed(c));
	CU_ASSERT_STRING_EQUAL(cc_cert_issuer(c), "CN=Contoso Root CA");
	CU_ASSERT_STRING_EQUAL(cc_cert_subject(c), "CN=leaf.contoso.com");
	CU_ASSERT_EQUAL(cc_cert_status(c, time(NULL), &reason), CC_STATUS_UNKNOWN);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reason);
	CU_ASSERT(reason[0] != '\0');
	CU_ASSERT_EQUAL(cc_cert_root_ca_type(c), CC_ROOT_UNKNOWN);
	CU_ASSERT_TRUE(cc_cert_has_private_key(c));

	/* The root itself is self-signed. */
	CU_ASSERT_TRUE(cc_cert_is_self_signed(root));
	CU_ASSERT_EQUAL(cc_cert_status(root, time(NULL), NULL), CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_cert_root_ca_type(root), CC_ROOT_NONE);

	/* A CA-issued certificate out of its dates is DateInvalid, not Unknown. */
	CU_ASSERT_EQUAL(cc_cert_status(c, time(NULL) + 60 * DAY, &reason), CC_STATUS_DATE_INVALID);
	CU_ASSERT(reason != NULL && reason[0] != '\0');
	CU_ASSERT_EQUAL(cc_cert_status(c, time(NULL) - 2 * DAY, &reason), CC_STATUS_DATE_INVALID);

	cc_cert_free(c);
	cc_cert_free(root);
	X509_free(leaf);
	EVP_PKEY_free(k);
	X509_free(ca.x);
	EVP_PKEY_free(ca.k);
}

/* Issuer == subject, but signed by another key: not self-signed, and Invalid. */
static void
check_self_issued_other_key(const char *leaf_key, const char *signer_key)
{
	struct tu_cert_spec spec;
	X509 *signer = NULL, *x = NULL;
	EVP_PKEY *sk = NULL, *k = NULL;
	struct cc_cert *c;
	const char *reason = NULL;

	memset(&spec, 0, sizeof(spec));
	spec.cn = "x.contoso.com";
	spec.key = signer_key;
	tu_make_cert(&spec, &signer, &sk);
	spec.key = leaf_key;
	spec.issuer = signer; /* its subject, CN=x.contoso.com, is the leaf's too */
	spec.issuer_key = sk;
	tu_make_cert(&spec, &x, &k);
	CU_ASSERT_EQUAL_FATAL(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);

	c = wrap(x, k);
	CU_ASSERT_FALSE(cc_cert_is_self_signed(c));
	CU_ASSERT_EQUAL(cc_cert_status(c, time(NULL), &reason), CC_STATUS_INVALID);
	CU_ASSERT(reason != NULL && reason[0] != '\0');
	CU_ASSERT_NOT_EQUAL(cc_cert_root_ca_type(c), CC_ROOT_NONE);
	/* Invalid outranks DateInvalid: a forged certificate is never "only expired". */
	CU_ASSERT_EQUAL(cc_cert_status(c, time(NULL) + 400 * DAY, NULL), CC_STATUS_INVALID);
	cc_cert_free(c);
	X509_free(x);
	X509_free(signer);
	EVP_PKEY_free(k);
	EVP_PKEY_free(sk);
}

static void
test_self_issued_other_key(void)
{
	check_self_issued_other_key("ec256", "ec256");
	/* The signature algorithm does not even fit the certificate's key. */
	check_self_issued_other_key("ec256", "rsa1024");
	check_self_issued_other_key("rsa1024", "ec256");
}

static void
test_status_dates(void)
{
	struct tu_cert_spec spec;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	struct cc_cert *c;
	const char *reason = NULL;
	time_t now = time(NULL);

	/* Expired yesterday. */
	memset(&spec, 0, sizeof(spec));
	spec.cn = "old.contoso.com";
	spec.key = "ec256";
	spec.not_before_offset = -10 * DAY;
	spec.not_after_offset = -DAY;
	tu_make_cert(&spec, &x, &k);
	c = wrap(x, k);
	CU_ASSERT_TRUE(cc_cert_is_self_signed(c));
	CU_ASSERT_EQUAL(cc_cert_status(c, now, &reason), CC_STATUS_DATE_INVALID);
	CU_ASSERT_PTR_NOT_NULL(reason != NULL ? strstr(reason, "expired") : NULL);
	CU_ASSERT_EQUAL(cc_cert_status(c, now - 5 * DAY, &reason), CC_STATUS_VALID);
	CU_ASSERT_STRING_EQUAL(reason, "");
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);

	/* Not yet valid: starts tomorrow. */
	spec.cn = "new.contoso.com";
	spec.not_before_offset = DAY;
	spec.not_after_offset = 10 * DAY;
	tu_make_cert(&spec, &x, &k);
	c = wrap(x, k);
	CU_ASSERT_EQUAL(cc_cert_status(c, now, &reason), CC_STATUS_DATE_INVALID);
	CU_ASSERT_PTR_NOT_NULL(reason != NULL ? strstr(reason, "not yet valid") : NULL);
	CU_ASSERT_EQUAL(cc_cert_status(c, now + 2 * DAY, NULL), CC_STATUS_VALID);
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);

	/* The bounds themselves are inside the validity period. */
	x = mk("edge.contoso.com", NULL, "ec256", &k);
	x = set_times(x, k, T_2023, T_2023 + 10 * DAY);
	c = wrap(x, k);
	CU_ASSERT_EQUAL(cc_cert_status(c, T_2023, NULL), CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_cert_status(c, T_2023 + 10 * DAY, NULL), CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_cert_status(c, T_2023 - 1, NULL), CC_STATUS_DATE_INVALID);
	CU_ASSERT_EQUAL(cc_cert_status(c, T_2023 + 10 * DAY + 1, NULL), CC_STATUS_DATE_INVALID);
	CU_ASSERT_EQUAL(cc_cert_validity_days(c), 10);
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_names(void)
{
	CU_ASSERT_STRING_EQUAL(cc_status_name(CC_STATUS_VALID), "Valid");
	CU_ASSERT_STRING_EQUAL(cc_status_name(CC_STATUS_UNKNOWN), "Unknown");
	CU_ASSERT_STRING_EQUAL(cc_status_name(CC_STATUS_REVOKED), "Revoked");
	CU_ASSERT_STRING_EQUAL(cc_status_name(CC_STATUS_DATE_INVALID), "DateInvalid");
	CU_ASSERT_STRING_EQUAL(cc_status_name(CC_STATUS_UNTRUSTED), "Untrusted");
	CU_ASSERT_STRING_EQUAL(cc_status_name(CC_STATUS_INVALID), "Invalid");
	CU_ASSERT_STRING_EQUAL(cc_status_name(CC_STATUS_PENDING_REQUEST), "PendingRequest");
	CU_ASSERT_STRING_EQUAL(cc_status_name((enum cc_status)99), "Unknown");
	CU_ASSERT_STRING_EQUAL(cc_root_ca_type_name(CC_ROOT_NONE), "None");
	CU_ASSERT_STRING_EQUAL(cc_root_ca_type_name(CC_ROOT_REGISTRY), "Registry");
	CU_ASSERT_STRING_EQUAL(cc_root_ca_type_name(CC_ROOT_THIRD_PARTY), "ThirdParty");
	CU_ASSERT_STRING_EQUAL(cc_root_ca_type_name(CC_ROOT_GROUP_POLICY), "GroupPolicy");
	CU_ASSERT_STRING_EQUAL(cc_root_ca_type_name(CC_ROOT_ENTERPRISE), "Enterprise");
	CU_ASSERT_STRING_EQUAL(cc_root_ca_type_name(CC_ROOT_UNKNOWN), "Unknown");
	CU_ASSERT_STRING_EQUAL(cc_root_ca_type_name((enum cc_root_ca_type)99), "Unknown");
}

/* --- serial numbers ------------------------------------------------------------------------ */

static void
check_serial(long serial, const char *want)
{
	struct tu_cert_spec spec;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	struct cc_cert *c;

	memset(&spec, 0, sizeof(spec));
	spec.cn = "serial.contoso.com";
	spec.key = "ec256";
	spec.serial = serial;
	tu_make_cert(&spec, &x, &k);
	c = wrap(x, NULL);
	CU_ASSERT_STRING_EQUAL(cc_cert_serial(c), want);
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_serial(void)
{
	check_serial(0x0A1B2C, "0A1B2C");
	check_serial(0x01, "01");
	check_serial(0xFF00, "FF00"); /* DER adds a 00 octet; openssl -serial does not print it */
	check_serial(0x7FFFFFFFL, "7FFFFFFF");
	check_serial(-5, "-05");
}

/* --- cc_cert_new errors -------------------------------------------------------------------- */

static void
test_key_mismatch(void)
{
	EVP_PKEY *k = NULL, *other = NULL, *rsa;
	X509 *x = mk("km.contoso.com", NULL, "ec256", &k);
	X509 *y = mk("km2.contoso.com", NULL, "ec256", &other);
	struct cc_cert *c = (struct cc_cert *)1;
	enum cc_err e;

	prime_detail();
	e = cc_cert_new(x, NULL, other, NULL, &c);
	CU_ASSERT_EQUAL(e, CC_ERR_KEY_MISMATCH);
	CU_ASSERT_PTR_NULL(c);
	ASSERT_FRESH_DETAIL();

	/* A key of another algorithm. */
	rsa = tu_make_key("rsa1024");
	c = (struct cc_cert *)1;
	prime_detail();
	e = cc_cert_new(x, NULL, rsa, NULL, &c);
	CU_ASSERT_EQUAL(e, CC_ERR_KEY_MISMATCH);
	CU_ASSERT_PTR_NULL(c);
	ASSERT_FRESH_DETAIL();

	/* No certificate at all. */
	c = (struct cc_cert *)1;
	e = cc_cert_new(NULL, NULL, NULL, NULL, &c);
	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(c);

	/* The right key is accepted. */
	e = cc_cert_new(x, NULL, k, NULL, &c);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_TRUE(cc_cert_has_private_key(c));
	cc_cert_free(c);

	X509_free(x);
	X509_free(y);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	EVP_PKEY_free(rsa);
}

/* --- cc_cert_new_from_bytes ---------------------------------------------------------------- */

static void
test_from_pem_and_der(void)
{
	static const char *const sans[] = {"bytes.contoso.com", NULL};
	X509 *x = mk("bytes.contoso.com", sans, "ec256", NULL);
	char *pem = tu_cert_pem(x);
	char want[CC_THUMB_LEN + 1];
	unsigned char *der;
	size_t dlen = 0;
	struct cc_cert *c = NULL;
	enum cc_err e;

	sha1_hex(x, want);
	e = cc_cert_new_from_bytes((const unsigned char *)pem, strlen(pem), &c);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), want);
	CU_ASSERT_EQUAL(sk_X509_num(cc_cert_chain(c)), 0);
	CU_ASSERT_FALSE(cc_cert_has_private_key(c));
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "bytes.contoso.com");
	cc_cert_free(c);

	der = der_of(x, &dlen);
	e = cc_cert_new_from_bytes(der, dlen, &c);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), want);
	CU_ASSERT_EQUAL(sk_X509_num(cc_cert_chain(c)), 0);
	cc_cert_free(c);

	free(der);
	free(pem);
	X509_free(x);
}

static char *
concat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	CU_ASSERT_FATAL(s != NULL);
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

static void
test_from_pem_chain(void)
{
	struct ca root = make_ca("Root CA"), inter = {NULL, NULL};
	struct tu_cert_spec spec;
	X509 *leaf;
	char *pl, *pi, *pr, *all, *key, *withkey, *badtail;
	char want[CC_THUMB_LEN + 1];
	struct cc_cert *c = NULL;
	X509_NAME *n;
	enum cc_err e;

	memset(&spec, 0, sizeof(spec));
	spec.cn = "Intermediate CA";
	spec.key = "ec256";
	spec.ca = true;
	spec.issuer = root.x;
	spec.issuer_key = root.k;
	tu_make_cert(&spec, &inter.x, &inter.k);
	leaf = issue(&inter, "chain.contoso.com", -DAY, 30 * DAY, NULL);
	sha1_hex(leaf, want);
	pl = tu_cert_pem(leaf);
	pi = tu_cert_pem(inter.x);
	pr = tu_cert_pem(root.x);

	all = concat3(pl, pi, pr);
	e = cc_cert_new_from_bytes((const unsigned char *)all, strlen(all), &c);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), want);
	CU_ASSERT_EQUAL_FATAL(sk_X509_num(cc_cert_chain(c)), 2);
	n = X509_get_subject_name(sk_X509_value(cc_cert_chain(c), 0));
	CU_ASSERT_EQUAL(X509_NAME_cmp(n, X509_get_subject_name(inter.x)), 0);
	n = X509_get_subject_name(sk_X509_value(cc_cert_chain(c), 1));
	CU_ASSERT_EQUAL(X509_NAME_cmp(n, X509_get_subject_name(root.x)), 0);
	CU_ASSERT_STRING_EQUAL(cc_cert_issuer(c), "CN=Intermediate CA");
	cc_cert_free(c);

	/* Another PEM block (a key) before the certificate is skipped. */
	key = tu_key_pem(inter.k);
	withkey = concat3(key, pl, pi);
	e = cc_cert_new_from_bytes((const unsigned char *)withkey, strlen(withkey), &c);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), want);
	CU_ASSERT_EQUAL(sk_X509_num(cc_cert_chain(c)), 1);
	cc_cert_free(c);

	/* A damaged second certificate fails the whole input. */
	badtail = concat3(pl, "-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n",
	                  "");
	c = (struct cc_cert *)1;
	prime_detail();
	e = cc_cert_new_from_bytes((const unsigned char *)badtail, strlen(badtail), &c);
	CU_ASSERT_EQUAL(e, CC_ERR_PARSE);
	CU_ASSERT_PTR_NULL(c);
	ASSERT_FRESH_DETAIL();

	/* Only a key: no certificate. */
	c = (struct cc_cert *)1;
	prime_detail();
	e = cc_cert_new_from_bytes((const unsigned char *)key, strlen(key), &c);
	CU_ASSERT_EQUAL(e, CC_ERR_PARSE);
	CU_ASSERT_PTR_NULL(c);
	ASSERT_FRESH_DETAIL();

	free(pl);
	free(pi);
	free(pr);
	free(all);
	free(key);
	free(withkey);
	free(badtail);
	X509_free(leaf);
	X509_free(inter.x);
	EVP_PKEY_free(inter.k);
	X509_free(root.x);
	EVP_PKEY_free(root.k);
}

#define ASSERT_PARSE_FAILS(buf, len)                                                               \
	do {                                                                                       \
		struct cc_cert *c_ = (struct cc_cert *)1;                                          \
		enum cc_err e_;                                                                    \
		prime_detail();                                                                    \
		e_ = cc_cert_new_from_bytes((buf), (len), &c_);                                    \
		CU_ASSERT_EQUAL(e_, CC_ERR_PARSE);                                                 \
		CU_ASSERT_PTR_NULL(c_);                                                            \
		ASSERT_FRESH_DETAIL();                                                             \
		cc_cert_free(e_ == CC_OK ? c_ : NULL);                                             \
	} while (0)

static void
test_from_bytes_bad(void)
{
	X509 *x = mk("bad.contoso.com", NULL, "ec256", NULL);
	unsigned char *der;
	size_t dlen = 0, i;
	char *pem = tu_cert_pem(x);
	static const unsigned char garbage[] = "this is not a certificate at all";
	static const unsigned char empty[1] = {0};

	der = der_of(x, &dlen);
	/* Truncated DER, at several points. */
	ASSERT_PARSE_FAILS(der, dlen - 1);
	ASSERT_PARSE_FAILS(der, dlen / 2);
	ASSERT_PARSE_FAILS(der, 1);
	/* Garbage and empty input. */
	ASSERT_PARSE_FAILS(garbage, sizeof(garbage) - 1);
	ASSERT_PARSE_FAILS(empty, 0);
	ASSERT_PARSE_FAILS(NULL, 0);
	/* DER followed by trailing bytes. */
	memcpy(der + dlen, "\x00\x01\x02\x03", 4);
	ASSERT_PARSE_FAILS(der, dlen + 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "trailing"));
	/* One trailing byte is as bad. */
	ASSERT_PARSE_FAILS(der, dlen + 1);
	/* PEM cut in the middle of its base64, and PEM whose base64 was damaged. */
	ASSERT_PARSE_FAILS((const unsigned char *)pem, strlen(pem) / 2);
	for (i = 40; i < 60; i++)
		pem[i] = '!';
	ASSERT_PARSE_FAILS((const unsigned char *)pem, strlen(pem));
	/* A BEGIN line and nothing else. */
	ASSERT_PARSE_FAILS((const unsigned char *)"-----BEGIN CERTIFICATE-----\n", 28);

	free(der);
	free(pem);
	X509_free(x);
}

/* --- host matching ------------------------------------------------------------------------- */

static void
test_matches_host(void)
{
	static const char *const sans[] = {"*.contoso.com", "autodiscover.fabrikam.com", NULL};
	static const char *const partial[] = {"f*.contoso.com", NULL};
	static const char *const plain[] = {"mail.fabrikam.com", NULL};
	X509 *x = mk("mail.northwind.com", sans, "ec256", NULL);
	X509 *y = mk(NULL, partial, "ec256", NULL);
	X509 *z = mk(NULL, plain, "ec256", NULL);
	struct cc_cert *c = wrap(x, NULL), *p = wrap(y, NULL), *q = wrap(z, NULL);

	/* Exact, any case. */
	CU_ASSERT_TRUE(cc_cert_matches_host(c, "autodiscover.fabrikam.com"));
	CU_ASSERT_TRUE(cc_cert_matches_host(c, "AutoDiscover.FABRIKAM.com"));
	/* The CN counts although SANs are present. */
	CU_ASSERT_TRUE(cc_cert_matches_host(c, "mail.northwind.com"));
	CU_ASSERT_TRUE(cc_cert_matches_host(c, "MAIL.Northwind.COM"));
	/* A wildcard covers exactly one left-most label. */
	CU_ASSERT_TRUE(cc_cert_matches_host(c, "a.contoso.com"));
	CU_ASSERT_TRUE(cc_cert_matches_host(c, "A.Contoso.Com"));
	CU_ASSERT_FALSE(cc_cert_matches_host(c, "a.b.contoso.com"));
	CU_ASSERT_FALSE(cc_cert_matches_host(c, "contoso.com"));
	CU_ASSERT_FALSE(cc_cert_matches_host(c, ".contoso.com"));
	CU_ASSERT_FALSE(cc_cert_matches_host(c, "a.contoso.com.evil.com"));
	/* Wrong host, near misses, nothing. */
	CU_ASSERT_FALSE(cc_cert_matches_host(c, "fabrikam.com"));
	CU_ASSERT_FALSE(cc_cert_matches_host(c, "xautodiscover.fabrikam.com"));
	CU_ASSERT_FALSE(cc_cert_matches_host(c, "northwind.com"));
	CU_ASSERT_FALSE(cc_cert_matches_host(c, "mail.northwind.co"));
	CU_ASSERT_FALSE(cc_cert_matches_host(c, ""));
	CU_ASSERT_FALSE(cc_cert_matches_host(c, NULL));
	/* A partial wildcard never matches. */
	CU_ASSERT_FALSE(cc_cert_matches_host(p, "foo.contoso.com"));
	CU_ASSERT_FALSE(cc_cert_matches_host(p, "f.contoso.com"));
	CU_ASSERT_FALSE(cc_cert_matches_host(p, "f*.contoso.com"));
	CU_ASSERT_FALSE(cc_cert_matches_host(p, "bar.contoso.com"));
	/* A leading '.' is no host name (OpenSSL would read it as "any subdomain of"). */
	CU_ASSERT_FALSE(cc_cert_matches_host(q, ".fabrikam.com"));
	CU_ASSERT_FALSE(cc_cert_matches_host(q, ".com"));
	CU_ASSERT_TRUE(cc_cert_matches_host(q, "mail.fabrikam.com"));
	/* Nor does a '*' in the name asked for match a wildcard literally. */
	CU_ASSERT_FALSE(cc_cert_matches_host(c, "*.contoso.com"));
	cc_cert_free(c);
	cc_cert_free(p);
	cc_cert_free(q);
	X509_free(x);
	X509_free(y);
	X509_free(z);
}

/* --- thumbprints and times ----------------------------------------------------------------- */

#define THUMB "0123456789ABCDEF0123456789ABCDEF01234567"

static void
test_thumbprint_normalize(void)
{
	static const char *const good[] = {
	        THUMB,
	        "0123456789abcdef0123456789abcdef01234567",
	        "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:01:23:45:67",
	        "01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67",
	        "0123-4567-89ab-cdef-0123-4567-89ab-cdef-0123-4567",
	        " 0123456789abcdef0123456789abcdef01234567 ",
	};
	static const char *const bad[] = {
	        "0123456789ABCDEF0123456789ABCDEF0123456",   /* 39 digits */
	        "0123456789ABCDEF0123456789ABCDEF012345678", /* 41 digits */
	        "0123456789ABCDEF0123456789ABCDEF0123456G",  /* not hex */
	        "0123456789ABCDEF0123456789ABCDEF0123456x",
	        "0x0123456789ABCDEF0123456789ABCDEF012345",
	        "01.23456789ABCDEF0123456789ABCDEF01234567",
	        "",
	        "::::",
	        "0123456789ABCDEF0123456789ABCDEF01234567\xc3\xa9",
	};
	char out[CC_THUMB_LEN + 1];
	size_t i;
	enum cc_err e;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(out, 'z', sizeof(out));
		e = cc_thumbprint_normalize(good[i], out);
		CU_ASSERT_EQUAL(e, CC_OK);
		CU_ASSERT_NSTRING_EQUAL(out, THUMB, sizeof(out));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 'z', sizeof(out));
		prime_detail();
		e = cc_thumbprint_normalize(bad[i], out);
		CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
		/* Nothing usable is left in out. */
		CU_ASSERT_EQUAL(out[0], '\0');
		if (bad[i][0] != '\0')
			CU_ASSERT_PTR_NULL(strstr(cc_errdetail(), "sentinel"));
		CU_ASSERT(cc_errdetail()[0] != '\0');
	}
	e = cc_thumbprint_normalize(NULL, out);
	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
}

static void
test_time_iso8601(void)
{
	char buf[32];

	CU_ASSERT_STRING_EQUAL(cc_time_iso8601(0, buf), "1970-01-01T00:00:00Z");
	CU_ASSERT_PTR_EQUAL(cc_time_iso8601(0, buf), buf);
	CU_ASSERT_STRING_EQUAL(cc_time_iso8601(T_2023, buf), "2023-11-14T22:13:20Z");
	CU_ASSERT_STRING_EQUAL(cc_time_iso8601(T_2100, buf), "2100-01-01T00:00:00Z");
	CU_ASSERT_STRING_EQUAL(cc_time_iso8601((time_t)1795863600, buf), "2026-11-28T11:00:00Z");
	CU_ASSERT_STRING_EQUAL(cc_time_iso8601((time_t)951782400, buf), "2000-02-29T00:00:00Z");
	CU_ASSERT_STRING_EQUAL(cc_time_iso8601((time_t)-1, buf), "1969-12-31T23:59:59Z");
}

static CU_TestInfo tests[] = {
        {"RSA 2048: thumbprint, names, times, serial, size", test_rsa_properties},
        {"EC P-256 and P-384", test_ec_properties},
        {"cc_cert_new takes its own references", test_references_taken},
        {"reference counted: the last cc_cert_free frees", test_refcount},
        {"references taken and dropped on several threads", test_refcount_threads},
        {"domains: CN only", test_domains_cn_only},
        {"domains: SAN only, deduplicated", test_domains_san_only},
        {"domains: CN first, wildcard SAN, case-insensitive dedup", test_domains_cn_first},
        {"domains: a CN that is no host name is none", test_domains_cn_not_host_name},
        {"domains: two CNs", test_domains_two_cns},
        {"domains: NUL, control and non-ASCII dNSNames skipped", test_domains_bad_octets_skipped},
        {"subject and issuer: RFC 2253", test_subject_rfc2253},
        {"CA-issued: not self-signed, Unknown", test_ca_issued},
        {"self-issued under another key: Invalid", test_self_issued_other_key},
        {"status: expired, not yet valid, bounds", test_status_dates},
        {"status and root type names", test_names},
        {"serial numbers", test_serial},
        {"key mismatch", test_key_mismatch},
        {"from bytes: PEM and DER", test_from_pem_and_der},
        {"from bytes: PEM chain", test_from_pem_chain},
        {"from bytes: truncated, garbage, empty, trailing", test_from_bytes_bad},
        {"host matching", test_matches_host},
        {"thumbprint normalisation", test_thumbprint_normalize},
        {"ISO 8601 times", test_time_iso8601},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("cert", tests);
}

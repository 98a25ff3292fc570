/*
 * Unit tests for certcore/src/selfsigned.c: self-signed certificates (New-ExchangeCertificate),
 * X.500 subjects, domain checks, key types, and renewal (clone) in a temporary store. Every
 * property is read back from the certificate with OpenSSL, not only through certcore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "testutil.h"

#define T0  ((time_t)1700000000) /* 2023-11-14T22:13:20Z */
#define DAY 86400L

static void
prime_detail(void)
{
	enum cc_key_type t;
	enum cc_err e = cc_key_type_parse("sentinel", &t);

	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "sentinel"));
}

#define ASSERT_FRESH_DETAIL()                                                                      \
	do {                                                                                       \
		CU_ASSERT(cc_errdetail()[0] != '\0');                                              \
		CU_ASSERT_PTR_NULL(strstr(cc_errdetail(), "sentinel"));                            \
	} while (0)

static void
params(struct cc_new_params *p, const char *const *domains, size_t n, enum cc_key_type kt)
{
	memset(p, 0, sizeof(*p));
	p->domains = domains;
	p->ndomains = n;
	p->key_type = kt;
	p->now = T0;
}

static void
create_ok(const struct cc_new_params *p, X509 **x, EVP_PKEY **k)
{
	enum cc_err e = cc_selfsigned_create(p, x, k);

	if (e != CC_OK)
		fprintf(stderr, "\ncc_selfsigned_create: %s\n", cc_errdetail());
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_FATAL(*x != NULL && *k != NULL);
}

/* Expects cc_selfsigned_create to fail with `want`, leaving both outputs NULL. */
static void
create_fails(const struct cc_new_params *p, enum cc_err want, const char *label)
{
	X509 *x = (X509 *)1;
	EVP_PKEY *k = (EVP_PKEY *)1;
	enum cc_err e;

	prime_detail();
	e = cc_selfsigned_create(p, &x, &k);
	if (e != want)
		fprintf(stderr, "\n%s: got %d (%s), want %d\n", label, (int)e, cc_errdetail(),
		        (int)want);
	CU_ASSERT_EQUAL(e, want);
	CU_ASSERT_PTR_NULL(x);
	CU_ASSERT_PTR_NULL(k);
	ASSERT_FRESH_DETAIL();
	if (e == CC_OK) {
		X509_free(x);
		EVP_PKEY_free(k);
	}
}

static struct cc_cert *
wrap(X509 *x, EVP_PKEY *k)
{
	struct cc_cert *c = NULL;
	enum cc_err e = cc_cert_new(x, NULL, k, NULL, &c);

	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	return c;
}

/* The SAN dNSNames, in order, joined with ','; "" when there is no SAN. Owned. */
static char *
san_text(X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char *s = calloc(1, 4096);
	size_t used = 0;
	int i;

	CU_ASSERT_FATAL(s != NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		CU_ASSERT_EQUAL(g->type, GEN_DNS);
		if (g->type != GEN_DNS)
			continue;
		used += (size_t)snprintf(s + used, 4096 - used, "%s%.*s", used ? "," : "",
		                         ASN1_STRING_length(g->d.dNSName),
		                         (const char *)ASN1_STRING_get0_data(g->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return s;
}

static char *
name_2253(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *m;
	char *s;

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0);
	BIO_get_mem_ptr(b, &m);
	s = strndup(m->data, m->length);
	CU_ASSERT_FATAL(s != NULL);
	BIO_free(b);
	return s;
}

/* Entry i of a name: its NID, its value (NUL-terminated into buf), its RDN set number. */
static int
entry(const X509_NAME *n, int i, char *buf, size_t len, int *set)
{
	const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
	const ASN1_STRING *v;

	CU_ASSERT_FATAL(e != NULL);
	v = X509_NAME_ENTRY_get_data(e);
	snprintf(buf, len, "%.*s", ASN1_STRING_length(v), (const char *)ASN1_STRING_get0_data(v));
	if (set != NULL)
		*set = X509_NAME_ENTRY_set(e);
	return OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
}

static bool
ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	CU_ASSERT_FATAL(i >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i)) == 1;
}

/* --- defaults ------------------------------------------------------------------------------ */

static void
test_defaults(void)
{
	static const char *const doms[] = {"mail.contoso.com", "autodiscover.contoso.com",
	                                   "*.owa.contoso.com"};
	struct cc_new_params p;
	X509 *x = NULL, *y = NULL;
	EVP_PKEY *k = NULL, *k2 = NULL;
	struct cc_cert *c;
	const ASN1_OCTET_STRING *skid, *akid;
	const ASN1_INTEGER *sn;
	BIGNUM *bn;
	char buf[256], *san;
	uint32_t ku;

	params(&p, doms, 3, CC_KEY_RSA_2048);
	create_ok(&p, &x, &k);

	CU_ASSERT_EQUAL(X509_get_version(x), X509_VERSION_3);
	/* The key: RSA 2048, the certificate's, and it signed the certificate. */
	CU_ASSERT_TRUE(EVP_PKEY_is_a(k, "RSA"));
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(k), 2048);
	CU_ASSERT_EQUAL(X509_check_private_key(x, k), 1);
	CU_ASSERT_EQUAL(X509_verify(x, k), 1);
	CU_ASSERT_EQUAL(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);

	/* Subject = issuer = CN of the first domain, nothing else. */
	CU_ASSERT_EQUAL_FATAL(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
	CU_ASSERT_EQUAL(entry(X509_get_subject_name(x), 0, buf, sizeof(buf), NULL), NID_commonName);
	CU_ASSERT_STRING_EQUAL(buf, "mail.contoso.com");
	CU_ASSERT_EQUAL(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);

	/* EKU serverAuth and clientAuth, and nothing more. */
	CU_ASSERT(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
	CU_ASSERT_EQUAL(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	/* keyUsage, critical: digitalSignature and keyEncipherment for RSA. */
	ku = X509_get_key_usage(x);
	CU_ASSERT_EQUAL(ku, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	CU_ASSERT_TRUE(ext_critical(x, NID_key_usage));
	/* basicConstraints present, critical, CA false. */
	CU_ASSERT(X509_get_extension_flags(x) & EXFLAG_BCONS);
	CU_ASSERT_FALSE(X509_get_extension_flags(x) & EXFLAG_CA);
	CU_ASSERT_TRUE(ext_critical(x, NID_basic_constraints));
	CU_ASSERT_EQUAL(X509_check_ca(x), 0);
	/* Subject key id present; the authority key id names the same key. */
	skid = X509_get0_subject_key_id(x);
	akid = X509_get0_authority_key_id(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(skid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(akid);
	CU_ASSERT(ASN1_STRING_length(skid) > 0);
	CU_ASSERT_EQUAL(ASN1_OCTET_STRING_cmp(skid, akid), 0);
	/* SAN holds every domain, in order. */
	san = san_text(x);
	CU_ASSERT_STRING_EQUAL(san, "mail.contoso.com,autodiscover.contoso.com,*.owa.contoso.com");
	free(san);

	/* Serial: positive, at most 127 bits, not tiny (random), different next time. */
	sn = X509_get0_serialNumber(x);
	CU_ASSERT_NOT_EQUAL(ASN1_STRING_type(sn), V_ASN1_NEG_INTEGER);
	bn = ASN1_INTEGER_to_BN(sn, NULL);
	CU_ASSERT_FATAL(bn != NULL);
	CU_ASSERT(BN_num_bits(bn) <= 127);
	CU_ASSERT(BN_num_bits(bn) > 64);
	BN_free(bn);

	/* 365 days from `now`. */
	c = wrap(x, k);
	CU_ASSERT_EQUAL(cc_cert_not_before(c), T0);
	CU_ASSERT_EQUAL(cc_cert_not_after(c), T0 + 365 * DAY);
	CU_ASSERT_EQUAL(cc_cert_validity_days(c), 365);
	CU_ASSERT_TRUE(cc_cert_is_self_signed(c));
	CU_ASSERT_EQUAL(cc_cert_status(c, T0 + DAY, NULL), CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_cert_key_bits(c), 2048);
	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 3);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "mail.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 1), "autodiscover.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 2), "*.owa.contoso.com");
	CU_ASSERT_TRUE(cc_cert_matches_host(c, "x.owa.contoso.com"));

	/* A second certificate: another key, another serial. */
	create_ok(&p, &y, &k2);
	CU_ASSERT_NOT_EQUAL(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(y)),
	                    0);
	CU_ASSERT_NOT_EQUAL(EVP_PKEY_eq(k, k2), 1);

	cc_cert_free(c);
	X509_free(x);
	X509_free(y);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

/* now == 0 means the current time. */
static void
test_now_default(void)
{
	static const char *const doms[] = {"now.contoso.com"};
	struct cc_new_params p;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	struct cc_cert *c;
	time_t before = time(NULL), after;

	params(&p, doms, 1, CC_KEY_EC_P256);
	p.now = 0;
	create_ok(&p, &x, &k);
	after = time(NULL);
	c = wrap(x, k);
	CU_ASSERT(cc_cert_not_before(c) >= before && cc_cert_not_before(c) <= after);
	CU_ASSERT_EQUAL(cc_cert_not_after(c) - cc_cert_not_before(c), 365 * DAY);
	CU_ASSERT_EQUAL(cc_cert_status(c, time(NULL), NULL), CC_STATUS_VALID);
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* --- key types ----------------------------------------------------------------------------- */

static void
check_key_type(enum cc_key_type kt, const char *alg, int bits, const char *group)
{
	static const char *const doms[] = {"keys.contoso.com"};
	struct cc_new_params p;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	struct cc_cert *c;
	char g[64];
	size_t glen = 0;

	params(&p, doms, 1, kt);
	create_ok(&p, &x, &k);
	CU_ASSERT_TRUE(EVP_PKEY_is_a(k, alg));
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(k), bits);
	CU_ASSERT_EQUAL(X509_check_private_key(x, k), 1);
	CU_ASSERT_EQUAL(X509_verify(x, k), 1);
	if (group != NULL) {
		CU_ASSERT_EQUAL(EVP_PKEY_get_group_name(k, g, sizeof(g), &glen), 1);
		CU_ASSERT_STRING_EQUAL(g, group);
		/* EC: keyAgreement instead of keyEncipherment. */
		CU_ASSERT_EQUAL(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT);
		CU_ASSERT_EQUAL(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	} else {
		CU_ASSERT_EQUAL(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	}
	CU_ASSERT_EQUAL(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	c = wrap(x, k);
	CU_ASSERT_EQUAL(cc_cert_key_bits(c), bits);
	CU_ASSERT_STRING_EQUAL(cc_cert_key_algorithm(c), alg);
	CU_ASSERT_TRUE(cc_cert_is_self_signed(c));
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_key_types(void)
{
	struct cc_new_params p;
	static const char *const doms[] = {"keys.contoso.com"};

	check_key_type(CC_KEY_RSA_1024, "RSA", 1024, NULL);
	check_key_type(CC_KEY_EC_P256, "EC", 256, "prime256v1");
	check_key_type(CC_KEY_EC_P384, "EC", 384, "secp384r1");
	/* Not a key type. */
	params(&p, doms, 1, (enum cc_key_type)99);
	create_fails(&p, CC_ERR_INVAL, "key type 99");
}

/* Slow (RSA 4096 key generation): done once. */
static void
test_key_rsa4096(void)
{
	check_key_type(CC_KEY_RSA_4096, "RSA", 4096, NULL);
}

static void
test_key_generate(void)
{
	static const struct {
		enum cc_key_type t;
		const char *alg;
		int bits;
	} cases[] = {{CC_KEY_RSA_1024, "RSA", 1024},
	             {CC_KEY_EC_P256, "EC", 256},
	             {CC_KEY_EC_P384, "EC", 384}};
	EVP_PKEY *k;
	size_t i;
	enum cc_err e;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k = NULL;
		e = cc_key_generate(cases[i].t, &k);
		CU_ASSERT_EQUAL_FATAL(e, CC_OK);
		CU_ASSERT_TRUE(EVP_PKEY_is_a(k, cases[i].alg));
		CU_ASSERT_EQUAL(EVP_PKEY_get_bits(k), cases[i].bits);
		EVP_PKEY_free(k);
	}
	k = (EVP_PKEY *)1;
	e = cc_key_generate((enum cc_key_type) - 1, &k);
	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(k);
}

static void
test_key_type_parse(void)
{
	static const struct {
		const char *s;
		enum cc_key_type t;
	} good[] = {{"rsa2048", CC_KEY_RSA_2048}, {"rsa", CC_KEY_RSA_2048},
	            {"RSA2048", CC_KEY_RSA_2048}, {"rsa1024", CC_KEY_RSA_1024},
	            {"rsa4096", CC_KEY_RSA_4096}, {"ec256", CC_KEY_EC_P256},
	            {"p-256", CC_KEY_EC_P256},    {"P-256", CC_KEY_EC_P256},
	            {"ec384", CC_KEY_EC_P384},    {"P-384", CC_KEY_EC_P384},
	            {"EC384", CC_KEY_EC_P384}};
	static const char *const bad[] = {"rsa3072", "rsa512", "ec521", "p-521",    "ec",
	                                  "dsa",     "",       " rsa",  "rsa2048 ", "ed25519"};
	enum cc_key_type t;
	size_t i;
	enum cc_err e;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t = (enum cc_key_type)99;
		e = cc_key_type_parse(good[i].s, &t);
		CU_ASSERT_EQUAL(e, CC_OK);
		CU_ASSERT_EQUAL(t, good[i].t);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = (enum cc_key_type)99;
		e = cc_key_type_parse(bad[i], &t);
		CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
		CU_ASSERT_EQUAL(t, (enum cc_key_type)99); /* untouched */
		CU_ASSERT(cc_errdetail()[0] != '\0');
	}
	e = cc_key_type_parse(NULL, &t);
	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
	/* Names round-trip. */
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		e = cc_key_type_parse(cc_key_type_name(good[i].t), &t);
		CU_ASSERT_EQUAL(e, CC_OK);
		CU_ASSERT_EQUAL(t, good[i].t);
	}
	CU_ASSERT_STRING_EQUAL(cc_key_type_name(CC_KEY_RSA_2048), "rsa2048");
	CU_ASSERT_STRING_EQUAL(cc_key_type_name(CC_KEY_EC_P384), "ec384");
	CU_ASSERT_STRING_EQUAL(cc_key_type_name((enum cc_key_type)99), "unknown");
}

/* --- validity ------------------------------------------------------------------------------ */

static void
test_days(void)
{
	static const char *const doms[] = {"days.contoso.com"};
	static const int good[] = {1, 30, 730, 100 * 366};
	static const int bad[] = {-1, -365, 100 * 366 + 1, 1000000};
	struct cc_new_params p;
	X509 *x;
	EVP_PKEY *k;
	struct cc_cert *c;
	size_t i;

	params(&p, doms, 1, CC_KEY_EC_P256);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		p.days = good[i];
		x = NULL;
		k = NULL;
		create_ok(&p, &x, &k);
		c = wrap(x, k);
		CU_ASSERT_EQUAL(cc_cert_not_before(c), T0);
		CU_ASSERT_EQUAL(cc_cert_not_after(c), T0 + good[i] * DAY);
		CU_ASSERT_EQUAL(cc_cert_validity_days(c), good[i]);
		cc_cert_free(c);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.days = bad[i];
		create_fails(&p, CC_ERR_INVAL, "days");
	}
}

/* --- X.500 subjects ------------------------------------------------------------------------ */

static void
test_subject_x500(void)
{
	static const char *const doms[] = {"mail.contoso.com", "owa.contoso.com"};
	struct cc_new_params p;
	X509_NAME *n = NULL;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	struct cc_cert *c;
	char buf[128], *s;
	int set;
	enum cc_err e;

	e = cc_x500_parse("c=us,o=contoso corp,cn=mail.contoso.com", &n);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_EQUAL_FATAL(X509_NAME_entry_count(n), 3);
	/* Certificate order is the order written: C, O, CN, each its own RDN. */
	CU_ASSERT_EQUAL(entry(n, 0, buf, sizeof(buf), &set), NID_countryName);
	CU_ASSERT_STRING_EQUAL(buf, "us");
	CU_ASSERT_EQUAL(set, 0);
	CU_ASSERT_EQUAL(entry(n, 1, buf, sizeof(buf), &set), NID_organizationName);
	CU_ASSERT_STRING_EQUAL(buf, "contoso corp");
	CU_ASSERT_EQUAL(set, 1);
	CU_ASSERT_EQUAL(entry(n, 2, buf, sizeof(buf), &set), NID_commonName);
	CU_ASSERT_STRING_EQUAL(buf, "mail.contoso.com");
	CU_ASSERT_EQUAL(set, 2);
	s = name_2253(n);
	CU_ASSERT_STRING_EQUAL(s, "CN=mail.contoso.com,O=contoso corp,C=us");
	free(s);
	X509_NAME_free(n);

	/* The same through cc_selfsigned_create, with domains: the subject is not the domains'. */
	params(&p, doms, 2, CC_KEY_EC_P256);
	p.subject = "c=us,o=contoso corp,cn=mail.contoso.com";
	create_ok(&p, &x, &k);
	c = wrap(x, k);
	CU_ASSERT_STRING_EQUAL(cc_cert_subject(c), "CN=mail.contoso.com,O=contoso corp,C=us");
	CU_ASSERT_STRING_EQUAL(cc_cert_issuer(c), "CN=mail.contoso.com,O=contoso corp,C=us");
	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 2);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "mail.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 1), "owa.contoso.com");
	s = san_text(x);
	CU_ASSERT_STRING_EQUAL(s, "mail.contoso.com,owa.contoso.com");
	free(s);
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);

	/* A subject and no domains: no SAN at all, the CN is the only domain. */
	params(&p, NULL, 0, CC_KEY_EC_P256);
	p.subject = "o=contoso,cn=only.contoso.com";
	create_ok(&p, &x, &k);
	CU_ASSERT_EQUAL(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), -1);
	c = wrap(x, k);
	CU_ASSERT_STRING_EQUAL(cc_cert_subject(c), "CN=only.contoso.com,O=contoso");
	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 1);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "only.contoso.com");
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_subject_multivalued_and_escapes(void)
{
	X509_NAME *n = NULL;
	char buf[128], *s;
	int set;
	enum cc_err e;

	/* "a+b": one RDN of two attributes. */
	e = cc_x500_parse("cn=a.contoso.com+o=contoso,c=us", &n);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_EQUAL_FATAL(X509_NAME_entry_count(n), 3);
	CU_ASSERT_EQUAL(entry(n, 0, buf, sizeof(buf), &set), NID_commonName);
	CU_ASSERT_STRING_EQUAL(buf, "a.contoso.com");
	CU_ASSERT_EQUAL(set, 0);
	CU_ASSERT_EQUAL(entry(n, 1, buf, sizeof(buf), &set), NID_organizationName);
	CU_ASSERT_STRING_EQUAL(buf, "contoso");
	CU_ASSERT_EQUAL(set, 0);
	CU_ASSERT_EQUAL(entry(n, 2, buf, sizeof(buf), &set), NID_countryName);
	CU_ASSERT_EQUAL(set, 1);
	s = name_2253(n);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "+"));
	CU_ASSERT_EQUAL(strncmp(s, "C=us,", 5), 0);
	free(s);
	X509_NAME_free(n);

	/* An escaped comma belongs to the value. */
	e = cc_x500_parse("o=a\\, b,cn=x.contoso.com", &n);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_EQUAL_FATAL(X509_NAME_entry_count(n), 2);
	CU_ASSERT_EQUAL(entry(n, 0, buf, sizeof(buf), NULL), NID_organizationName);
	CU_ASSERT_STRING_EQUAL(buf, "a, b");
	s = name_2253(n);
	CU_ASSERT_STRING_EQUAL(s, "CN=x.contoso.com,O=a\\, b");
	free(s);
	X509_NAME_free(n);

	/* Attribute types in any case, long names and OIDs. */
	e = cc_x500_parse("C=US,organizationName=Contoso,2.5.4.3=y.contoso.com,Cn=z", &n);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_EQUAL_FATAL(X509_NAME_entry_count(n), 4);
	CU_ASSERT_EQUAL(entry(n, 0, buf, sizeof(buf), NULL), NID_countryName);
	CU_ASSERT_EQUAL(entry(n, 1, buf, sizeof(buf), NULL), NID_organizationName);
	CU_ASSERT_EQUAL(entry(n, 2, buf, sizeof(buf), NULL), NID_commonName);
	CU_ASSERT_STRING_EQUAL(buf, "y.contoso.com");
	CU_ASSERT_EQUAL(entry(n, 3, buf, sizeof(buf), NULL), NID_commonName);
	X509_NAME_free(n);

	/* Parsing leaves no stale OpenSSL errors behind for the next caller to misreport. */
	ERR_clear_error();
	e = cc_x500_parse("c=us,o=contoso corp,cn=mail.contoso.com", &n);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	X509_NAME_free(n);
}

static void
test_subject_bad(void)
{
	static const char *const bad[] = {
	        "foo=bar",                /* unknown attribute type */
	        "cn=x.contoso.com,xyz=1", /* unknown, after a good one */
	        "",                       /* empty */
	        "===",                    /* garbage */
	        "cn",                     /* no value */
	        "cn=x,",                  /* empty RDN */
	        ",cn=x",                  /* empty RDN */
	        "cn=#04024869",           /* #hex (BER) value */
	        "c=usa",                  /* a country is two letters */
	        "cn=a\\00b",              /* an escaped NUL */
	        "cn=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
	};
	static const char *const doms[] = {"mail.contoso.com"};
	struct cc_new_params p;
	X509_NAME *n;
	size_t i;
	enum cc_err e;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = (X509_NAME *)1;
		prime_detail();
		e = cc_x500_parse(bad[i], &n);
		if (e != CC_ERR_PARSE)
			fprintf(stderr, "\nsubject \"%s\" gave %d\n", bad[i], (int)e);
		CU_ASSERT_EQUAL(e, CC_ERR_PARSE);
		CU_ASSERT_PTR_NULL(n);
		ASSERT_FRESH_DETAIL();
		if (e == CC_OK)
			X509_NAME_free(n);

		params(&p, doms, 1, CC_KEY_EC_P256);
		p.subject = bad[i];
		create_fails(&p, CC_ERR_PARSE, bad[i]);
	}
	n = (X509_NAME *)1;
	e = cc_x500_parse(NULL, &n);
	CU_ASSERT_EQUAL(e, CC_ERR_PARSE);
	CU_ASSERT_PTR_NULL(n);
	/* The unknown type is named. */
	e = cc_x500_parse("cn=x,frobnicator=1", &n);
	CU_ASSERT_EQUAL(e, CC_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "frobnicator"));
}

/* --- domains ------------------------------------------------------------------------------- */

static void
test_domains_bad(void)
{
	char label64[80], long253[300];
	const char *bad[] = {
	        "bad_name", "-a.com",  "a-.com",  "a..com",
	        "",         ".a.com",  "a.com.",  "*.*.a.com",
	        "a.*.com",  "*",       "*.",      "f*.a.com",
	        "a b.com",  "a/b.com", "a.com\n", "caf\xc3\xa9.com",
	        label64,    long253,
	};
	const char *one[2];
	struct cc_new_params p;
	size_t i;

	memset(label64, 'a', 64);
	memcpy(label64 + 64, ".com", 5);
	for (i = 0; i < 4; i++) {
		memset(long253 + i * 64, 'b', 63);
		long253[i * 64 + 63] = '.';
	}
	memcpy(long253 + 256, "com", 4); /* 259 characters, every label short enough */

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		one[0] = bad[i];
		params(&p, one, 1, CC_KEY_EC_P256);
		create_fails(&p, CC_ERR_INVAL, bad[i]);
		/* Refused in any position, and even with a --subject. */
		one[0] = "good.contoso.com";
		one[1] = bad[i];
		params(&p, one, 2, CC_KEY_EC_P256);
		p.subject = "cn=good.contoso.com";
		create_fails(&p, CC_ERR_INVAL, bad[i]);
	}
}

static void
test_domains_good(void)
{
	char label63[80], *cn65;
	const char *good[] = {"localhost",     "a.b",      "a-b.contoso.com",
	                      "*.contoso.com", "x1.y2.z3", "MAIL.Contoso.COM",
	                      label63};
	const char *one[1];
	struct cc_new_params p;
	X509 *x;
	EVP_PKEY *k;
	size_t i;
	char *san;

	memset(label63, 'a', 63); /* the longest label; also a CN short enough */
	label63[63] = '\0';
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		one[0] = good[i];
		params(&p, one, 1, CC_KEY_EC_P256);
		x = NULL;
		k = NULL;
		create_ok(&p, &x, &k);
		san = san_text(x);
		CU_ASSERT_STRING_EQUAL(san, good[i]);
		free(san);
		X509_free(x);
		EVP_PKEY_free(k);
	}

	/* A name too long for a CN (64) is refused as the CN, accepted with a --subject. */
	cn65 = "abcdefghijklmnopqrstuvwxyz.abcdefghijklmnopqrstuvwxyz.abcdefg.com";
	CU_ASSERT_EQUAL_FATAL(strlen(cn65), 65);
	one[0] = cn65;
	params(&p, one, 1, CC_KEY_EC_P256);
	create_fails(&p, CC_ERR_INVAL, "65-character CN");
	p.subject = "cn=short.contoso.com";
	x = NULL;
	k = NULL;
	create_ok(&p, &x, &k);
	san = san_text(x);
	CU_ASSERT_STRING_EQUAL(san, cn65);
	free(san);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* No domains and no subject: the host's FQDN and short name, as Exchange did. */
static void
test_host_names(void)
{
	char *fqdn = NULL, *shortname = NULL, *san, *want;
	struct cc_new_params p;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	struct cc_cert *c;
	enum cc_err e;

	e = cc_host_names(&fqdn, &shortname);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_FATAL(fqdn != NULL && shortname != NULL);
	CU_ASSERT(fqdn[0] != '\0' && shortname[0] != '\0');
	CU_ASSERT_PTR_NULL(strchr(shortname, '.'));
	CU_ASSERT_EQUAL(strncmp(fqdn, shortname, strlen(shortname)), 0);

	params(&p, NULL, 0, CC_KEY_EC_P256);
	create_ok(&p, &x, &k);
	c = wrap(x, k);
	CU_ASSERT_STRING_EQUAL(cc_cert_subject(c) + 3, fqdn);
	CU_ASSERT_EQUAL(strncmp(cc_cert_subject(c), "CN=", 3), 0);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), fqdn);
	san = san_text(x);
	if (strcmp(fqdn, shortname) == 0) {
		CU_ASSERT_EQUAL(cc_cert_domain_count(c), 1);
		CU_ASSERT_STRING_EQUAL(san, fqdn);
	} else {
		CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 2);
		CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 1), shortname);
		if (asprintf(&want, "%s,%s", fqdn, shortname) < 0)
			CU_FAIL_FATAL("asprintf");
		CU_ASSERT_STRING_EQUAL(san, want);
		free(want);
	}
	CU_ASSERT_TRUE(cc_cert_matches_host(c, fqdn));
	free(san);
	cc_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
	free(fqdn);
	free(shortname);
}

static void
test_friendly_name(void)
{
	static const char *const doms[] = {"fn.contoso.com"};
	char n64[65], n65[66];
	const char *bad[] = {"line\nbreak", "tab\there", "cr\r", "del\x7f", n65};
	struct cc_new_params p;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	size_t i;

	memset(n64, 'n', 64);
	n64[64] = '\0';
	memset(n65, 'n', 65);
	n65[65] = '\0';
	params(&p, doms, 1, CC_KEY_EC_P256);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.friendly_name = bad[i];
		create_fails(&p, CC_ERR_INVAL, "friendly name");
	}
	p.friendly_name = n64;
	create_ok(&p, &x, &k);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* --- in a store: create and renew --------------------------------------------------------- */

struct snap {
	char thumb[CC_THUMB_LEN + 1];
	char subject[256];
	char domains[512];
	char serial[64];
	unsigned services;
	bool exportable;
	char friendly[80];
	char alg[16];
	int bits;
	int days;
	EVP_PKEY *key;
};

static void
snap(const struct cc_cert *c, struct snap *s)
{
	size_t i, used = 0;

	memset(s, 0, sizeof(*s));
	snprintf(s->thumb, sizeof(s->thumb), "%s", cc_cert_thumbprint(c));
	snprintf(s->subject, sizeof(s->subject), "%s", cc_cert_subject(c));
	for (i = 0; i < cc_cert_domain_count(c); i++)
		used += (size_t)snprintf(s->domains + used, sizeof(s->domains) - used, "%s%s",
		                         i ? "," : "", cc_cert_domain(c, i));
	snprintf(s->serial, sizeof(s->serial), "%s", cc_cert_serial(c));
	s->services = cc_cert_services(c);
	s->exportable = cc_cert_exportable(c);
	snprintf(s->friendly, sizeof(s->friendly), "%s", cc_cert_friendly_name(c));
	snprintf(s->alg, sizeof(s->alg), "%s", cc_cert_key_algorithm(c));
	s->bits = cc_cert_key_bits(c);
	s->days = cc_cert_validity_days(c);
	s->key = cc_cert_key(c);
	if (s->key != NULL)
		CU_ASSERT_FATAL(EVP_PKEY_up_ref(s->key) == 1);
}

static struct cc_store *
open_store(char **tmp)
{
	struct cc_store *s = NULL;
	char *path;
	enum cc_err e;

	*tmp = tu_tmpdir();
	if (asprintf(&path, "%s/store", *tmp) < 0)
		CU_FAIL_FATAL("asprintf");
	e = cc_store_open(path, CC_STORE_CREATE, &s);
	free(path);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_EQUAL(cc_store_count(s), 0);
	return s;
}

static struct cc_cert *
find(struct cc_store *s, const char *thumb)
{
	struct cc_cert *c = NULL;
	enum cc_err e = cc_store_find(s, thumb, &c);

	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	return c;
}

/* Renews `thumb` at `now` and checks the clone against the original. */
static void
renew_and_check(struct cc_store *s, const char *thumb, const char *typed_thumb, time_t now)
{
	struct snap before, after;
	char nthumb[CC_THUMB_LEN + 1];
	struct cc_cert *c;
	size_t count = cc_store_count(s);
	enum cc_err e;

	snap(find(s, thumb), &before);
	e = cc_store_renew(s, typed_thumb, now, nthumb);
	if (e != CC_OK)
		fprintf(stderr, "\ncc_store_renew: %s\n", cc_errdetail());
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_EQUAL(cc_store_count(s), count + 1);
	CU_ASSERT_STRING_NOT_EQUAL(nthumb, before.thumb);
	/* The original is still there. */
	(void)find(s, before.thumb);
	c = find(s, nthumb);
	snap(c, &after);
	CU_ASSERT_STRING_EQUAL(after.thumb, nthumb);
	CU_ASSERT_STRING_EQUAL(after.subject, before.subject);
	CU_ASSERT_STRING_EQUAL(cc_cert_issuer(c), before.subject);
	CU_ASSERT_STRING_EQUAL(after.domains, before.domains);
	CU_ASSERT_STRING_NOT_EQUAL(after.serial, before.serial);
	CU_ASSERT_EQUAL(after.services, before.services);
	CU_ASSERT_EQUAL(after.exportable, before.exportable);
	CU_ASSERT_STRING_EQUAL(after.friendly, before.friendly);
	CU_ASSERT_STRING_EQUAL(after.alg, before.alg);
	CU_ASSERT_EQUAL(after.bits, before.bits);
	CU_ASSERT_EQUAL(after.days, before.days);
	CU_ASSERT_EQUAL(cc_cert_not_before(c), now);
	CU_ASSERT_EQUAL(cc_cert_not_after(c), now + before.days * DAY);
	/* A new key, the clone's own, stored with it. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(after.key);
	CU_ASSERT_PTR_NOT_NULL_FATAL(before.key);
	CU_ASSERT_NOT_EQUAL(EVP_PKEY_eq(after.key, before.key), 1);
	CU_ASSERT_EQUAL(X509_check_private_key(cc_cert_x509(c), after.key), 1);
	CU_ASSERT_TRUE(cc_cert_is_self_signed(c));
	CU_ASSERT_EQUAL(cc_cert_status(c, now + DAY, NULL), CC_STATUS_VALID);
	EVP_PKEY_free(before.key);
	EVP_PKEY_free(after.key);
}

static void
test_store_new_and_renew(void)
{
	static const char *const doms[] = {"um.contoso.com", "autodiscover.contoso.com"};
	struct cc_new_params p;
	struct cc_store *s;
	struct cc_cert *c;
	char thumb[CC_THUMB_LEN + 1], typed[CC_THUMB_LEN * 2], *tmp;
	time_t now = time(NULL);
	size_t i, j;

	s = open_store(&tmp);
	params(&p, doms, 2, CC_KEY_EC_P256);
	p.services = CC_SVC_UM | CC_SVC_SMTP;
	p.exportable = true;
	p.friendly_name = "Contoso UM";
	p.days = 30;
	p.now = now - 10 * DAY;
	CU_ASSERT_EQUAL_FATAL(cc_store_new_self_signed(s, &p, thumb), CC_OK);
	CU_ASSERT_EQUAL(strlen(thumb), CC_THUMB_LEN);
	CU_ASSERT_EQUAL(cc_store_count(s), 1);
	c = find(s, thumb);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), thumb);
	CU_ASSERT_TRUE(cc_cert_has_private_key(c));
	CU_ASSERT_EQUAL(cc_cert_services(c), CC_SVC_UM | CC_SVC_SMTP);
	CU_ASSERT_TRUE(cc_cert_exportable(c));
	CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "Contoso UM");
	CU_ASSERT_EQUAL(cc_cert_validity_days(c), 30);
	CU_ASSERT_EQUAL(cc_cert_not_before(c), now - 10 * DAY);
	CU_ASSERT_STRING_EQUAL(cc_cert_subject(c), "CN=um.contoso.com");
	CU_ASSERT_EQUAL(cc_store_problem_count(s), 0);

	/* Renew, naming the certificate as a person might type it: lower case with colons. */
	for (i = 0, j = 0; i < CC_THUMB_LEN; i++) {
		if (i > 0 && i % 2 == 0)
			typed[j++] = ':';
		typed[j++] = (char)(thumb[i] >= 'A' ? thumb[i] - 'A' + 'a' : thumb[i]);
	}
	typed[j] = '\0';
	renew_and_check(s, thumb, typed, now);
	CU_ASSERT_EQUAL(cc_store_problem_count(s), 0);

	cc_store_free(s);
	tu_rmrf(tmp);
	free(tmp);
}

/* The default friendly name, RSA, and a subject whose CN is no host name. */
static void
test_store_renew_subject_rsa(void)
{
	static const char *const doms[] = {"mail.contoso.com", "owa.contoso.com"};
	struct cc_new_params p;
	struct cc_store *s;
	struct cc_cert *c;
	char thumb[CC_THUMB_LEN + 1], *tmp;

	s = open_store(&tmp);
	params(&p, doms, 2, CC_KEY_RSA_1024);
	p.subject = "c=us,o=contoso corp,cn=Contoso Mail";
	p.services = CC_SVC_SMTP;
	p.days = 90;
	p.now = 0;
	CU_ASSERT_EQUAL_FATAL(cc_store_new_self_signed(s, &p, thumb), CC_OK);
	c = find(s, thumb);
	CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "umedge");
	CU_ASSERT_FALSE(cc_cert_exportable(c));
	CU_ASSERT_STRING_EQUAL(cc_cert_subject(c), "CN=Contoso Mail,O=contoso corp,C=us");
	/* CertificateDomains holds DNS names: the CN "Contoso Mail" is none. */
	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 2);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "mail.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 1), "owa.contoso.com");
	renew_and_check(s, thumb, thumb, time(NULL));
	cc_store_free(s);
	tu_rmrf(tmp);
	free(tmp);
}

/* A certificate imported (not made here) with no friendly name keeps none when renewed. */
static void
test_store_renew_imported(void)
{
	static const char *const sans[] = {"imported.contoso.com", "*.contoso.com", NULL};
	struct tu_cert_spec spec;
	struct cc_meta meta = {CC_SVC_UM, false, NULL, NULL};
	struct cc_store *s;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	char thumb[CC_THUMB_LEN + 1], nthumb[CC_THUMB_LEN + 1], *tmp;
	struct cc_cert *c;
	enum cc_err e;

	s = open_store(&tmp);
	memset(&spec, 0, sizeof(spec));
	spec.cn = "imported.contoso.com";
	spec.sans = sans;
	spec.key = "ec384";
	spec.not_before_offset = -DAY;
	spec.not_after_offset = 200 * DAY;
	tu_make_cert(&spec, &x, &k);
	e = cc_store_add(s, x, NULL, k, &meta, thumb);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(find(s, thumb)), "");
	renew_and_check(s, thumb, thumb, time(NULL));
	X509_free(x);
	EVP_PKEY_free(k);

	/* CN only, no SAN: the clone has none either. */
	memset(&spec, 0, sizeof(spec));
	spec.cn = "cnonly.contoso.com";
	spec.key = "ec256";
	tu_make_cert(&spec, &x, &k);
	e = cc_store_add(s, x, NULL, k, NULL, thumb);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	e = cc_store_renew(s, thumb, 0, nthumb);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	c = find(s, nthumb);
	CU_ASSERT_EQUAL(X509_get_ext_by_NID(cc_cert_x509(c), NID_subject_alt_name, -1), -1);
	CU_ASSERT_STRING_EQUAL(cc_cert_subject(c), "CN=cnonly.contoso.com");
	CU_ASSERT_EQUAL_FATAL(cc_cert_domain_count(c), 1);
	CU_ASSERT_STRING_EQUAL(cc_cert_domain(c, 0), "cnonly.contoso.com");
	CU_ASSERT_EQUAL(cc_cert_validity_days(c), 365);
	cc_store_free(s);
	X509_free(x);
	EVP_PKEY_free(k);
	tu_rmrf(tmp);
	free(tmp);
}

static void
test_store_renew_errors(void)
{
	static const char *const doms[] = {"err.contoso.com"};
	struct tu_cert_spec spec;
	struct cc_new_params p;
	struct cc_store *s;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	char thumb[CC_THUMB_LEN + 1], out[CC_THUMB_LEN + 1], n65[66], *tmp;
	enum cc_err e;

	s = open_store(&tmp);
	/* Unknown thumbprint. */
	prime_detail();
	e = cc_store_renew(s, "0123456789ABCDEF0123456789ABCDEF01234567", 0, out);
	CU_ASSERT_EQUAL(e, CC_ERR_NOT_FOUND);
	ASSERT_FRESH_DETAIL();
	/* Not a thumbprint. */
	e = cc_store_renew(s, "not-a-thumbprint", 0, out);
	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_store_count(s), 0);

	/* Bad friendly names and domains store nothing. */
	params(&p, doms, 1, CC_KEY_EC_P256);
	p.friendly_name = "two\nlines";
	e = cc_store_new_self_signed(s, &p, thumb);
	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
	memset(n65, 'n', 65);
	n65[65] = '\0';
	p.friendly_name = n65;
	e = cc_store_new_self_signed(s, &p, thumb);
	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
	p.friendly_name = NULL;
	p.subject = "bogus=1";
	e = cc_store_new_self_signed(s, &p, thumb);
	CU_ASSERT_EQUAL(e, CC_ERR_PARSE);
	CU_ASSERT_EQUAL(cc_store_count(s), 0);

	/* A key this code cannot make again (RSA 512) cannot be renewed. */
	memset(&spec, 0, sizeof(spec));
	spec.cn = "weak.contoso.com";
	spec.key = "rsa512";
	tu_make_cert(&spec, &x, &k);
	e = cc_store_add(s, x, NULL, k, NULL, thumb);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	prime_detail();
	e = cc_store_renew(s, thumb, 0, out);
	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
	ASSERT_FRESH_DETAIL();
	CU_ASSERT_EQUAL(cc_store_count(s), 1);

	cc_store_free(s);
	X509_free(x);
	EVP_PKEY_free(k);
	tu_rmrf(tmp);
	free(tmp);
}

static CU_TestInfo tests[] = {
        {"defaults: RSA 2048, 365 days, EKU, SAN, key ids, CA:FALSE", test_defaults},
        {"now 0 is the current time", test_now_default},
        {"key types: rsa1024, ec256, ec384, bad", test_key_types},
        {"key type rsa4096", test_key_rsa4096},
        {"cc_key_generate", test_key_generate},
        {"cc_key_type_parse", test_key_type_parse},
        {"validity days", test_days},
        {"X.500 subject", test_subject_x500},
        {"X.500 subject: multi-valued RDN, escapes, type spellings",
         test_subject_multivalued_and_escapes},
        {"X.500 subject: refused", test_subject_bad},
        {"domains: refused", test_domains_bad},
        {"domains: accepted", test_domains_good},
        {"no domains, no subject: host names", test_host_names},
        {"friendly name", test_friendly_name},
        {"store: create and renew", test_store_new_and_renew},
        {"store: renew RSA with a subject", test_store_renew_subject_rsa},
        {"store: renew an imported certificate", test_store_renew_imported},
        {"store: renew and create errors", test_store_renew_errors},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("selfsigned", tests);
}

/* SubjectPublicKeyInfo SHA-256 pins (pin.c). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "es_testutil.h"

static void
test_pin_is_spki_sha256(void)
{
	X509 *x;
	EVP_PKEY *k;
	struct es_pin p;
	unsigned char *der = NULL, md[32], b64[64];
	unsigned int mdlen;
	int n;
	char buf[ES_PIN_TEXT_LEN + 1];

	es_tu_cert("edge.example.test", &x, &k);
	CU_ASSERT_EQUAL_FATAL(es_pin_from_x509(x, &p), ES_OK);
	n = i2d_PUBKEY(k, &der);
	CU_ASSERT_FATAL(n > 0);
	EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	CU_ASSERT_EQUAL(memcmp(md, p.md, 32), 0);
	EVP_EncodeBlock(b64, md, 32);
	es_pin_format(&p, buf);
	CU_ASSERT_EQUAL(strlen(buf), ES_PIN_TEXT_LEN);
	CU_ASSERT(strncmp(buf, "SHA256:", 7) == 0);
	CU_ASSERT_STRING_EQUAL(buf + 7, (char *)b64);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_from_der(void)
{
	X509 *x;
	EVP_PKEY *k;
	struct es_pin a, b;
	unsigned char *der = NULL, *longer;
	int n;

	es_tu_cert("edge.example.test", &x, &k);
	n = i2d_X509(x, &der);
	CU_ASSERT_EQUAL(es_pin_from_der(der, (size_t)n, &b), ES_OK);
	CU_ASSERT_EQUAL(es_pin_from_x509(x, &a), ES_OK);
	CU_ASSERT(es_pin_equal(&a, &b));
	/* truncated, trailing bytes, empty: refused */
	CU_ASSERT_EQUAL(es_pin_from_der(der, (size_t)n - 1, &b), ES_ERR_PARSE);
	CU_ASSERT_EQUAL(es_pin_from_der(der, 10, &b), ES_ERR_PARSE);
	CU_ASSERT_EQUAL(es_pin_from_der(der, 0, &b), ES_ERR_PARSE);
	CU_ASSERT_EQUAL(es_pin_from_der(NULL, 5, &b), ES_ERR_PARSE);
	longer = malloc((size_t)n + 1);
	memcpy(longer, der, (size_t)n);
	longer[n] = 0;
	CU_ASSERT_EQUAL(es_pin_from_der(longer, (size_t)n + 1, &b), ES_ERR_PARSE);
	free(longer);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_key_not_certificate(void)
{
	struct tu_cert_spec spec;
	X509 *x1, *x2, *x3;
	EVP_PKEY *k1, *k3;
	struct es_pin p1, p2, p3;

	/* the same key in another certificate (a reissue) keeps its pin; a new key does not */
	es_tu_cert("edge.example.test", &x1, &k1);
	memset(&spec, 0, sizeof(spec));
	spec.cn = "other.example.test";
	spec.issuer = x1;
	spec.issuer_key = k1;
	tu_make_cert(&spec, &x3, &k3);
	x2 = X509_dup(x1);
	X509_set_pubkey(x2, k1);
	X509_sign(x2, k1, EVP_sha256());
	p1 = es_tu_pin(x1);
	p2 = es_tu_pin(x2);
	p3 = es_tu_pin(x3);
	CU_ASSERT(es_pin_equal(&p1, &p2));
	CU_ASSERT(!es_pin_equal(&p1, &p3));
	X509_free(x1);
	X509_free(x2);
	X509_free(x3);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k3);
}

/* What `subscription import --pin` takes: exactly what es_pin_format prints (prefix in any case).
 */
static void
test_parse(void)
{
	static const char *const bad[] = {
	        "",
	        "SHA256:",
	        "SHA1:2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
	        "sha512:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	        "SHA256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	        /* 43 characters: the pad left off */
	        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	        /* 45 */
	        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	        /* 44 without a pad: 33 bytes */
	        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	        /* two pads: 31 bytes */
	        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
	        /* a character base64 does not have */
	        "SHA256:AAAAAAAAAAAAAAAAAAAA*AAAAAAAAAAAAAAAAAAAAAA=",
	        /* base64url is another alphabet */
	        "SHA256:AAAAAAAAAAAAAAAAAAAA-_AAAAAAAAAAAAAAAAAAAAA=",
	        /* blanks around it: the pin is what was printed, nothing else */
	        " SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	        "SHA256: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ",
	        /* the last character's two low bits must be zero: AB= and AE= are one value */
	        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",
	};
	X509 *x;
	EVP_PKEY *k;
	struct es_pin p, q;
	char buf[ES_PIN_TEXT_LEN + 1], lower[ES_PIN_TEXT_LEN + 1];
	size_t i;

	es_tu_cert("edge.example.test", &x, &k);
	p = es_tu_pin(x);
	es_pin_format(&p, buf);
	CU_ASSERT_EQUAL(es_pin_parse(buf, &q), ES_OK);
	CU_ASSERT(es_pin_equal(&p, &q));
	memcpy(lower, buf, sizeof(lower));
	memcpy(lower, "sha256", 6);
	CU_ASSERT_EQUAL(es_pin_parse(lower, &q), ES_OK);
	CU_ASSERT(es_pin_equal(&p, &q));
	CU_ASSERT_EQUAL(es_pin_parse("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=", &q),
	                ES_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&q, 0xa5, sizeof(q));
		CU_ASSERT_EQUAL(es_pin_parse(bad[i], &q), ES_ERR_PARSE);
		/* refused: nothing half-decoded is left behind, and the text is named */
		CU_ASSERT(q.md[0] == 0 && q.md[ES_PIN_LEN - 1] == 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "is not a key pin"));
		if (es_pin_parse(bad[i], &q) == ES_OK)
			fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
	}
	CU_ASSERT_EQUAL(es_pin_parse(NULL, &q), ES_ERR_PARSE);
	/* one bit changed is another pin */
	buf[10] = buf[10] == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(es_pin_parse(buf, &q), ES_OK);
	CU_ASSERT(!es_pin_equal(&p, &q));
	X509_free(x);
	EVP_PKEY_free(k);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"a pin is SHA-256 of the SPKI, SHA256:base64", test_pin_is_spki_sha256},
	        {"from DER; truncated or padded DER refused", test_from_der},
	        {"the key makes the pin, not the certificate", test_key_not_certificate},
	        {"a pin as typed: parsed, or refused naming it", test_parse},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_pin", tests);
}

/* The CMS-enveloped edge credential (credential.c). */
#include <stdlib.h>
#include <string.h>

#include "certcore/store.h"
#include "edgesync/credential.h"
#include "edgesync/secret.h"
#include "es_testutil.h"

static X509 *x1, *x2;
static EVP_PKEY *k1, *k2;

static STACK_OF(X509) * stack_of(X509 *a, X509 *b)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	sk_X509_push(sk, a);
	if (b != NULL)
		sk_X509_push(sk, b);
	return sk;
}

static void
test_round_trip(void)
{
	STACK_OF(X509) *sk = stack_of(x1, NULL);
	unsigned char *der = NULL;
	size_t len = 0;
	char *pw = NULL;

	CU_ASSERT_EQUAL_FATAL(es_credential_seal("s3cret-Passw0rd", sk, &der, &len), ES_OK);
	CU_ASSERT(len > 100);
	/* ciphertext only */
	CU_ASSERT_PTR_NULL(memmem(der, len, "s3cret-Passw0rd", 15));
	CU_ASSERT_EQUAL(es_credential_open_with(der, len, x1, k1, &pw), ES_OK);
	CU_ASSERT_STRING_EQUAL(pw, "s3cret-Passw0rd");
	es_secret_free(pw);
	/* another key cannot open it */
	CU_ASSERT_EQUAL(es_credential_open_with(der, len, x2, k2, &pw), ES_ERR_CREDENTIAL);
	CU_ASSERT_PTR_NULL(pw);
	/* tampered ciphertext (AES-GCM's tag) and truncated DER are refused */
	der[len - 5] ^= 0x01;
	CU_ASSERT_EQUAL(es_credential_open_with(der, len, x1, k1, &pw), ES_ERR_CREDENTIAL);
	der[len - 5] ^= 0x01;
	CU_ASSERT_EQUAL(es_credential_open_with(der, len - 1, x1, k1, &pw), ES_ERR_CREDENTIAL);
	CU_ASSERT_EQUAL(es_credential_open_with(der, 0, x1, k1, &pw), ES_ERR_CREDENTIAL);
	CU_ASSERT_EQUAL(es_credential_open_with((const unsigned char *)"junk", 4, x1, k1, &pw),
	                ES_ERR_CREDENTIAL);
	OPENSSL_free(der);
	sk_X509_free(sk);
}

static void
test_two_recipients(void)
{
	STACK_OF(X509) *sk = stack_of(x1, x2);
	unsigned char *der = NULL;
	size_t len = 0;
	char *pw = NULL;

	CU_ASSERT_EQUAL_FATAL(es_credential_seal("shared", sk, &der, &len), ES_OK);
	CU_ASSERT_EQUAL(es_credential_open_with(der, len, x1, k1, &pw), ES_OK);
	es_secret_free(pw);
	CU_ASSERT_EQUAL(es_credential_open_with(der, len, x2, k2, &pw), ES_OK);
	CU_ASSERT_STRING_EQUAL(pw, "shared");
	es_secret_free(pw);
	OPENSSL_free(der);
	sk_X509_free(sk);
}

static void
test_refused_inputs(void)
{
	STACK_OF(X509) *sk = stack_of(x1, NULL), *empty = sk_X509_new_null();
	unsigned char *der = NULL;
	size_t len = 0;
	char big[2000];

	CU_ASSERT_EQUAL(es_credential_seal("", sk, &der, &len), ES_ERR_INVAL);
	CU_ASSERT_EQUAL(es_credential_seal(NULL, sk, &der, &len), ES_ERR_INVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(es_credential_seal(big, sk, &der, &len), ES_ERR_INVAL);
	CU_ASSERT_EQUAL(es_credential_seal("pw", empty, &der, &len), ES_ERR_INVAL);
	CU_ASSERT_EQUAL(es_credential_seal("pw", NULL, &der, &len), ES_ERR_INVAL);
	CU_ASSERT_PTR_NULL(der);
	sk_X509_free(sk);
	sk_X509_free(empty);
}

static void
test_store(void)
{
	char *dir = tu_tmpdir(), *pw = NULL;
	struct cc_store *s = NULL;
	struct cc_meta meta = {0, false, NULL, NULL};
	STACK_OF(X509) *sk = stack_of(x2, NULL);
	unsigned char *der = NULL;
	size_t len = 0;

	CU_ASSERT_FATAL(cc_store_open(dir, CC_STORE_CREATE, &s) == CC_OK);
	CU_ASSERT_EQUAL_FATAL(es_credential_seal("via store", sk, &der, &len), ES_OK);
	/* a store without the key: refused, naming the store (its only key is no recipient) */
	CU_ASSERT_FATAL(cc_store_add(s, x1, NULL, k1, &meta, NULL) == CC_OK);
	CU_ASSERT_EQUAL(es_credential_open(der, len, s, &pw), ES_ERR_CREDENTIAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "0 keys of its recipients tried"));
	/* with it (among others): opened */
	CU_ASSERT_FATAL(cc_store_add(s, x2, NULL, k2, &meta, NULL) == CC_OK);
	CU_ASSERT_EQUAL(es_credential_open(der, len, s, &pw), ES_OK);
	CU_ASSERT_STRING_EQUAL(pw, "via store");
	es_secret_free(pw);
	OPENSSL_free(der);
	sk_X509_free(sk);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"seal and open; other keys, tampering, truncation refused", test_round_trip},
	        {"two recipients", test_two_recipients},
	        {"empty, long, no recipient refused", test_refused_inputs},
	        {"opened with a certcore store's keys", test_store},
	        CU_TEST_INFO_NULL,
	};
	int r;

	es_tu_cert("replicator1.example.test", &x1, &k1);
	es_tu_cert("replicator2.example.test", &x2, &k2);
	r = tu_run("es_credential", tests);
	X509_free(x1);
	X509_free(x2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	return r;
}

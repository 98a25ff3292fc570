/* The replicator's certificate: certcore's LDAP choice or a new self-signed one (identity.c). */
#include <stdlib.h>
#include <string.h>

#include "certcore/services.h"
#include "edgesync/identity.h"
#include "es_testutil.h"

static void
test_created_once(void)
{
	char *dir = tu_tmpdir(), thumb[CC_THUMB_LEN + 1];
	struct cc_store *s = NULL;
	struct cc_cert *c = NULL;
	struct es_tu_log l;

	es_tu_log_open(&l, CC_LOG_TEXT);
	CU_ASSERT_FATAL(cc_store_open(dir, CC_STORE_CREATE, &s) == CC_OK);
	CU_ASSERT_EQUAL(es_identity_select(s, false, l.log, &c), ES_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL_FATAL(es_identity_select(s, true, l.log, &c), ES_OK);
	CU_ASSERT_EQUAL(cc_cert_services(c), CC_SVC_LDAP);
	CU_ASSERT(cc_cert_is_self_signed(c));
	CU_ASSERT(cc_cert_has_private_key(c));
	CU_ASSERT_STRING_EQUAL(cc_cert_key_algorithm(c), "RSA");
	memcpy(thumb, cc_cert_thumbprint(c), sizeof(thumb));
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(es_tu_log_text(&l), "1002 SelfSignedCertificateCreated service=LDAP"));
	CU_ASSERT_PTR_NOT_NULL(strstr(es_tu_log_text(&l), thumb));
	cc_cert_free(c);
	/* the next call finds it: no second certificate, no second event */
	CU_ASSERT_EQUAL(es_identity_select(s, true, l.log, &c), ES_OK);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), thumb);
	CU_ASSERT_EQUAL(cc_store_count(s), 1);
	CU_ASSERT_PTR_NULL(strstr(strstr(es_tu_log_text(&l), "1002") + 4, "1002"));
	cc_cert_free(c);
	cc_store_free(s);
	es_tu_log_close(&l);
	tu_rmrf(dir);
	free(dir);
}

static void
test_only_ldap(void)
{
	char *dir = tu_tmpdir();
	struct cc_store *s = NULL;
	struct cc_cert *c = NULL;
	X509 *x;
	EVP_PKEY *k;
	struct cc_meta um = {CC_SVC_UM, false, NULL, NULL}, ldap = {CC_SVC_LDAP, false, NULL, NULL};
	char ldap_thumb[CC_THUMB_LEN + 1];

	CU_ASSERT_FATAL(cc_store_open(dir, CC_STORE_CREATE, &s) == CC_OK);
	es_tu_cert("um.example.test", &x, &k);
	CU_ASSERT_FATAL(cc_store_add(s, x, NULL, k, &um, NULL) == CC_OK);
	X509_free(x);
	EVP_PKEY_free(k);
	/* a UM certificate is not the replicator's */
	CU_ASSERT_EQUAL(es_identity_select(s, false, NULL, &c), ES_ERR_NOT_FOUND);
	es_tu_cert("replicator.example.test", &x, &k);
	CU_ASSERT_FATAL(cc_store_add(s, x, NULL, k, &ldap, ldap_thumb) == CC_OK);
	X509_free(x);
	EVP_PKEY_free(k);
	CU_ASSERT_EQUAL(es_identity_select(s, true, NULL, &c), ES_OK);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), ldap_thumb);
	CU_ASSERT_EQUAL(cc_store_count(s), 2);
	cc_cert_free(c);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
}

static void
test_recipients(void)
{
	char *dir = tu_tmpdir(), *cp, *kp, *files[3] = {NULL, NULL, NULL}, *bad;
	struct cc_store *s = NULL;
	struct cc_cert *c = NULL;
	STACK_OF(X509) *sk = NULL;
	X509 *x;
	EVP_PKEY *k;

	CU_ASSERT_FATAL(cc_store_open(dir, CC_STORE_CREATE, &s) == CC_OK);
	CU_ASSERT_FATAL(es_identity_select(s, true, NULL, &c) == ES_OK);
	es_tu_cert("other-replicator.example.test", &x, &k);
	es_tu_write_pair(dir, "other", x, k, &cp, &kp);
	CU_ASSERT_EQUAL(es_identity_recipients(c, NULL, &sk), ES_OK);
	CU_ASSERT_EQUAL(sk_X509_num(sk), 1);
	sk_X509_pop_free(sk, X509_free);
	files[0] = cp;
	CU_ASSERT_EQUAL(es_identity_recipients(c, files, &sk), ES_OK);
	CU_ASSERT_EQUAL(sk_X509_num(sk), 2);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(sk, 0), cc_cert_x509(c)), 0);
	CU_ASSERT_EQUAL(X509_cmp(sk_X509_value(sk, 1), x), 0);
	sk_X509_pop_free(sk, X509_free);
	bad = es_tu_file(dir, "bad.pem", "not a certificate\n");
	files[1] = bad;
	CU_ASSERT_EQUAL(es_identity_recipients(c, files, &sk), ES_ERR_CERT);
	CU_ASSERT_PTR_NULL(sk);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "bad.pem"));
	free(bad);
	free(cp);
	free(kp);
	X509_free(x);
	EVP_PKEY_free(k);
	cc_cert_free(c);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
}

static void
test_kept_across_reload(void)
{
	char *dir = tu_tmpdir(), thumb[CC_THUMB_LEN + 1];
	struct cc_store *s = NULL;
	struct cc_cert *c = NULL, *again = NULL;

	CU_ASSERT_FATAL(cc_store_open(dir, CC_STORE_CREATE, &s) == CC_OK);
	CU_ASSERT_FATAL(es_identity_select(s, true, NULL, &c) == ES_OK);
	memcpy(thumb, cc_cert_thumbprint(c), sizeof(thumb));
	/* the store lets go of what it had loaded (a reload, then the certificate removed, as a
	 * rotation does): the reference handed out still reads (ASan: no use after free) */
	CU_ASSERT_EQUAL_FATAL(cc_store_reload(s), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_remove(s, thumb), CC_OK);
	CU_ASSERT_EQUAL(cc_store_count(s), 0);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), thumb);
	CU_ASSERT(cc_cert_has_private_key(c));
	/* selecting again finds none without `create`, a new one with it */
	CU_ASSERT_EQUAL(es_identity_select(s, false, NULL, &again), ES_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL_FATAL(es_identity_select(s, true, NULL, &again), ES_OK);
	CU_ASSERT_STRING_NOT_EQUAL(cc_cert_thumbprint(again), thumb);
	cc_cert_free(again);
	cc_cert_free(c);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"made when none, then reused", test_created_once},
	        {"only a certificate enabled for LDAP", test_only_ldap},
	        {"recipients: self and the other replicators", test_recipients},
	        {"an owned reference, kept across reloads", test_kept_across_reload},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_identity", tests);
}

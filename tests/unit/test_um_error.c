/*
 * umd's error type (um/src/error.c): a failure keeps the library's reason, certcore's code and
 * text (um_seterr_cc) and OpenSSL's queued reasons (um_seterr_ssl); and the places that check a
 * certificate against its key say OpenSSL's reason, not only "no usable certificate".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/store.h"
#include "certs.h"
#include "error.h"
#include "testutil.h"
#include "tlshook.h"

static void
test_table(void)
{
	int e;

	for (e = 0; e < UM_ERR__MAX; e++)
		CU_ASSERT_STRING_NOT_EQUAL(um_strerror((enum um_err)e), "unknown error");
	CU_ASSERT_STRING_EQUAL(um_strerror(UM_ERR__MAX), "unknown error");
	/* a certcore failure is not "no usable certificate" */
	CU_ASSERT_STRING_NOT_EQUAL(um_strerror(UM_ERR_CERTCORE), um_strerror(UM_ERR_CERT));
}

/* OpenSSL's reason is kept and its queue drained; nothing queued is said, not left blank. */
static void
test_ssl_reason(void)
{
	const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01};
	const unsigned char *p = junk;

	CU_ASSERT_PTR_NULL(d2i_X509(NULL, &p, sizeof(junk)));
	CU_ASSERT_NOT_EQUAL(ERR_peek_error(), 0);
	CU_ASSERT_EQUAL(um_seterr_ssl(UM_ERR_TLS, "parsing %s", "x.pem"), UM_ERR_TLS);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	CU_ASSERT(strncmp(um_errdetail(), "parsing x.pem: ", 15) == 0);
	CU_ASSERT(strlen(um_errdetail()) > 16);
	CU_ASSERT_EQUAL(um_errcc(), CC_OK);
	CU_ASSERT_EQUAL(um_seterr_ssl(UM_ERR_TLS, "again"), UM_ERR_TLS);
	CU_ASSERT_STRING_EQUAL(um_errdetail(), "again: no reason given by OpenSSL");
}

/* certcore's code and both its texts survive into umd's error; um_seterr forgets the code. */
static void
test_certcore_kept(void)
{
	X509 *x = NULL, *y = NULL;
	EVP_PKEY *kx = NULL, *ky = NULL;
	struct cc_cert *c = NULL;
	struct tu_cert_spec spec = {.cn = "um1.example.test", .key = "ec256"};
	char want[1200];
	enum cc_err cr;

	tu_make_cert(&spec, &x, &kx);
	tu_make_cert(&spec, &y, &ky);
	cr = cc_cert_new(x, NULL, ky, NULL, &c);
	CU_ASSERT_EQUAL_FATAL(cr, CC_ERR_KEY_MISMATCH);
	snprintf(want, sizeof(want), "loading: %s: %s", cc_strerror(cr), cc_errdetail());
	CU_ASSERT_EQUAL(um_seterr_cc(UM_ERR_CERTCORE, cr, "loading"), UM_ERR_CERTCORE);
	CU_ASSERT_EQUAL(um_errcc(), CC_ERR_KEY_MISMATCH);
	CU_ASSERT_STRING_EQUAL(um_errdetail(), want);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "private key does not match"));
	/* the detail may be quoted into the next one */
	CU_ASSERT_EQUAL(um_seterr(UM_ERR_CONFIG, "again: %s", um_errdetail()), UM_ERR_CONFIG);
	CU_ASSERT(strncmp(um_errdetail(), "again: loading: ", 16) == 0);
	CU_ASSERT_EQUAL(um_errcc(), CC_OK);
	X509_free(x);
	X509_free(y);
	EVP_PKEY_free(kx);
	EVP_PKEY_free(ky);
}

/* A store that cannot be opened: certcore's reason, not only umd's. */
static void
test_store_reason(void)
{
	struct cc_store *s = NULL;
	char *dir = tu_tmpdir(), p[600];
	enum cc_err cr;

	snprintf(p, sizeof(p), "%s/file", dir);
	tu_write_file(p, "x", 1, 0600);
	snprintf(p, sizeof(p), "%s/file/store", dir);
	cr = cc_store_open(p, CC_STORE_CREATE, &s);
	CU_ASSERT_NOT_EQUAL_FATAL(cr, CC_OK);
	CU_ASSERT_EQUAL(um_seterr_cc(UM_ERR_CERTCORE, cr, "opening the store"), UM_ERR_CERTCORE);
	CU_ASSERT_EQUAL(um_errcc(), cr);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), cc_strerror(cr)));
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "Not a directory"));
	tu_rmrf(dir);
	free(dir);
}

/* A certificate served with another key: OpenSSL's reason ("key values mismatch") is said. */
static void
test_pair_mismatch(void)
{
	X509 *x = NULL, *y = NULL;
	EVP_PKEY *kx = NULL, *ky = NULL;
	struct cc_cert *c = NULL;
	struct tu_cert_spec spec = {.cn = "um1.example.test", .key = "ec256"};

	tu_make_cert(&spec, &x, &kx);
	tu_make_cert(&spec, &y, &ky);
	CU_ASSERT_EQUAL(um_tls_set_identity(x, NULL, ky), UM_ERR_CERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "certificate and key do not go together: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "key values mismatch"));
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	CU_ASSERT_EQUAL(um_tls_set_identity(x, NULL, NULL), UM_ERR_CERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "no key"));
	/* a certificate without its key, and one with it */
	CU_ASSERT_EQUAL_FATAL(cc_cert_new(x, NULL, NULL, NULL, &c), CC_OK);
	CU_ASSERT_EQUAL(um_certs_key_matches(c), UM_ERR_CERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "private key is missing"));
	cc_cert_free(c);
	c = NULL;
	CU_ASSERT_EQUAL_FATAL(cc_cert_new(x, NULL, kx, NULL, &c), CC_OK);
	CU_ASSERT_EQUAL(um_certs_key_matches(c), UM_OK);
	cc_cert_free(c);
	X509_free(x);
	X509_free(y);
	EVP_PKEY_free(kx);
	EVP_PKEY_free(ky);
}

static CU_TestInfo tests[] = {
        {"one message per code", test_table},
        {"OpenSSL's reason kept, its queue drained", test_ssl_reason},
        {"certcore's code and text kept", test_certcore_kept},
        {"an unusable store says certcore's reason", test_store_reason},
        {"a certificate and another key: OpenSSL's reason", test_pair_mismatch},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_error", tests);
}

/* The error table and details (error.c). */
#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "internal.h"
#include "testutil.h"

static void
test_table_complete(void)
{
	int e;

	for (e = 0; e < CC_ERR__MAX; e++) {
		CU_ASSERT_PTR_NOT_NULL(cc_strerror(e));
		CU_ASSERT_STRING_NOT_EQUAL(cc_strerror(e), "unknown error");
	}
	CU_ASSERT_STRING_EQUAL(cc_strerror(CC_ERR__MAX), "unknown error");
	CU_ASSERT_STRING_EQUAL(cc_strerror((enum cc_err) - 1), "unknown error");
}

/* A failure from OpenSSL carries OpenSSL's own reason, and the queue is left empty. */
static void
test_ssl_reason(void)
{
	EVP_PKEY *k;

	ERR_clear_error();
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "no-such-curve");
	CU_ASSERT_PTR_NULL(k);
	CU_ASSERT_EQUAL(cc_seterr_ssl(CC_ERR_CRYPTO, "making key %d", 7), CC_ERR_CRYPTO);
	CU_ASSERT_EQUAL(strncmp(cc_errdetail(), "making key 7: ", 14), 0);
	CU_ASSERT(strlen(cc_errdetail()) > 14);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	/* With nothing queued, the detail says so instead of inventing a reason. */
	CU_ASSERT_EQUAL(cc_seterr_ssl(CC_ERR_CRYPTO, "nothing"), CC_ERR_CRYPTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "no reason given"));
}

static void
test_errno_reason(void)
{
	errno = ENOENT;
	CU_ASSERT_EQUAL(cc_seterr_errno(CC_ERR_IO, "open %s", "/x"), CC_ERR_IO);
	CU_ASSERT_STRING_EQUAL(cc_errdetail(), "open /x: No such file or directory");
}

static void
test_long_detail_truncated(void)
{
	char big[4096];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(cc_seterr(CC_ERR_PARSE, "%s", big), CC_ERR_PARSE);
	CU_ASSERT(strlen(cc_errdetail()) < sizeof(big));
	CU_ASSERT(strlen(cc_errdetail()) > 0);
}

static CU_TestInfo tests[] = {
        {"every code has a message", test_table_complete},
        {"OpenSSL's reason is kept", test_ssl_reason},
        {"errno's reason is kept", test_errno_reason},
        {"long details are truncated safely", test_long_detail_truncated},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("error", tests);
}

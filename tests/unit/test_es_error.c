/* edgesync's error table and the detail of the last failure (error.c). */
#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "certcore/services.h"
#include "internal.h"
#include "testutil.h"

static void
test_every_code_has_a_message(void)
{
	int e;

	for (e = ES_OK; e < ES_ERR__MAX; e++) {
		CU_ASSERT_PTR_NOT_NULL(es_strerror((enum es_err)e));
		CU_ASSERT(strlen(es_strerror((enum es_err)e)) > 0);
		CU_ASSERT_STRING_NOT_EQUAL(es_strerror((enum es_err)e), "unknown error");
	}
	CU_ASSERT_STRING_EQUAL(es_strerror(ES_ERR__MAX), "unknown error");
	CU_ASSERT_STRING_EQUAL(es_strerror((enum es_err) - 1), "unknown error");
	CU_ASSERT_PTR_NOT_NULL(strstr(es_strerror(ES_ERR_PIN_MISMATCH), "pinned"));
}

static void
test_detail(void)
{
	CU_ASSERT_EQUAL(es_seterr(ES_ERR_PARSE, "bad %s at %d", "thing", 7), ES_ERR_PARSE);
	CU_ASSERT_STRING_EQUAL(es_errdetail(), "bad thing at 7");
	/* the detail may be an argument of the next detail */
	es_seterr(ES_ERR_IO, "outer: %s", es_errdetail());
	CU_ASSERT_STRING_EQUAL(es_errdetail(), "outer: bad thing at 7");
}

static void
test_detail_truncates(void)
{
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	es_seterr(ES_ERR_INVAL, "%s", big);
	CU_ASSERT(strlen(es_errdetail()) < sizeof(big));
	CU_ASSERT(strlen(es_errdetail()) > 1000);
}

static void
test_ssl_reason_is_drained(void)
{
	const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01};
	const unsigned char *p = junk;

	CU_ASSERT_PTR_NULL(d2i_X509(NULL, &p, sizeof(junk)));
	CU_ASSERT_NOT_EQUAL(ERR_peek_error(), 0);
	CU_ASSERT_EQUAL(es_seterr_ssl(ES_ERR_CRYPTO, "parsing"), ES_ERR_CRYPTO);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	CU_ASSERT(strncmp(es_errdetail(), "parsing: ", 9) == 0);
	CU_ASSERT(strlen(es_errdetail()) > 12);
	/* with nothing queued it says so rather than nothing */
	es_seterr_ssl(ES_ERR_CRYPTO, "again");
	CU_ASSERT_STRING_EQUAL(es_errdetail(), "again: no reason given by OpenSSL");
}

static void
test_errno_and_ldap(void)
{
	errno = ENOENT;
	es_seterr_errno(ES_ERR_IO, "/nowhere");
	CU_ASSERT_STRING_EQUAL(es_errdetail(), "/nowhere: No such file or directory");
	es_seterr_ldap(ES_ERR_LDAP, NULL, LDAP_NO_SUCH_OBJECT, "search %s", "dc=x");
	CU_ASSERT_STRING_EQUAL(es_errdetail(), "search dc=x: No such object");
	es_seterr_ldap(ES_ERR_CONNECT, NULL, LDAP_SERVER_DOWN, "ldaps://h");
	CU_ASSERT_STRING_EQUAL(es_errdetail(), "ldaps://h: Can't contact LDAP server");
}

static void
test_certcore_detail(void)
{
	unsigned m;

	CU_ASSERT_EQUAL(cc_services_parse("FTP", &m), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(es_seterr_cc(ES_ERR_CONFIG, CC_ERR_INVAL, "services"), ES_ERR_CONFIG);
	CU_ASSERT(strncmp(es_errdetail(), "services: invalid argument", 26) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "FTP"));
}

static void
test_helpers(void)
{
	char *s = es_aprintf("%d-%s", 42, "x");
	char **v = calloc(3, sizeof(*v));

	CU_ASSERT_STRING_EQUAL(s, "42-x");
	free(s);
	v[0] = strdup("a");
	v[1] = strdup("b");
	es_strv_free(v);
	es_strv_free(NULL);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"every code has a message", test_every_code_has_a_message},
	        {"detail", test_detail},
	        {"a long detail is truncated", test_detail_truncates},
	        {"OpenSSL's reason is drained into the detail", test_ssl_reason_is_drained},
	        {"errno and libldap reasons", test_errno_and_ldap},
	        {"certcore's detail is carried", test_certcore_detail},
	        {"aprintf and strv_free", test_helpers},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_error", tests);
}

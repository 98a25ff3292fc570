/* Service names and masks (services.c). */
#include <string.h>

#include "certcore/services.h"
#include "testutil.h"

static void
test_parse(void)
{
	unsigned m = 99;

	CU_ASSERT_EQUAL(cc_services_parse("UM,SMTP", &m), CC_OK);
	CU_ASSERT_EQUAL(m, CC_SVC_UM | CC_SVC_SMTP);
	CU_ASSERT_EQUAL(cc_services_parse(" um  smtp, ,imap ", &m), CC_OK);
	CU_ASSERT_EQUAL(m, CC_SVC_UM | CC_SVC_SMTP | CC_SVC_IMAP);
	CU_ASSERT_EQUAL(cc_services_parse("None", &m), CC_OK);
	CU_ASSERT_EQUAL(m, 0);
	CU_ASSERT_EQUAL(cc_services_parse("", &m), CC_OK);
	CU_ASSERT_EQUAL(m, 0);
	CU_ASSERT_EQUAL(cc_services_parse("pop,iis,ldap", &m), CC_OK);
	CU_ASSERT_EQUAL(m, CC_SVC_POP | CC_SVC_IIS | CC_SVC_LDAP);
}

static void
test_parse_errors(void)
{
	unsigned m = 7;

	CU_ASSERT_EQUAL(cc_services_parse("UM,FTP", &m), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(m, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "FTP"));
	CU_ASSERT_EQUAL(cc_services_parse("UMX", &m), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_services_parse("U", &m), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_services_parse("UM;SMTP", &m), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_services_parse(NULL, &m), CC_ERR_INVAL);
}

static void
test_format(void)
{
	char buf[64], tiny[6];

	CU_ASSERT_STRING_EQUAL(cc_services_format(CC_SVC_UM | CC_SVC_SMTP, buf, sizeof(buf)),
	                       "SMTP, UM");
	CU_ASSERT_STRING_EQUAL(cc_services_format(0, buf, sizeof(buf)), "None");
	CU_ASSERT_STRING_EQUAL(cc_services_format(CC_SVC_ALL, buf, sizeof(buf)),
	                       "SMTP, POP, IMAP, UM, IIS, LDAP");
	/* Truncation never overflows and stays a string. */
	cc_services_format(CC_SVC_ALL, tiny, sizeof(tiny));
	CU_ASSERT(strlen(tiny) < sizeof(tiny));
	CU_ASSERT_STRING_EQUAL(cc_service_name(CC_SVC_LDAP), "LDAP");
	CU_ASSERT_PTR_NULL(cc_service_name(CC_SVC_UM | CC_SVC_SMTP));
}

static void
test_round_trip(void)
{
	unsigned m, back;
	char buf[64];

	for (m = 0; m <= CC_SVC_ALL; m++) {
		CU_ASSERT_EQUAL_FATAL(
		        cc_services_parse(cc_services_format(m, buf, sizeof(buf)), &back), CC_OK);
		CU_ASSERT_EQUAL(back, m);
	}
}

static CU_TestInfo tests[] = {
        {"parse names, separators, case", test_parse},
        {"unknown names refused", test_parse_errors},
        {"format in Exchange's order", test_format},
        {"every mask round-trips", test_round_trip},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("services", tests);
}

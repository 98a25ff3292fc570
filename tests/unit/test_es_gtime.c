/* GeneralizedTime in UTC (gtime.c). */
#include <string.h>

#include "edgesync/gtime.h"
#include "testutil.h"

static void
test_format(void)
{
	char buf[ES_GTIME_LEN + 1];

	CU_ASSERT_STRING_EQUAL(es_gtime_format(0, buf), "19700101000000Z");
	CU_ASSERT_STRING_EQUAL(es_gtime_format(1795863600, buf), "20261128110000Z");
	CU_ASSERT_EQUAL(strlen(es_gtime_format(4102444799, buf)), ES_GTIME_LEN);
}

static void
test_round_trip(void)
{
	char buf[ES_GTIME_LEN + 1];
	time_t t, back;

	for (t = 0; t < 4102444800; t += 86400 * 97 + 3601) {
		CU_ASSERT_EQUAL_FATAL(es_gtime_parse(es_gtime_format(t, buf), &back), ES_OK);
		CU_ASSERT_EQUAL(back, t);
	}
}

static void
test_forms(void)
{
	time_t t;

	CU_ASSERT_EQUAL(es_gtime_parse("20261128110000Z", &t), ES_OK);
	CU_ASSERT_EQUAL(t, 1795863600);
	/* a fraction is dropped; minutes and seconds may be left out (RFC 4517 3.3.13) */
	CU_ASSERT_EQUAL(es_gtime_parse("20261128110000.123456Z", &t), ES_OK);
	CU_ASSERT_EQUAL(t, 1795863600);
	CU_ASSERT_EQUAL(es_gtime_parse("202611281100Z", &t), ES_OK);
	CU_ASSERT_EQUAL(t, 1795863600);
	CU_ASSERT_EQUAL(es_gtime_parse("2026112811Z", &t), ES_OK);
	CU_ASSERT_EQUAL(t, 1795863600);
}

static void
test_refused(void)
{
	const char *bad[] = {
	        "",                     /* empty */
	        "20261128110000",       /* local time */
	        "20261128110000+0100",  /* an offset */
	        "20261328110000Z",      /* month 13 */
	        "20261100110000Z",      /* day 0 */
	        "20261128250000Z",      /* hour 25 */
	        "20261128116000Z",      /* minute 60 */
	        "2026112811000Z",       /* odd digits */
	        "20261128110000.Z",     /* empty fraction */
	        "20261128110000ZZ",     /* trailing */
	        "19691231235959Z",      /* before 1970 */
	        "2026-11-28T11:00:00Z", /* ISO 8601 is not GeneralizedTime */
	        "abcdefghijklmnZ",
	};
	time_t t = 5;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(es_gtime_parse(bad[i], &t), ES_ERR_PARSE);
		CU_ASSERT_EQUAL(t, 0);
	}
	CU_ASSERT_EQUAL(es_gtime_parse(NULL, &t), ES_ERR_PARSE);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"format", test_format},
	        {"round trip", test_round_trip},
	        {"accepted forms", test_forms},
	        {"refused forms", test_refused},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_gtime", tests);
}

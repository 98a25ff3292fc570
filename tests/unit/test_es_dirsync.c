/*
 * The DirSync control's BER (dirsync.c): the request value a server decodes, the response value
 * edgesync decodes, and what it refuses; and the standard string form of an objectGUID
 * (entry.c, used as the key of AD entries). The search itself runs against Samba's AD DC in
 * tests/integration/edgesync_ad.sh.
 */
#include <string.h>

#include "edgesync/dirsync.h"
#include "edgesync/entry.h"
#include "es_testutil.h"

/* A response value as a server sends it: SEQUENCE { moreResults, unused, cookie }. */
static void
response(int more, const char *cookie, size_t len, struct berval *out)
{
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	struct berval c = {len, (char *)cookie};

	CU_ASSERT_FATAL(ber != NULL);
	CU_ASSERT_FATAL(ber_printf(ber, "{iiO}", more, 0, &c) != -1);
	CU_ASSERT_FATAL(ber_flatten2(ber, out, 1) == 0);
	ber_free(ber, 1);
}

static void
test_request(void)
{
	struct berval v = {0, NULL},
	              cookie = {5, "a\0b\xff"
	                           "c"},
	              got = {0, NULL};
	BerElement *ber;
	ber_int_t flags = 0, max = 0;

	CU_ASSERT_EQUAL_FATAL(
	        es_dirsync_encode(LDAP_CONTROL_X_DIRSYNC_OBJECT_SECURITY, 4096, &cookie, &v),
	        ES_OK);
	ber = ber_init(&v);
	CU_ASSERT_FATAL(ber != NULL);
	CU_ASSERT_NOT_EQUAL(ber_scanf(ber, "{iio}", &flags, &max, &got), LBER_ERROR);
	CU_ASSERT_EQUAL(flags, 1);
	CU_ASSERT_EQUAL(max, 4096);
	CU_ASSERT_EQUAL(got.bv_len, 5);
	CU_ASSERT(got.bv_val != NULL && memcmp(got.bv_val,
	                                       "a\0b\xff"
	                                       "c",
	                                       5) == 0);
	ber_memfree(got.bv_val);
	ber_free(ber, 1);
	ber_memfree(v.bv_val);
	/* no cookie: an empty OCTET STRING, as the first request of an area */
	CU_ASSERT_EQUAL_FATAL(es_dirsync_encode(0, 0, NULL, &v), ES_OK);
	CU_ASSERT_EQUAL(v.bv_len, 10); /* 30 08 02 01 00 02 01 00 04 00 */
	ber_memfree(v.bv_val);
}

static void
test_response(void)
{
	struct berval v = {0, NULL}, cookie = {0, NULL};
	bool more = false;

	response(1, "COOKIE\x01", 7, &v);
	CU_ASSERT_EQUAL(es_dirsync_parse(&v, &more, &cookie), ES_OK);
	CU_ASSERT(more);
	CU_ASSERT_EQUAL(cookie.bv_len, 7);
	CU_ASSERT(cookie.bv_val != NULL && memcmp(cookie.bv_val, "COOKIE\x01", 7) == 0);
	ber_memfree(cookie.bv_val);
	ber_memfree(v.bv_val);
	response(0, "x", 1, &v);
	CU_ASSERT_EQUAL(es_dirsync_parse(&v, &more, &cookie), ES_OK);
	CU_ASSERT(!more);
	ber_memfree(cookie.bv_val);
	ber_memfree(v.bv_val);
}

static void
test_bad_response(void)
{
	static const char *bad[] = {"", "\x30", "\x30\x03\x02\x01\x01", "\x04\x00",
	                            "\x30\x09\x02\x01\x00\x02\x01\x00\x04\x05xx"};
	struct berval v, cookie = {1, (char *)1};
	bool more = true;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v.bv_val = (char *)bad[i];
		v.bv_len = i == 0 ? 0 : strlen(bad[i]) + (i == 3 ? 1 : 0);
		if (i == 4)
			v.bv_len = 13;
		CU_ASSERT_EQUAL(es_dirsync_parse(&v, &more, &cookie), ES_ERR_SOURCE);
		CU_ASSERT(!more);
		CU_ASSERT_PTR_NULL(cookie.bv_val);
		CU_ASSERT_EQUAL(cookie.bv_len, 0);
	}
	CU_ASSERT_EQUAL(es_dirsync_parse(NULL, &more, &cookie), ES_ERR_SOURCE);
}

static void
test_guid(void)
{
	/* the bytes of objectGUID 62f6bdc7-889b-459b-8213-4b35f907241d as AD stores them */
	static const unsigned char raw[16] = {0xc7, 0xbd, 0xf6, 0x62, 0x9b, 0x88, 0x9b, 0x45,
	                                      0x82, 0x13, 0x4b, 0x35, 0xf9, 0x07, 0x24, 0x1d};
	struct berval v = {16, (char *)raw};
	char buf[37];

	CU_ASSERT(es_guid_format(&v, buf));
	CU_ASSERT_STRING_EQUAL(buf, "62f6bdc7-889b-459b-8213-4b35f907241d");
	v.bv_len = 15;
	CU_ASSERT(!es_guid_format(&v, buf));
	v.bv_len = 17;
	CU_ASSERT(!es_guid_format(&v, buf));
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"request value", test_request},
	        {"response value", test_response},
	        {"malformed responses refused", test_bad_response},
	        {"objectGUID string form", test_guid},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_dirsync", tests);
}

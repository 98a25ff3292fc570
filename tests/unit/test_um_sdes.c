/* SDES a=crypto values (um/src/sdes.c): every rule of RFC 4568 umd applies, and its refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdes.h"
#include "testutil.h"

/* Keys of 1, 2, 3, ... (bytes 1 to n), base64. */
#define KEY28 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHA=="
#define KEY30 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e"
#define KEY44 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw="
#define KEY29 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0="
#define KEY31 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw=="

static bool
counting(const struct um_sdes *k, size_t n)
{
	size_t i;

	if (k->key_len != n)
		return false;
	for (i = 0; i < n; i++)
		if (k->key[i] != (unsigned char)(i + 1))
			return false;
	return true;
}

/* A value that must parse: its suite and key checked. */
static void
ok(const char *value, unsigned tag, enum um_srtp_suite suite, size_t key_len)
{
	struct um_sdes k;
	char why[256];

	if (!um_sdes_parse(value, &k, why, sizeof(why)))
		fprintf(stderr, "refused %s: %s\n", value, why);
	CU_ASSERT_EQUAL(k.tag, tag);
	CU_ASSERT_EQUAL(k.suite, suite);
	CU_ASSERT(counting(&k, key_len));
	um_sdes_wipe(&k);
}

/*
 * A value that must be refused with `status`, its reason holding `word`; the reason never holds
 * the key text, the key is wiped, and the text is Warning-safe.
 */
static void
refused(const char *value, enum um_sdes_status status, const char *word)
{
	struct um_sdes k;
	char why[256];
	const char *key = value != NULL ? strstr(value, "inline:") : NULL;
	size_t i;

	CU_ASSERT_EQUAL(um_sdes_parse_status(value, &k, why, sizeof(why)), status);
	CU_ASSERT_EQUAL(k.key_len, 0);
	for (i = 0; i < sizeof(k.key); i++)
		CU_ASSERT_EQUAL_FATAL(k.key[i], 0);
	CU_ASSERT_FALSE(um_sdes_parse(value, &k, why, sizeof(why)));
	if (word != NULL && strstr(why, word) == NULL) {
		fprintf(stderr, "%s: reason \"%s\" lacks \"%s\"\n", value, why, word);
		CU_FAIL("reason");
	}
	CU_ASSERT(why[0] != '\0');
	CU_ASSERT_PTR_NULL(strchr(why, '"'));
	if (key != NULL)
		CU_ASSERT_PTR_NULL(strstr(why, "AQIDBAUG"));
	um_sdes_wipe(&k);
}

static void
test_each_suite(void)
{
	ok("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30, 1, UM_SRTP_AES_CM_128_HMAC_SHA1_80, 30);
	ok("2 AES_CM_128_HMAC_SHA1_32 inline:" KEY30, 2, UM_SRTP_AES_CM_128_HMAC_SHA1_32, 30);
	ok("3 AEAD_AES_128_GCM inline:" KEY28, 3, UM_SRTP_AEAD_AES_128_GCM, 28);
	ok("4 AEAD_AES_256_GCM inline:" KEY44, 4, UM_SRTP_AEAD_AES_256_GCM, 44);
	/* blanks, case (ABNF strings are case-insensitive), a 9-digit tag */
	ok("999999999\t aes_cm_128_hmac_sha1_80  INLINE:" KEY30 "  ", 999999999,
	   UM_SRTP_AES_CM_128_HMAC_SHA1_80, 30);
	/* padding left off (RFC 4648 section 3.2) */
	ok("5 AEAD_AES_128_GCM inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHA", 5,
	   UM_SRTP_AEAD_AES_128_GCM, 28);
	ok("6 AEAD_AES_256_GCM inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw",
	   6, UM_SRTP_AEAD_AES_256_GCM, 44);
	CU_ASSERT_STRING_EQUAL(um_srtp_suite_name(UM_SRTP_AEAD_AES_256_GCM), "AEAD_AES_256_GCM");
	CU_ASSERT_STRING_EQUAL(um_srtp_suite_name(UM_SRTP_NONE), "RTP");
	CU_ASSERT_PTR_NULL(um_srtp_suite_name((enum um_srtp_suite)99));
	CU_ASSERT_EQUAL(um_srtp_key_len(UM_SRTP_AES_CM_128_HMAC_SHA1_32), 30);
	CU_ASSERT_EQUAL(um_srtp_key_len(UM_SRTP_NONE), 0);
}

static void
test_unknown_suite(void)
{
	struct um_sdes k;
	char why[256];

	CU_ASSERT_EQUAL(um_sdes_parse_status("1 AES_256_CM_HMAC_SHA1_80 inline:" KEY44, &k, why,
	                                     sizeof(why)),
	                UM_SDES_UNKNOWN_SUITE);
	CU_ASSERT_STRING_EQUAL(why, "AES_256_CM_HMAC_SHA1_80");
	refused("1 F8_128_HMAC_SHA1_80 inline:" KEY30, UM_SDES_UNKNOWN_SUITE,
	        "F8_128_HMAC_SHA1_80");
	/* a key where the suite belongs is never repeated */
	CU_ASSERT_EQUAL(um_sdes_parse_status("1 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e x", &k,
	                                     why, sizeof(why)),
	                UM_SDES_UNKNOWN_SUITE);
	CU_ASSERT_STRING_EQUAL(why, "");
	refused("1 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e x", UM_SDES_UNKNOWN_SUITE, "suite");
}

static void
test_wrong_key_length(void)
{
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY28, UM_SDES_MALFORMED, "30");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY29, UM_SDES_MALFORMED, "29 bytes");
	refused("1 AES_CM_128_HMAC_SHA1_32 inline:" KEY31, UM_SDES_MALFORMED, "31 bytes");
	refused("1 AEAD_AES_128_GCM inline:" KEY30, UM_SDES_MALFORMED, "28");
	refused("1 AEAD_AES_256_GCM inline:" KEY30, UM_SDES_MALFORMED, "44");
	refused("1 AEAD_AES_256_GCM inline:" KEY30 KEY30, UM_SDES_MALFORMED, "longer");
}

static void
test_bad_base64(void)
{
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRob!B0e",
	        UM_SDES_MALFORMED, "base64");
	/* '=' inside (OpenSSL would read it as zero bits) */
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRob=B0e",
	        UM_SDES_MALFORMED, "base64");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eA",
	        UM_SDES_MALFORMED, "base64");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e===",
	        UM_SDES_MALFORMED, "base64");
	refused("1 AEAD_AES_128_GCM inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHA=",
	        UM_SDES_MALFORMED, "base64");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:", UM_SDES_MALFORMED, "base64");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:====", UM_SDES_MALFORMED, "base64");
}

static void
test_mki_refused(void)
{
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|1:4", UM_SDES_UNSUPPORTED, "MKI");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^48|1:4", UM_SDES_UNSUPPORTED, "MKI");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|1:4|2^48", UM_SDES_MALFORMED, "MKI");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|1:1234", UM_SDES_MALFORMED, "MKI");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|:4", UM_SDES_MALFORMED, "MKI");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^48|2^48", UM_SDES_MALFORMED,
	        "lifetime");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|", UM_SDES_MALFORMED, "empty");
}

static void
test_lifetime(void)
{
	ok("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^31", 1, UM_SRTP_AES_CM_128_HMAC_SHA1_80,
	   30);
	ok("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^48", 1, UM_SRTP_AES_CM_128_HMAC_SHA1_80,
	   30);
	ok("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2147483648", 1,
	   UM_SRTP_AES_CM_128_HMAC_SHA1_80, 30);
	ok("1 AEAD_AES_256_GCM inline:" KEY44 "|99999999999999999999999999", 1,
	   UM_SRTP_AEAD_AES_256_GCM, 44);
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^20", UM_SDES_UNSUPPORTED,
	        "2^20 is below 2^31 packets: umd does not rekey");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^30", UM_SDES_UNSUPPORTED, "rekey");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2147483647", UM_SDES_UNSUPPORTED,
	        "rekey");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^", UM_SDES_MALFORMED, "lifetime");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^x", UM_SDES_MALFORMED, "lifetime");
}

static void
test_several_keys(void)
{
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 ";inline:" KEY30, UM_SDES_UNSUPPORTED,
	        "several keys");
	refused("1 AES_CM_128_HMAC_SHA1_80 uri:https://kms.example/k", UM_SDES_UNSUPPORTED,
	        "inline");
	refused("1 AES_CM_128_HMAC_SHA1_80 " KEY30, UM_SDES_MALFORMED, "method");
}

static void
test_session_params(void)
{
	ok("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " KDR=0 WSH=64 -X_VENDOR=1", 1,
	   UM_SRTP_AES_CM_128_HMAC_SHA1_80, 30);
	ok("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " wsh=128", 1, UM_SRTP_AES_CM_128_HMAC_SHA1_80,
	   30);
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " KDR=1", UM_SDES_UNSUPPORTED, "KDR=1");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " KDR=", UM_SDES_MALFORMED, "KDR");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " KDR=123", UM_SDES_MALFORMED, "KDR");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " WSH=32", UM_SDES_MALFORMED, "WSH");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " UNENCRYPTED_SRTP", UM_SDES_UNSUPPORTED,
	        "UNENCRYPTED_SRTP");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " UNENCRYPTED_SRTCP", UM_SDES_UNSUPPORTED,
	        "encrypted");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " UNAUTHENTICATED_SRTP",
	        UM_SDES_UNSUPPORTED, "authenticated");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " FEC_ORDER=FEC_SRTP",
	        UM_SDES_UNSUPPORTED, "FEC_ORDER");
	/* FEC_KEY's value is a key: named, never repeated */
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " FEC_KEY=inline:" KEY30,
	        UM_SDES_UNSUPPORTED, "FEC_KEY");
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " SOMETHING_NEW=1", UM_SDES_UNSUPPORTED,
	        "unknown a=crypto session parameter SOMETHING_NEW");
	/* a second key after a blank is an unknown parameter, and not repeated */
	refused("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " inline:" KEY30, UM_SDES_UNSUPPORTED,
	        "an unknown a=crypto session parameter");
}

static void
test_malformed(void)
{
	refused(NULL, UM_SDES_MALFORMED, "no value");
	refused("", UM_SDES_MALFORMED, "tag");
	refused("x AES_CM_128_HMAC_SHA1_80 inline:" KEY30, UM_SDES_MALFORMED, "tag");
	refused("1234567890 AES_CM_128_HMAC_SHA1_80 inline:" KEY30, UM_SDES_MALFORMED, "tag");
	refused("1", UM_SDES_MALFORMED, "tag");
	refused("1 ", UM_SDES_MALFORMED, "suite");
	refused("1 AES_CM_128_HMAC_SHA1_80", UM_SDES_MALFORMED, "suite");
	refused("1 AES-CM inline:" KEY30, UM_SDES_MALFORMED, "suite");
	refused("1 AES_CM_128_HMAC_SHA1_80 ", UM_SDES_MALFORMED, "method");
}

static void
test_new_key_and_format(void)
{
	struct um_sdes k, back;
	char text[UM_SDES_TEXT_MAX], why[256], small[40];
	enum um_srtp_suite s;
	size_t i;

	for (s = UM_SRTP_AES_CM_128_HMAC_SHA1_80; s <= UM_SRTP_AEAD_AES_256_GCM; s++) {
		CU_ASSERT_TRUE_FATAL(um_sdes_new_key(s, &k));
		CU_ASSERT_EQUAL(k.key_len, um_srtp_key_len(s));
		k.tag = 7;
		CU_ASSERT_TRUE_FATAL(um_sdes_format(&k, text, sizeof(text)));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, um_srtp_suite_name(s)));
		CU_ASSERT_TRUE(um_sdes_parse(text, &back, why, sizeof(why)));
		CU_ASSERT_EQUAL(back.tag, 7);
		CU_ASSERT_EQUAL(back.suite, s);
		CU_ASSERT_EQUAL(back.key_len, k.key_len);
		CU_ASSERT_EQUAL(memcmp(back.key, k.key, k.key_len), 0);
		CU_ASSERT_FALSE(um_sdes_format(&k, small, sizeof(small)));
		um_sdes_wipe(&back);
	}
	/* two fresh keys differ */
	CU_ASSERT_TRUE_FATAL(um_sdes_new_key(UM_SRTP_AES_CM_128_HMAC_SHA1_80, &back));
	CU_ASSERT_NOT_EQUAL(memcmp(back.key, k.key, 30), 0);
	um_sdes_wipe(&k);
	for (i = 0; i < sizeof(k); i++)
		CU_ASSERT_EQUAL_FATAL(((unsigned char *)&k)[i], 0);
	CU_ASSERT_FALSE(um_sdes_new_key(UM_SRTP_NONE, &k));
	CU_ASSERT_FALSE(um_sdes_format(&k, text, sizeof(text)));
	back.key_len = 29;
	CU_ASSERT_FALSE(um_sdes_format(&back, text, sizeof(text)));
	um_sdes_wipe(&back);
	um_sdes_wipe(NULL);
}

static CU_TestInfo tests[] = {
        {"each suite, its key length, case and padding", test_each_suite},
        {"unknown suites: named, unless they might be a key", test_unknown_suite},
        {"wrong key length for the suite", test_wrong_key_length},
        {"bad base64", test_bad_base64},
        {"MKI refused", test_mki_refused},
        {"lifetime: from 2^31 taken, below refused", test_lifetime},
        {"several keys, other key methods", test_several_keys},
        {"session parameters", test_session_params},
        {"malformed values", test_malformed},
        {"fresh keys, formatted and parsed back", test_new_key_and_format},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_sdes", tests);
}

/* umd's offer/answer rules (um/src/sdp_check.c), and offers sofia-sip's SDP parser must not see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp_check.h"
#include "testutil.h"

#define SESSION "v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
#define AVP     SESSION "m=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n"
#define SAVP                                                                                       \
	SESSION "m=audio 4000 RTP/SAVP 8\r\n"                                                      \
	        "a=crypto:3 AES_CM_128_HMAC_SHA1_32 "                                              \
	        "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"

/* um_sdp_answer on a NUL-terminated offer: the answer (owned) or NULL, why in `why`. */
static char *
answer(enum um_mode mode, const char *offer, char *why, size_t len)
{
	char *a = NULL;

	why[0] = '\0';
	if (!um_sdp_answer(mode, offer, offer ? strlen(offer) : 0, "127.0.0.1", 40000, &a, why,
	                   len)) {
		CU_ASSERT_PTR_NULL(a);
		CU_ASSERT(why[0] != '\0');
		return NULL;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	return a;
}

static void
test_avp(void)
{
	char why[384], *a;

	a = answer(UM_MODE_SIPSECURED, AVP, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "m=audio 40000 RTP/AVP 0\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "c=IN IP4 127.0.0.1\r\n"));
	CU_ASSERT_PTR_NULL(strstr(a, "a=crypto"));
	free(a);
	/* secured mode: RTP/AVP is refused */
	CU_ASSERT_PTR_NULL(answer(UM_MODE_SECURED, AVP, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "RTP/SAVP"));
}

static void
test_savp(void)
{
	char why[384], *a;

	a = answer(UM_MODE_SECURED, SAVP, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "m=audio 40000 RTP/SAVP 8\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:"));
	/* umd's own key, not the offer's */
	CU_ASSERT_PTR_NULL(strstr(a, "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"));
	free(a);
}

static void
test_no_offer(void)
{
	char why[384], *a;

	a = answer(UM_MODE_SECURED, NULL, why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "RTP/SAVP 0\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
	free(a);
}

static void
test_no_usable_stream(void)
{
	char why[384];

	CU_ASSERT_PTR_NULL(answer(UM_MODE_SIPSECURED, SESSION "m=audio 4000 RTP/AVP 18\r\n", why,
	                          sizeof(why)));
	CU_ASSERT_PTR_NULL(answer(UM_MODE_SECURED,
	                          SESSION
	                          "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 F8_128_HMAC_SHA1_80 "
	                          "inline:abc\r\n",
	                          why, sizeof(why)));
	CU_ASSERT_PTR_NULL(answer(UM_MODE_SIPSECURED, "not sdp at all", why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "malformed SDP"));
}

/*
 * sofia-sip 1.12.11's parser never returns on these (it allocates until memory runs out): they
 * must be refused before they reach it (tests/fuzz/regress/sdp/). Each returns at once here.
 */
static void
test_parser_loop_refused(void)
{
	static const char *const offers[] = {
	        "v=0\r\nm=audio 4002 RTP/SAV IP6 ::1\r\n",
	        "v=0\r\nm=video 5000 RTAP /PV960\r\n",
	        "v=0\r\nm=audio/5000 RTAP /x\r\n",
	        "v=0\r\nm=audio 5000 X a//b\r\n",
	        "v=0\r\nm=audio 40 IN \t\nc=IN IP4 1270 0\r\n",
	        "v=0\r\n  m=audio 40 X y:z\r\n",
	};
	char why[384];
	size_t i;

	for (i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
		CU_ASSERT_PTR_NULL(answer(UM_MODE_SIPSECURED, offers[i], why, sizeof(why)));
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "malformed SDP"));
	}
}

/* What the guard lets through: the fields of an RFC 4566 m= line, however spaced. */
static void
test_guard_allows_good_lines(void)
{
	char why[384], *a;

	a = answer(UM_MODE_SIPSECURED,
	           SESSION "m=audio  4000/2   RTP/AVP 0 \r\nm=application 5000 udp wb\r\n", why,
	           sizeof(why));
	CU_ASSERT_PTR_NOT_NULL(a);
	free(a);
	a = answer(UM_MODE_SIPSECURED, SESSION "m=image 6000 udptl t38\r\nm=audio 4000 RTP/AVP 0\n",
	           why, sizeof(why));
	CU_ASSERT_PTR_NOT_NULL(a);
	free(a);
}

static CU_TestInfo tests[] = {
        {"RTP/AVP offer: answered in sipsecured, 488 in secured", test_avp},
        {"RTP/SAVP offer with SDES: umd's own key", test_savp},
        {"no offer: umd's own", test_no_offer},
        {"no usable stream, or not SDP", test_no_usable_stream},
        {"m= lines that hang sofia-sip's parser are refused", test_parser_loop_refused},
        {"well-formed m= lines pass the guard", test_guard_allows_good_lines},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_sdp_check", tests);
}

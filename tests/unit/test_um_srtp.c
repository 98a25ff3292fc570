/* SRTP and SRTCP with libsrtp2 (um/src/media/srtp.c): every suite, and what must be refused. */
#include <string.h>

#include "media/rtp.h"
#include "media/srtp.h"
#include "testutil.h"

static void
keys(enum um_srtp_suite suite, struct um_sdes *a, struct um_sdes *b)
{
	CU_ASSERT_TRUE_FATAL(um_sdes_new_key(suite, a));
	CU_ASSERT_TRUE_FATAL(um_sdes_new_key(suite, b));
}

static size_t
rtp(uint8_t *buf, uint16_t seq)
{
	struct um_rtp h = {.pt = 0, .seq = seq, .ts = seq * 160u, .ssrc = 0x11223344};

	um_rtp_header(buf, &h);
	memset(buf + UM_RTP_HEADER, 0x55, 160);
	return UM_RTP_HEADER + 160;
}

/* The sender's context protects with its tx key; the receiver's rx key is that same key. */
static void
roundtrip(enum um_srtp_suite suite)
{
	struct um_sdes ka, kb;
	struct um_srtp *a = NULL, *b = NULL;
	uint8_t buf[256], copy[256];
	size_t len, clen;

	keys(suite, &ka, &kb);
	CU_ASSERT_EQUAL_FATAL(um_srtp_new(&ka, &kb, &a), UM_OK); /* a sends with ka */
	CU_ASSERT_EQUAL_FATAL(um_srtp_new(&kb, &ka, &b), UM_OK); /* b receives with ka */
	len = rtp(buf, 100);
	CU_ASSERT_EQUAL(um_srtp_protect(a, buf, &len, sizeof(buf)), UM_SRTP_OK);
	CU_ASSERT(len > UM_RTP_HEADER + 160);
	CU_ASSERT_NOT_EQUAL(buf[UM_RTP_HEADER], 0x55); /* the payload is encrypted */
	memcpy(copy, buf, len);
	clen = len;
	CU_ASSERT_EQUAL(um_srtp_unprotect(b, buf, &len), UM_SRTP_OK);
	CU_ASSERT_EQUAL(len, UM_RTP_HEADER + 160);
	CU_ASSERT_EQUAL(buf[UM_RTP_HEADER + 5], 0x55);
	/* The same packet again: a replay. */
	CU_ASSERT_EQUAL(um_srtp_unprotect(b, copy, &clen), UM_SRTP_REPLAY);
	/* A flipped bit: authentication fails. */
	len = rtp(buf, 101);
	CU_ASSERT_EQUAL(um_srtp_protect(a, buf, &len, sizeof(buf)), UM_SRTP_OK);
	buf[UM_RTP_HEADER + 3] ^= 0x01;
	CU_ASSERT_EQUAL(um_srtp_unprotect(b, buf, &len), UM_SRTP_AUTH);
	/* The wrong key: umd's own key checking what the gateway sends. */
	len = rtp(buf, 102);
	CU_ASSERT_EQUAL(um_srtp_protect(a, buf, &len, sizeof(buf)), UM_SRTP_OK);
	CU_ASSERT_EQUAL(um_srtp_unprotect(a, buf, &len), UM_SRTP_AUTH);
	/* SRTCP: a minimal receiver report. */
	memset(buf, 0, 8);
	buf[0] = 0x80;
	buf[1] = 201;
	buf[3] = 1;
	buf[4] = 0x11;
	len = 8;
	CU_ASSERT_EQUAL(um_srtp_protect_rtcp(a, buf, &len, sizeof(buf)), UM_SRTP_OK);
	CU_ASSERT(len > 8);
	CU_ASSERT_EQUAL(um_srtp_unprotect_rtcp(b, buf, &len), UM_SRTP_OK);
	CU_ASSERT_EQUAL(len, 8);
	/* Too short to be anything, and no room to protect. */
	len = 4;
	CU_ASSERT_EQUAL(um_srtp_unprotect(b, buf, &len), UM_SRTP_BAD);
	len = rtp(buf, 103);
	CU_ASSERT_EQUAL(um_srtp_protect(a, buf, &len, len + 4), UM_SRTP_BAD);
	um_srtp_free(a);
	um_srtp_free(b);
	um_sdes_wipe(&ka);
	um_sdes_wipe(&kb);
}

static void
test_aes_cm_80(void)
{
	roundtrip(UM_SRTP_AES_CM_128_HMAC_SHA1_80);
}

static void
test_aes_cm_32(void)
{
	roundtrip(UM_SRTP_AES_CM_128_HMAC_SHA1_32);
}

static void
test_gcm_128(void)
{
	roundtrip(UM_SRTP_AEAD_AES_128_GCM);
}

static void
test_gcm_256(void)
{
	roundtrip(UM_SRTP_AEAD_AES_256_GCM);
}

static void
test_refused(void)
{
	struct um_sdes a, b;
	struct um_srtp *s = NULL;

	keys(UM_SRTP_AES_CM_128_HMAC_SHA1_80, &a, &b);
	b.suite = UM_SRTP_AEAD_AES_256_GCM; /* the two directions' suites differ */
	CU_ASSERT_NOT_EQUAL(um_srtp_new(&a, &b, &s), UM_OK);
	CU_ASSERT_PTR_NULL(s);
	b.suite = UM_SRTP_AES_CM_128_HMAC_SHA1_80;
	b.key_len = 16; /* a key of the wrong length */
	CU_ASSERT_NOT_EQUAL(um_srtp_new(&a, &b, &s), UM_OK);
	a.suite = b.suite = UM_SRTP_NONE;
	CU_ASSERT_NOT_EQUAL(um_srtp_new(&a, &b, &s), UM_OK);
	um_srtp_free(NULL);
}

static CU_TestInfo tests[] = {
        {"AES_CM_128_HMAC_SHA1_80", test_aes_cm_80},
        {"AES_CM_128_HMAC_SHA1_32", test_aes_cm_32},
        {"AEAD_AES_128_GCM", test_gcm_128},
        {"AEAD_AES_256_GCM", test_gcm_256},
        {"keys refused", test_refused},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_srtp", tests);
}

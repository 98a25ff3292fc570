/* RTP packets and RFC 4733 events (um/src/media/rtp.c). */
#include <string.h>

#include "media/rtp.h"
#include "testutil.h"

static void
test_roundtrip(void)
{
	uint8_t buf[160];
	struct um_rtp h = {
	        .marker = true, .pt = 8, .seq = 65535, .ts = 0xfffffff0, .ssrc = 0xdeadbeef};
	struct um_rtp got;

	um_rtp_header(buf, &h);
	memset(buf + UM_RTP_HEADER, 0xd5, 160 - UM_RTP_HEADER);
	CU_ASSERT_TRUE_FATAL(um_rtp_parse(buf, 160, &got));
	CU_ASSERT_TRUE(got.marker);
	CU_ASSERT_EQUAL(got.pt, 8);
	CU_ASSERT_EQUAL(got.seq, 65535);
	CU_ASSERT_EQUAL(got.ts, 0xfffffff0);
	CU_ASSERT_EQUAL(got.ssrc, 0xdeadbeef);
	CU_ASSERT_PTR_EQUAL(got.payload, buf + UM_RTP_HEADER);
	CU_ASSERT_EQUAL(got.payload_len, 160 - UM_RTP_HEADER);
}

static void
test_csrc_extension_padding(void)
{
	uint8_t buf[64];
	struct um_rtp h = {.pt = 0, .seq = 1, .ts = 2, .ssrc = 3}, got;

	memset(buf, 0, sizeof(buf));
	um_rtp_header(buf, &h);
	/* Two CSRCs, an extension of one word, 4 payload bytes and 4 of padding. */
	buf[0] = 0x80 | 0x20 | 0x10 | 2;
	buf[20] = 0xbe;
	buf[21] = 0xde;
	buf[22] = 0;
	buf[23] = 1;
	memcpy(buf + 28, "abcd", 4);
	buf[35] = 4;
	CU_ASSERT_TRUE_FATAL(um_rtp_parse(buf, 36, &got));
	CU_ASSERT_EQUAL(got.payload_len, 4);
	CU_ASSERT_EQUAL(memcmp(got.payload, "abcd", 4), 0);
}

static void
test_refused(void)
{
	uint8_t buf[64];
	struct um_rtp h = {.pt = 0, .seq = 1, .ts = 2, .ssrc = 3}, got;

	um_rtp_header(buf, &h);
	CU_ASSERT_FALSE(um_rtp_parse(buf, 11, &got)); /* shorter than the fixed header */
	buf[0] = 0x40;                                /* version 1 */
	CU_ASSERT_FALSE(um_rtp_parse(buf, 20, &got));
	buf[0] = 0x8f; /* 15 CSRCs in 20 bytes */
	CU_ASSERT_FALSE(um_rtp_parse(buf, 20, &got));
	buf[0] = 0x90; /* an extension whose header is cut */
	CU_ASSERT_FALSE(um_rtp_parse(buf, 14, &got));
	buf[0] = 0x90; /* an extension longer than the packet */
	buf[12] = 0;
	buf[13] = 0;
	buf[14] = 0x40;
	buf[15] = 0;
	CU_ASSERT_FALSE(um_rtp_parse(buf, 20, &got));
	buf[0] = 0xa0; /* padding count larger than the payload */
	buf[19] = 9;
	CU_ASSERT_FALSE(um_rtp_parse(buf, 20, &got));
	buf[19] = 0; /* padding count of zero */
	CU_ASSERT_FALSE(um_rtp_parse(buf, 20, &got));
	buf[0] = 0x80; /* RTCP (PT 200) on an rtcp-mux port is not RTP */
	buf[1] = 200;
	CU_ASSERT_FALSE(um_rtp_parse(buf, 20, &got));
	CU_ASSERT_TRUE(um_rtp_is_rtcp(buf, 20));
	buf[1] = 0;
	CU_ASSERT_FALSE(um_rtp_is_rtcp(buf, 20));
}

static void
test_events(void)
{
	const uint8_t hash_end[] = {11, 0x8a, 0x03, 0x20};
	const uint8_t star[] = {10, 0x0a, 0x00, 0xa0, 0xff};
	struct um_rtp_event e;

	CU_ASSERT_TRUE_FATAL(um_rtp_event_parse(hash_end, sizeof(hash_end), &e));
	CU_ASSERT_EQUAL(e.event, 11);
	CU_ASSERT_TRUE(e.end);
	CU_ASSERT_EQUAL(e.volume, 10);
	CU_ASSERT_EQUAL(e.duration, 800);
	CU_ASSERT_EQUAL(um_rtp_event_char(e.event), '#');
	CU_ASSERT_TRUE_FATAL(um_rtp_event_parse(star, sizeof(star), &e));
	CU_ASSERT_FALSE(e.end);
	CU_ASSERT_EQUAL(um_rtp_event_char(e.event), '*');
	CU_ASSERT_EQUAL(um_rtp_event_char(0), '0');
	CU_ASSERT_EQUAL(um_rtp_event_char(15), 'D');
	CU_ASSERT_EQUAL(um_rtp_event_char(16), 0); /* a tone event, not DTMF */
	CU_ASSERT_FALSE(um_rtp_event_parse(hash_end, 3, &e));
}

static CU_TestInfo tests[] = {
        {"header written and read back", test_roundtrip},
        {"CSRCs, extension and padding skipped", test_csrc_extension_padding},
        {"malformed packets refused", test_refused},
        {"RFC 4733 events", test_events},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_rtp", tests);
}

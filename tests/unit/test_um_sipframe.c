/* SIP message boundaries in a stream (um/src/sipframe.c). */
#include <string.h>

#include "sipframe.h"
#include "testutil.h"

static const char MSG[] = "OPTIONS sip:um SIP/2.0\r\nVia: SIP/2.0/TLS h\r\nContent-Length: 5\r\n"
                          "\r\nhello";

static bool
pending_after(const char *s, size_t len)
{
	struct um_sipframe f;

	um_sipframe_init(&f);
	um_sipframe_feed(&f, s, len);
	return um_sipframe_pending(&f);
}

static void
test_whole_and_partial(void)
{
	size_t len = strlen(MSG), i;
	struct um_sipframe f;

	CU_ASSERT_FALSE(pending_after(MSG, len));
	/* Every cut short of the end leaves a message half-way. */
	for (i = 1; i < len; i++)
		CU_ASSERT_TRUE(pending_after(MSG, i));
	/* Byte by byte, the same. */
	um_sipframe_init(&f);
	for (i = 0; i < len; i++)
		um_sipframe_feed(&f, MSG + i, 1);
	CU_ASSERT_FALSE(um_sipframe_pending(&f));
	/* Two messages and keep-alives between them, in one piece. */
	um_sipframe_init(&f);
	um_sipframe_feed(&f, "\r\n\r\n", 4);
	CU_ASSERT_FALSE(um_sipframe_pending(&f));
	um_sipframe_feed(&f, MSG, len);
	um_sipframe_feed(&f, "\r\n", 2);
	um_sipframe_feed(&f, MSG, len - 2);
	CU_ASSERT_TRUE(um_sipframe_pending(&f));
	um_sipframe_feed(&f, MSG + len - 2, 2);
	CU_ASSERT_FALSE(um_sipframe_pending(&f));
}

static void
test_headers(void)
{
	static const char compact[] = "BYE sip:x SIP/2.0\nl:3\n\nabc";
	static const char none[] = "ACK sip:x SIP/2.0\r\nVia: x\r\n\r\n";
	static const char spaced[] = "BYE sip:x SIP/2.0\r\ncontent-LENGTH \t:  2\r\n\r\nab";
	static const char big[] = "INVITE sip:x SIP/2.0\r\nContent-Length: 1000\r\n\r\n0123456789";

	CU_ASSERT_FALSE(pending_after(compact, strlen(compact)));
	CU_ASSERT_TRUE(pending_after(compact, strlen(compact) - 1));
	CU_ASSERT_FALSE(pending_after(none, strlen(none)));
	CU_ASSERT_FALSE(pending_after(spaced, strlen(spaced)));
	/* The stalled body of the security finding: 10 bytes of 1000. */
	CU_ASSERT_TRUE(pending_after(big, strlen(big)));
}

static CU_TestInfo tests[] = {
        {"whole, cut and byte-by-byte messages", test_whole_and_partial},
        {"Content-Length forms, none, and a stalled body", test_headers},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_sipframe", tests);
}

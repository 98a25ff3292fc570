/* A voice message as mail, and SMTP replies (um/src/voicemail/message.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "voicemail/message.h"

static struct um_qmsg
msg(const char *from, const char *to, double seconds, bool truncated)
{
	struct um_qmsg m;

	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "20261202T071500Z-3f9a1c2b");
	m.from = from;
	m.to = to;
	m.seconds = seconds;
	m.truncated = truncated;
	m.started = 1796195700; /* 2026-12-02T07:15:00Z */
	return m;
}

static const char *
header(char **lines, size_t n, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < n; i++)
		if (strncmp(lines[i], name, len) == 0 && lines[i][len] == ':')
			return lines[i] + len + 2;
	return NULL;
}

static void
test_headers(void)
{
	struct um_qmsg m = msg("\"Alice\" <sip:1002@gw1.example.test>", "sip:1001@um1.example.test",
	                       12.4, false);
	char **lines = NULL;
	size_t n = 0, i;

	CU_ASSERT_EQUAL_FATAL(um_message_headers(&m, "voicemail@example.test", "bob@example.test",
	                                         "<20261202T071500Z-3f9a1c2b@um1.example.test>",
	                                         1796195760, &lines, &n),
	                      UM_OK);
	CU_ASSERT_STRING_EQUAL(header(lines, n, "Date"), "Wed, 02 Dec 2026 07:16:00 +0000");
	CU_ASSERT_STRING_EQUAL(header(lines, n, "From"), "<voicemail@example.test>");
	CU_ASSERT_STRING_EQUAL(header(lines, n, "To"), "<bob@example.test>");
	CU_ASSERT_STRING_EQUAL(header(lines, n, "Subject"),
	                       "Voice message from Alice (1002) (12 seconds)");
	CU_ASSERT_STRING_EQUAL(header(lines, n, "Message-ID"),
	                       "<20261202T071500Z-3f9a1c2b@um1.example.test>");
	CU_ASSERT_STRING_EQUAL(header(lines, n, "X-Umedge-Message-Id"),
	                       "20261202T071500Z-3f9a1c2b");
	for (i = 0; i < n; i++)
		CU_ASSERT_PTR_NULL(strpbrk(lines[i], "\r\n"));
	um_message_lines_free(lines, n);
}

/* A caller's display name cannot add a header, nor bring bytes that are not ASCII. */
static void
test_header_injection(void)
{
	struct um_qmsg m = msg("\"Eve\r\nBcc: victim@example.test\xc3\xa9\" <sip:6666@gw>",
	                       "sip:1001@um", 1.0, true);
	char **lines = NULL;
	size_t n = 0, i;
	const char *subj;

	CU_ASSERT_EQUAL_FATAL(um_message_headers(&m, "a@b.c", "d@e.f", "<x@y>", 0, &lines, &n),
	                      UM_OK);
	for (i = 0; i < n; i++) {
		CU_ASSERT_PTR_NULL(strpbrk(lines[i], "\r\n"));
		CU_ASSERT_NOT_EQUAL(strncmp(lines[i], "Bcc", 3), 0);
	}
	subj = header(lines, n, "Subject");
	CU_ASSERT_PTR_NOT_NULL_FATAL(subj);
	CU_ASSERT_PTR_NOT_NULL(strstr(subj, "(6666) (1 second) [cut short]"));
	for (i = 0; subj[i] != '\0'; i++)
		CU_ASSERT(subj[i] >= 0x20 && subj[i] < 0x7f);
	um_message_lines_free(lines, n);
}

static void
test_text(void)
{
	struct um_qmsg m = msg("<sip:1002@gw1>", "sip:1001@um1.example.test", 75.0, false);
	char *t = um_message_text(&m);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "From:     1002\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "To:       1001\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "Time:     2026-12-02 07:15:00 UTC\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "Duration: 1:15\r\n"));
	free(t);
	m = msg(NULL, NULL, 0, true);
	t = um_message_text(&m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "From:     an unknown caller"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "To:       unknown"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "(cut short)"));
	free(t);
}

static void
test_uri_user(void)
{
	char b[16];

	CU_ASSERT(um_message_uri_user("sip:1001@um1.example.test", b, sizeof(b)));
	CU_ASSERT_STRING_EQUAL(b, "1001");
	CU_ASSERT(um_message_uri_user("sips:alice@x;transport=tls", b, sizeof(b)));
	CU_ASSERT_STRING_EQUAL(b, "alice");
	CU_ASSERT(um_message_uri_user("\"A\" <sip:+4930123@gw>", b, sizeof(b)));
	CU_ASSERT_STRING_EQUAL(b, "+4930123");
	CU_ASSERT(um_message_uri_user("tel:+1-555;phone-context=x", b, sizeof(b)));
	CU_ASSERT_STRING_EQUAL(b, "+1-555");
	CU_ASSERT_FALSE(um_message_uri_user("sip:@host", b, sizeof(b)));
	CU_ASSERT_FALSE(um_message_uri_user("http://x", b, sizeof(b)));
	CU_ASSERT_FALSE(um_message_uri_user(NULL, b, sizeof(b)));
	CU_ASSERT_FALSE(um_message_uri_user("sip:0123456789012345678@h", b, sizeof(b)));
	{
		char id[64];

		um_message_id("ID", "um1.example.test", id, sizeof(id));
		CU_ASSERT_STRING_EQUAL(id, "<ID@um1.example.test>");
	}
}

static void
test_reply_parse(void)
{
	struct um_smtp_reply r;

	um_smtp_reply_parse("250 2.0.0 Ok: queued as 4ABC\r\n", 30, &r);
	CU_ASSERT_EQUAL(r.code, 250);
	CU_ASSERT_EQUAL(r.eclass, 2);
	CU_ASSERT_EQUAL(r.esubject, 0);
	CU_ASSERT_EQUAL(r.edetail, 0);
	CU_ASSERT_STRING_EQUAL(r.text, "250 2.0.0 Ok: queued as 4ABC");
	um_smtp_reply_parse("550 5.1.1 <x@y>: Recipient address rejected", 44, &r);
	CU_ASSERT_EQUAL(r.code, 550);
	CU_ASSERT_EQUAL(r.esubject, 1);
	CU_ASSERT_EQUAL(r.edetail, 1);
	um_smtp_reply_parse("250-PIPELINING", 14, &r);
	CU_ASSERT_EQUAL(r.code, 250);
	CU_ASSERT_EQUAL(r.eclass, 0);
	um_smtp_reply_parse("550 User unknown", 16, &r);
	CU_ASSERT_EQUAL(r.code, 550);
	CU_ASSERT_EQUAL(r.eclass, 0);
	CU_ASSERT_EQUAL(r.esubject, -1);
	/* The enhanced class must be the code's. */
	um_smtp_reply_parse("550 4.1.1 odd", 13, &r);
	CU_ASSERT_EQUAL(r.eclass, 0);
	/* Not replies. */
	um_smtp_reply_parse("hello", 5, &r);
	CU_ASSERT_EQUAL(r.code, 0);
	um_smtp_reply_parse("25", 2, &r);
	CU_ASSERT_EQUAL(r.code, 0);
	um_smtp_reply_parse("650 x", 5, &r);
	CU_ASSERT_EQUAL(r.code, 0);
	um_smtp_reply_parse("250x", 4, &r);
	CU_ASSERT_EQUAL(r.code, 0);
	um_smtp_reply_parse("554 \x01\xff\r\nBcc", 11, &r);
	CU_ASSERT_STRING_EQUAL(r.text, "554 ????Bcc");
}

static void
test_permanent(void)
{
	struct um_smtp_reply r;

#define P(line, stage)                                                                             \
	(um_smtp_reply_parse(line, strlen(line), &r), um_smtp_reply_permanent(&r, stage))
	CU_ASSERT(P("550 5.1.1 unknown user", UM_SMTP_RCPT));
	CU_ASSERT(P("550 User unknown", UM_SMTP_RCPT));
	CU_ASSERT(P("552 5.2.2 Mailbox full", UM_SMTP_RCPT));
	CU_ASSERT(P("552 5.3.4 Message size exceeds", UM_SMTP_DATAEND));
	CU_ASSERT(P("554 5.6.0 bad content", UM_SMTP_DATAEND));
	/* Deferred: 4xx, policy (our certificate?), the sender, the session, the system. */
	CU_ASSERT_FALSE(P("450 4.2.0 try later", UM_SMTP_RCPT));
	CU_ASSERT_FALSE(P("554 5.7.1 Client host rejected: Access denied", UM_SMTP_RCPT));
	CU_ASSERT_FALSE(P("553 5.1.8 sender unknown", UM_SMTP_MAIL));
	CU_ASSERT_FALSE(P("554 5.3.0 system", UM_SMTP_DATAEND));
	CU_ASSERT_FALSE(P("554 5.5.1 protocol", UM_SMTP_RCPT));
	CU_ASSERT_FALSE(P("550 5.1.1 x", UM_SMTP_CONNECT));
	CU_ASSERT_FALSE(P("550 5.1.1 x", UM_SMTP_DATA));
	CU_ASSERT_FALSE(P("250 ok", UM_SMTP_RCPT));
#undef P
}

static CU_TestInfo tests[] = {
        {"headers", test_headers},
        {"a caller cannot add headers", test_header_injection},
        {"the text part", test_text},
        {"user part of a URI; Message-ID", test_uri_user},
        {"SMTP replies parsed", test_reply_parse},
        {"which refusals fail a message for good", test_permanent},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_message", tests);
}

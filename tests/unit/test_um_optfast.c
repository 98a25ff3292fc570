/* Keep-alive OPTIONS answered below sofia-sip (um/src/optfast.c). */
#include <stdio.h>
#include <string.h>

#include "optfast.h"
#include "testutil.h"

#define TAIL                                                                                       \
	"Contact: <sips:127.0.0.1:5061>\r\nUser-Agent: umd/0.1\r\nAccept: application/sdp\r\n"     \
	"Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\nSupported: timer\r\nContent-Length: "         \
	"0\r\n\r\n"

#define VIA  "Via: SIP/2.0/TLS 192.0.2.1:5555;branch=z9hG4bK1\r\n"
#define FROM "From: <sips:gw@gw1.example.test>;tag=a1\r\n"
#define TO   "To: <sips:um@um1.example.test>\r\n"
#define REST "Call-ID: c1@gw1\r\nCSeq: 7 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
#define RL   "OPTIONS sips:um@um1.example.test SIP/2.0\r\n"

static struct um_optfast o;
static char answer[UM_OPTFAST_ANSWER_MAX];
static size_t alen, used;

static enum um_optfast_result
try(const char *msg)
{
	answer[0] = '\0';
	return um_optfast_answer(&o, msg, strlen(msg), "192.0.2.1", 5555, answer, &alen, &used);
}

static void
test_answer(void)
{
	static const char req[] = RL VIA FROM TO REST;
	char want[1024], tag[32];
	const char *t;

	CU_ASSERT_FATAL(um_optfast_init(&o, TAIL, 42));
	CU_ASSERT_EQUAL_FATAL(try(req), UM_OPTFAST_ANSWERED);
	CU_ASSERT_EQUAL(used, strlen(req));
	answer[alen] = '\0';
	/* The To tag: 13 characters of msg_random_token, as nta_agent_newtag makes them. */
	t = strstr(answer, "um1.example.test>;tag=");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(strcspn(t + 22, "\r"), 13);
	snprintf(tag, sizeof(tag), "%.13s", t + 22);
	snprintf(want, sizeof(want),
	         "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 192.0.2.1:5555;branch=z9hG4bK1;rport=5555\r\n"
	         "From: <sips:gw@gw1.example.test>;tag=a1\r\n"
	         "To: <sips:um@um1.example.test>;tag=%s\r\nCall-ID: c1@gw1\r\nCSeq: 7 "
	         "OPTIONS\r\n" TAIL,
	         tag);
	CU_ASSERT_STRING_EQUAL(answer, want);
	/* Another answer, another tag. */
	CU_ASSERT_EQUAL_FATAL(try(req), UM_OPTFAST_ANSWERED);
	answer[alen] = '\0';
	CU_ASSERT_PTR_NULL(strstr(answer, tag));
}

static void
test_rport_and_more(void)
{
	/* ;rport in the middle is given its value in place (RFC 3581 section 4). */
	CU_ASSERT_EQUAL_FATAL(
	        try(RL "Via: SIP/2.0/TLS 192.0.2.1:5555;rport;branch=z9hG4bK1\r\n" FROM TO REST),
	        UM_OPTFAST_ANSWERED);
	answer[alen] = '\0';
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(answer, "Via: SIP/2.0/TLS 192.0.2.1:5555;rport=5555;branch=z9hG4bK1\r\n"));
	/* A display name, headers the answer does not carry, another order. */
	CU_ASSERT_EQUAL(try(RL "CSeq: 1 OPTIONS\r\nCall-ID: x\r\n" TO VIA
	                       "From: \"Gateway One\" <sip:gw@h;transport=tls>;tag=1\r\n"
	                       "User-Agent: gw/1.0 (build 7)\r\nAllow: INVITE, ACK\r\n"
	                       "Supported: timer, 100rel\r\nAccept: application/sdp\r\n"
	                       "Contact: <sips:gw@192.0.2.1:5555;transport=tls>\r\n"
	                       "Content-Length: 0\r\n\r\n"),
	                UM_OPTFAST_ANSWERED);
	/* Two keep-alives in one piece: the first is taken, its length said. */
	{
		static const char two[] = RL VIA FROM TO REST RL VIA FROM TO REST;

		CU_ASSERT_EQUAL(try(two), UM_OPTFAST_ANSWERED);
		CU_ASSERT_EQUAL(used, strlen(two) / 2);
	}
}

static void
test_left_to_sofia(void)
{
	static const char *const pass[] = {
	        /* not OPTIONS, not whole, not a sip/sips URI */
	        "INVITE sips:um@h SIP/2.0\r\n" VIA FROM TO REST,
	        RL VIA FROM TO "Call-ID: c1\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n",
	        "OPTIONS tel:+1555 SIP/2.0\r\n" VIA FROM TO REST,
	        "OPTIONS sips:um@h SIP/3.0\r\n" VIA FROM TO REST,
	        "OPTIONS sips:u%41@h SIP/2.0\r\n" VIA FROM TO REST,
	        /* what nua answers otherwise */
	        RL VIA FROM "To: <sips:um@h>;tag=x\r\n" REST,
	        RL VIA FROM "To: <sips:um@h>;TAG=x\r\n" REST,
	        RL VIA FROM TO "Require: 100rel\r\n" REST,
	        RL VIA FROM TO "Timestamp: 5\r\n" REST,
	        RL VIA FROM TO "Accept: application/vnd.nokia-REGISTER-usage\r\n" REST,
	        /* what nta prints back differently, or checks */
	        RL "Via: SIP/2.0/TLS 192.0.2.9:5555;branch=z9hG4bK1\r\n" FROM TO REST,
	        RL "Via: SIP/2.0/TLS gw1.example.test:5555;branch=z9hG4bK1\r\n" FROM TO REST,
	        RL "Via: SIP/2.0/TLS 192.0.2.1:5555;received=192.0.2.1\r\n" FROM TO REST,
	        RL "Via: SIP/2.0/TLS 192.0.2.1:5555;rport=1\r\n" FROM TO REST,
	        RL "Via: SIP/2.0/TLS 192.0.2.1:5555;comp=sigcomp\r\n" FROM TO REST,
	        RL "Via: SIP/2.0/TCP 192.0.2.1:5555;branch=z9hG4bK1\r\n" FROM TO REST,
	        RL "Via: SIP/2.0/TLS 192.0.2.1:5555;branch=a, SIP/2.0/TLS 192.0.2.1:5\r\n" FROM TO
	                REST,
	        RL VIA VIA FROM TO REST,
	        RL VIA "From: sips:gw@h;tag=1\r\n" TO REST,
	        RL VIA "From:<sips:gw@h>;tag=1\r\n" TO REST,
	        RL VIA "From:  <sips:gw@h>;tag=1\r\n" TO REST,
	        RL VIA "From: <sips:g%77@h>;tag=1\r\n" TO REST,
	        RL VIA "From: \"a\\\"b\" <sips:gw@h>\r\n" TO REST,
	        RL VIA "f: <sips:gw@h>;tag=1\r\n" TO REST,
	        RL VIA "from: <sips:gw@h>;tag=1\r\n" TO REST,
	        RL VIA FROM " ;folded=1\r\n" TO REST,
	        RL VIA FROM TO "Call-ID: a b\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	        RL VIA FROM TO "Call-ID: c\r\nCSeq: 07 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	        RL VIA FROM TO
	        "Call-ID: c\r\nCSeq: 4294967296 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	        RL VIA FROM TO "Call-ID: c\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n",
	        RL VIA FROM TO "Call-ID: c\r\nCSeq: 7 OPTIONS\r\nContent-Length: 2\r\n\r\nab",
	        RL VIA FROM TO "Call-ID: c\r\nCSeq: 7 OPTIONS\r\n\r\n",
	        RL VIA FROM TO "Max-Forwards: many\r\n" REST,
	        RL VIA FROM TO "Record-Route: <sip:p;lr>\r\n" REST,
	        RL VIA FROM TO "Supported: a b\r\n" REST,
	        RL VIA FROM TO "Contact: *\r\n" REST,
	        RL VIA FROM TO "X-Unknown: 1\r\n" REST,
	        /* missing essentials */
	        RL FROM TO REST,
	        RL VIA TO REST,
	        RL VIA FROM REST,
	        RL VIA FROM TO "CSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	};
	size_t i;

	CU_ASSERT_FATAL(um_optfast_init(&o, TAIL, 1));
	for (i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
		if (try(pass[i]) != UM_OPTFAST_PASS)
			fprintf(stderr, "taken, should not be: %s\n", pass[i]);
		CU_ASSERT_EQUAL(try(pass[i]), UM_OPTFAST_PASS);
	}
	/* Every cut of a keep-alive short of its end is left alone. */
	{
		static const char req[] = RL VIA FROM TO REST;

		for (i = 0; i + 1 < sizeof(req) - 1; i++)
			CU_ASSERT_EQUAL(um_optfast_answer(&o, req, i, "192.0.2.1", 5555, answer,
			                                  &alen, &used),
			                UM_OPTFAST_PASS);
	}
	/* A tail that does not fit is refused at the start. */
	{
		char big[600];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		CU_ASSERT_FALSE(um_optfast_init(&o, big, 1));
	}
}

static CU_TestInfo tests[] = {
        {"a keep-alive's answer, byte for byte", test_answer},
        {"rport, display names, other headers, two in one piece", test_rport_and_more},
        {"everything else is left to sofia-sip", test_left_to_sofia},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_optfast", tests);
}

/*
 * The keep-alive fast path (um/src/optfast.c) on what a gateway's TLS connection delivers. What
 * it answers must be, for sofia-sip's own parser, a sane OPTIONS outside a dialog that requires
 * nothing, and the headers it copies into the answer must read as sofia-sip prints them: the
 * oracle of tests/integration/umd_options.sh, on any input.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_parser.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_alloc.h>

#include "optfast.h"

#define TAIL "Contact: <sips:192.0.2.1:5061>\r\nContent-Length: 0\r\n\r\n"

/*
 * The headers whose errors make nta answer 400 (NTATAG_BAD_REQ_MASK's default, nta_tag.c):
 * an error elsewhere (a bad Accept, say) is ignored by nta and nua alike.
 */
#define BAD_REQ_MASK                                                                               \
	(sip_mask_response | sip_mask_ua | sip_mask_100rel | sip_mask_events | sip_mask_timer |    \
	 sip_mask_publish)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The answer's line of header `h` must be what sofia-sip's encoder prints for it (msg_header_e:
 * "Name: value\r\n"), but for `skip_tail` characters before the CRLF (the To tag).
 */
static void
same_line(const char *answer, size_t alen, const sip_header_t *h, size_t skip_tail)
{
	char want[UM_OPTFAST_ANSWER_MAX], needle[UM_OPTFAST_ANSWER_MAX + 2];
	issize_t n = msg_header_e(want, sizeof(want), (const msg_header_t *)h, 0);
	const char *p, *e;
	size_t head;

	if (h == NULL || n < 2 || (size_t)n >= sizeof(want))
		abort();

	head = (size_t)(strchr(want, ':') - want) + 2; /* "Name: " */
	/* at the start of a line: a display name may hold "To: " too */
	needle[0] = '\r';
	needle[1] = '\n';
	memcpy(needle + 2, want, head);
	p = memmem(answer, alen, needle, head + 2);
	if (p == NULL)
		abort();
	p += 2;
	e = memmem(p, (size_t)(answer + alen - p), "\r\n", 2);
	if (e == NULL || (size_t)(e - p) < skip_tail ||
	    (size_t)(e - p) - skip_tail != (size_t)n - 2 || memcmp(p, want, (size_t)n - 2) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct um_optfast o;
	char answer[UM_OPTFAST_ANSWER_MAX];
	size_t alen, used;
	msg_t *msg;
	sip_t *sip;

	if (!um_optfast_init(&o, TAIL, 1))
		abort();
	if (um_optfast_answer(&o, (const char *)data, size, "192.0.2.1", 5555, answer, &alen,
	                      &used) != UM_OPTFAST_ANSWERED)
		return 0;
	if (used > size || alen > UM_OPTFAST_ANSWER_MAX || alen < 16 ||
	    memcmp(answer, "SIP/2.0 200 OK\r\n", 16) != 0 ||
	    memcmp(answer + alen - strlen(TAIL), TAIL, strlen(TAIL)) != 0)
		abort();
	msg = msg_make(sip_default_mclass(), 0, data, (ssize_t)used);
	sip = msg ? sip_object(msg) : NULL;
	if (sip == NULL || sip->sip_request == NULL ||
	    sip->sip_request->rq_method != sip_method_options || sip_sanity_check(sip) != 0 ||
	    (msg_extract_errors(msg) & BAD_REQ_MASK) != 0 || (sip->sip_flags & MSG_FLG_ERROR) ||
	    sip->sip_to->a_tag != NULL || sip->sip_require != NULL || sip->sip_timestamp != NULL ||
	    sip->sip_via->v_next != NULL || sip->sip_payload != NULL)
		abort();
	same_line(answer, alen, (sip_header_t *)sip->sip_from, 0);
	/* To: sofia's encoding, then ";tag=" and 13 characters of tag. */
	same_line(answer, alen, (sip_header_t *)sip->sip_to, 18);
	same_line(answer, alen, (sip_header_t *)sip->sip_call_id, 0);
	same_line(answer, alen, (sip_header_t *)sip->sip_cseq, 0);
	msg_destroy(msg);
	return 0;
}

/*
 * SIP messages as umd receives them: sofia-sip's parser (msg_extract, sip_default_mclass) fed
 * the way its transports feed it (tport.c: tport_recv_stream and tport_recv_dgram, then
 * tport_parse), over a stream (TLS, TCP: the bytes arrive in pieces, several messages may
 * share a piece) or as one datagram (UDP). Each message the parser completes goes where nta
 * would take it: the sanity check every request passes (sip_sanity_check), the headers nta,
 * nua and umd read, and an answer built from the request's Via, From, To, Call-ID and CSeq
 * and encoded, as nta does for every response.
 *
 * The first input byte chooses how to feed the rest: bit 7 set means one datagram; otherwise
 * bits 0-6 give the size of the pieces of the stream (0: everything in one piece).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/url.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXSIZE (2 * 1024 * 1024) /* nta's default message size limit (NTATAG_MAXSIZE) */

static void
encode_header(const sip_header_t *h)
{
	char buf[512];

	for (; h != NULL; h = (const sip_header_t *)h->sh_succ)
		(void)sip_header_e(buf, sizeof(buf), h, 0);
}

/* What nta's mreply() does with a request it answers: copy, complete, serialize, encode. */
static void
answer(const sip_t *sip)
{
	msg_t *r = msg_create(sip_default_mclass(), 0);
	sip_t *rs = sip_object(r);
	su_home_t *home = msg_home(r);
	size_t n;
	char *s;

	if (r == NULL)
		return;
	if (sip_add_dup(r, rs, (const sip_header_t *)sip_status_create(home, 200, "OK", NULL)) <
	            0 ||
	    sip_add_dup(r, rs, (const sip_header_t *)sip->sip_via) < 0 ||
	    sip_add_dup(r, rs, (const sip_header_t *)sip->sip_from) < 0 ||
	    sip_add_dup(r, rs, (const sip_header_t *)sip->sip_to) < 0 ||
	    sip_add_dup(r, rs, (const sip_header_t *)sip->sip_call_id) < 0 ||
	    sip_add_dup(r, rs, (const sip_header_t *)sip->sip_cseq) < 0 ||
	    sip_add_dup(r, rs, (const sip_header_t *)sip->sip_record_route) < 0)
		goto out;
	if (sip_complete_message(r) < 0 || msg_serialize(r, (msg_pub_t *)rs) < 0 ||
	    msg_prepare(r) < 0)
		goto out;
	if ((s = msg_as_string(home, r, NULL, 0, &n)) != NULL)
		(void)strlen(s);
out:
	msg_destroy(r);
}

/* A message tport_parse hands to the stack (tport_deliver, agent_recv_message). */
static void
deliver(msg_t *msg)
{
	sip_t *sip = sip_object(msg);
	char buf[512];

	if (sip == NULL || msg_has_error(msg) || (sip->sip_flags & MSG_FLG_ERROR))
		return; /* nta drops it (agent_recv_garbage) or answers 400 from what parsed */
	(void)msg_extract_errors(msg);
	if (sip->sip_request == NULL)
		return; /* a response: umd sends no requests, nta drops it */
	if (sip_sanity_check(sip) < 0)
		return; /* nta answers 400 Bad Request */
	/* What nta, nua and umd read of an incoming request. */
	(void)strlen(sip->sip_request->rq_method_name);
	(void)url_e(buf, sizeof(buf), sip->sip_request->rq_url);
	(void)sip->sip_via->v_host;
	if (sip->sip_via->v_branch != NULL)
		(void)strlen(sip->sip_via->v_branch);
	if (sip->sip_from->a_tag != NULL)
		(void)strlen(sip->sip_from->a_tag);
	(void)url_e(buf, sizeof(buf), sip->sip_from->a_url);
	(void)url_e(buf, sizeof(buf), sip->sip_to->a_url);
	(void)strlen(sip->sip_call_id->i_id);
	(void)sip->sip_cseq->cs_seq;
	if (sip->sip_contact != NULL)
		(void)url_e(buf, sizeof(buf), sip->sip_contact->m_url);
	if (sip->sip_max_forwards != NULL)
		(void)sip->sip_max_forwards->mf_count;
	if (sip->sip_payload != NULL && sip->sip_payload->pl_len > 0)
		(void)memchr(sip->sip_payload->pl_data, 0, sip->sip_payload->pl_len);
	encode_header((const sip_header_t *)sip->sip_via);
	encode_header((const sip_header_t *)sip->sip_route);
	encode_header((const sip_header_t *)sip->sip_record_route);
	encode_header((const sip_header_t *)sip->sip_contact);
	encode_header((const sip_header_t *)sip->sip_content_type);
	encode_header((const sip_header_t *)sip->sip_session_expires);
	encode_header((const sip_header_t *)sip->sip_supported);
	encode_header((const sip_header_t *)sip->sip_require);
	encode_header((const sip_header_t *)sip->sip_allow);
	(void)sip_is_allowed(sip->sip_allow, sip_method_invite, "INVITE");
	answer(sip);
}

/*
 * tport_parse: extracts every complete message; `complete` means no more bytes will come.
 * Returns the message still waiting for bytes, or NULL; *closed is set when the stream is read
 * no further (a bad or too large message on a stream: tport sets tp_recv_close).
 */
static msg_t *
parse(msg_t *msg, int stream, int complete, int *closed)
{
	msg_t *next;
	int n;

	for (; msg != NULL; msg = next) {
		n = msg_extract(msg);
		if (n == 0) {
			if (!complete)
				break; /* wait for more */
			msg_mark_as_complete(msg, MSG_FLG_ERROR);
			n = -1;
		}
		if (stream && msg_get_flags(msg, MSG_FLG_TOOLARGE | MSG_FLG_ERROR))
			*closed = 1;
		next = n == -1 || !stream ? NULL : msg_next(msg);
		deliver(msg);
		msg_destroy(msg);
		if (*closed) {
			msg_destroy(next);
			return NULL;
		}
	}
	return msg;
}

/* tport_recv_iovec and su_vrecv: len bytes into msg's buffer, committed. */
static int
feed(msg_t **msgp, const uint8_t *p, size_t len, int eos)
{
	msg_iovec_t iov[msg_n_fragments];
	issize_t veclen, i;
	size_t done = 0, k;

	if (*msgp == NULL) {
		if ((*msgp = msg_create(sip_default_mclass(), MSG_DO_CANONIC)) == NULL)
			return -1;
		msg_maxsize(*msgp, MAXSIZE);
	}
	memset(iov, 0, sizeof(iov));
	if ((veclen = msg_recv_iovec(*msgp, iov, msg_n_fragments, len, eos)) < 0)
		return -1;
	for (i = 0; i < veclen && done < len; i++) {
		k = len - done < iov[i].mv_len ? len - done : iov[i].mv_len;
		memcpy(iov[i].mv_base, p + done, k);
		done += k;
	}
	msg_recv_commit(*msgp, done, eos);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msg_t *msg = NULL;
	size_t piece, off;
	int closed = 0;

	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		/* UDP: one datagram, parsed whole (tport_recv_dgram: exact, end of stream). */
		if (size > 1 && feed(&msg, data + 1, size - 1, 1) == 0)
			msg = parse(msg, 0, 1, &closed);
		msg_destroy(msg);
		return 0;
	}
	piece = data[0] & 0x7f;
	data++;
	size--;
	if (piece == 0)
		piece = size > 0 ? size : 1;
	for (off = 0; off < size && !closed; off += piece) {
		if (feed(&msg, data + off, size - off < piece ? size - off : piece, 0) != 0)
			break;
		msg = parse(msg, 1, 0, &closed);
	}
	/* The peer closed the connection (tport_hup_event). */
	if (msg != NULL && !closed) {
		msg_recv_commit(msg, 0, 1);
		msg = parse(msg, 1, 1, &closed);
	}
	msg_destroy(msg);
	return 0;
}

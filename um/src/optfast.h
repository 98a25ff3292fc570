/*
 * Keep-alive OPTIONS answered below sofia-sip (the TLS fast path).
 *
 * A gateway's keep-alive is an OPTIONS outside a dialog that umd answers with the same 200
 * every time (sip.c, "OPTIONS below nua"). Over TLS, tlshook.c hands umd every plaintext piece
 * sofia-sip reads; this file decides whether a message at the start of such a piece is a plain
 * keep-alive, and if so writes the 200 that sofia-sip's nta and nua would write for it, byte
 * for byte (tests/integration/umd_options.sh compares the two), so that no message object,
 * parse, transaction or timer is made for it.
 *
 * It takes only a request in the form sofia-sip would print back unchanged: the request line,
 * then "Name: value" lines of a short list of canonical names (Via once, SIP/2.0/TLS from the
 * connection's own address, without received or comp; From and To as <URI> with an optional
 * quoted display name, To without a tag; Call-ID; CSeq N OPTIONS; Content-Length: 0; optional
 * Max-Forwards, Contact, User-Agent, Allow, Supported, Accept but an outbound probe's),
 * nothing folded, no escapes, no compact names. Anything else — Require, Timestamp, a second
 * Via, a To tag, a body, a name it does not know — is left to sofia-sip, which answers it as
 * before. It parses nothing else: it looks, and copies what it saw.
 */
#ifndef UM_OPTFAST_H
#define UM_OPTFAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* A request it takes is at most this long; the answer fits in UM_OPTFAST_ANSWER_MAX. */
#define UM_OPTFAST_REQUEST_MAX 2048
#define UM_OPTFAST_ANSWER_MAX  3072

/*
 * What every answer ends with, from Contact to the empty line, made once (sip.c builds it with
 * sofia-sip's own encoders) and copied into each answer.
 */
struct um_optfast {
	char tail[512];
	size_t tail_len;
	uint64_t tags; /* the To tag generator (as nta's: a random start, a prime step) */
};

/*
 * Sets the tail ("Contact: ...\r\n...Content-Length: 0\r\n\r\n") and seeds the tag generator
 * from `seed`. false: the tail does not fit.
 */
bool um_optfast_init(struct um_optfast *o, const char *tail, uint64_t seed) UM_WUR;

enum um_optfast_result {
	UM_OPTFAST_PASS,     /* not a plain keep-alive (or not whole yet): sofia-sip's */
	UM_OPTFAST_ANSWERED, /* `answer` holds the 200; `*used` bytes of `msg` were it */
};

/*
 * Looks at the message at the start of `msg` (`len` bytes, the start of a message) received
 * over TLS from `peer_host` (the address as text, e.g. "192.0.2.1") port `peer_port`. When it
 * is a keep-alive it takes, writes the 200 in `answer` (UM_OPTFAST_ANSWER_MAX bytes) and its
 * length in `*answer_len`, the request's length in `*used`, and returns UM_OPTFAST_ANSWERED.
 */
enum um_optfast_result um_optfast_answer(struct um_optfast *o, const char *msg, size_t len,
                                         const char *peer_host, unsigned peer_port, char *answer,
                                         size_t *answer_len, size_t *used) UM_WUR;

#endif

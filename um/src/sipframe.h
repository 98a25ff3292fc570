/*
 * Where SIP messages begin and end in a stream (RFC 3261 section 18.3: over TCP and TLS a
 * message's body is as long as its Content-Length says; section 7.5: the headers end at an
 * empty line; RFC 5626 section 4.4.1: CRLF keep-alives between messages). umd does not parse
 * here — sofia-sip does — it only needs to know whether a message is half-way, so that one that
 * stops arriving is ended on a deadline of its own (sofia-sip 1.12.11 has that timer for TCP
 * but not for TLS). Fed the plaintext a TLS connection delivers, in pieces of any size.
 */
#ifndef UM_SIPFRAME_H
#define UM_SIPFRAME_H

#include <stdbool.h>
#include <stddef.h>

struct um_sipframe {
	enum { SF_IDLE, SF_HEADERS, SF_BODY } state;
	char line[64]; /* the start of the current header line (enough for Content-Length) */
	size_t line_len;
	bool empty_line; /* the current line has no byte yet */
	unsigned long long content_length, body_left;
	bool bad; /* a Content-Length that is not a number: sofia-sip closes such a stream */
};

void um_sipframe_init(struct um_sipframe *f);
/* Takes `len` more bytes of the stream. */
void um_sipframe_feed(struct um_sipframe *f, const char *buf, size_t len);
/* Whether a message has begun and not ended. */
bool um_sipframe_pending(const struct um_sipframe *f);

#endif

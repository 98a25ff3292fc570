/*
 * RTP packets (RFC 3550 section 5.1) and RFC 4733 telephone events, as umd's media thread reads
 * and writes them. Parsing takes packets straight from the network (after SRTP, when keyed):
 * every length is checked against the buffer, nothing is allocated, and the payload is a view
 * into the caller's buffer.
 */
#ifndef UM_MEDIA_RTP_H
#define UM_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UM_RTP_HEADER 12 /* the fixed header; umd sends no CSRC and no extension */

struct um_rtp {
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	const uint8_t *payload; /* points into the parsed buffer */
	size_t payload_len;     /* padding removed */
};

/*
 * Parses an RTP packet: version 2, CSRCs and a header extension skipped (RFC 3550 section
 * 5.3.1), padding removed (its count must fit). false for anything else, RTCP included (payload
 * types 72 to 76 with the marker bit: RFC 5761 section 4).
 */
bool um_rtp_parse(const uint8_t *buf, size_t len, struct um_rtp *out);

/* Whether a datagram on an rtcp-mux port is RTCP (RFC 5761 section 4: second byte 192..223). */
bool um_rtp_is_rtcp(const uint8_t *buf, size_t len);

/*
 * Writes the fixed header (V=2, no padding, extension or CSRC) into buf[0..12); the payload
 * goes after it.
 */
void um_rtp_header(uint8_t *buf, const struct um_rtp *h);

/* An RFC 4733 section 2.3 named-event payload. */
struct um_rtp_event {
	uint8_t event; /* 0-9, 10 '*', 11 '#', 12-15 A-D */
	bool end;
	uint8_t volume;
	uint16_t duration;
};

/* Parses a telephone-event payload (at least 4 bytes; a redundant block after it is ignored). */
bool um_rtp_event_parse(const uint8_t *p, size_t len, struct um_rtp_event *out);

/* The DTMF character of an event code ("0123456789*#ABCD"), or 0 for other events. */
char um_rtp_event_char(uint8_t event);

#endif

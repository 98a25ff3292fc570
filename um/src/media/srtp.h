/*
 * SRTP and SRTCP for one call (RFC 3711; AES-GCM: RFC 7714), with libsrtp2: umd's own key
 * protects what it sends, the gateway's key (SDES, sdes.h) checks what it receives. Packets that
 * fail authentication or the replay check are refused with the reason, for the caller to drop
 * and count. Keys are copied into libsrtp's contexts; the caller wipes its own.
 *
 * Not thread-safe: one call's contexts are used by the media thread only.
 */
#ifndef UM_MEDIA_SRTP_H
#define UM_MEDIA_SRTP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sdes.h"

/* What an SRTP or SRTCP packet may add to an RTP or RTCP one (tag, SRTCP index). */
#define UM_SRTP_OVERHEAD 32

enum um_srtp_result {
	UM_SRTP_OK = 0,
	UM_SRTP_AUTH,   /* authentication failed: a wrong key, or bits flipped */
	UM_SRTP_REPLAY, /* a packet seen before, or too old for the replay window */
	UM_SRTP_BAD,    /* anything else (too short, not SRTP) */
};

struct um_srtp;

/* libsrtp2's one-time start (srtp_init), safe to call from any thread, any number of times. */
enum um_err um_srtp_global_init(void) UM_WUR;

/*
 * Contexts for a call: `tx` (umd's key) and `rx` (the gateway's), both of `tx->suite` (the same
 * suite both ways, RFC 4568 section 6.1). For AES_CM_128_HMAC_SHA1_32, SRTCP keeps the 80-bit
 * tag (RFC 4568 section 6.2.2).
 */
enum um_err um_srtp_new(const struct um_sdes *tx, const struct um_sdes *rx,
                        struct um_srtp **out) UM_WUR;
void um_srtp_free(struct um_srtp *s);

/*
 * In place: `*len` bytes of RTP or RTCP in `buf` (of `cap` bytes, at least *len +
 * UM_SRTP_OVERHEAD) become SRTP or SRTCP. UM_SRTP_BAD when it cannot.
 */
enum um_srtp_result um_srtp_protect(struct um_srtp *s, uint8_t *buf, size_t *len, size_t cap);
enum um_srtp_result um_srtp_protect_rtcp(struct um_srtp *s, uint8_t *buf, size_t *len, size_t cap);
/* In place: SRTP or SRTCP back to RTP or RTCP. */
enum um_srtp_result um_srtp_unprotect(struct um_srtp *s, uint8_t *buf, size_t *len);
enum um_srtp_result um_srtp_unprotect_rtcp(struct um_srtp *s, uint8_t *buf, size_t *len);

#endif

/*
 * umd's SDP offer/answer (RFC 3264): the gateway's offer checked against the dial-plan mode,
 * umd's answer written, and the negotiated session handed to the media engine. sofia-sip's
 * SDP parser (sdp_parse) reads the SDP; only the attribute values it leaves as text are read
 * here (a=ptime, a=maxptime, a=rtcp) or in sdes.c (a=crypto).
 *
 * What umd takes: one audio stream, RTP/AVP (RFC 3550, RFC 3551) or RTP/SAVP keyed by SDES
 * (RFC 4568; the suites of sdes.h), PCMU or PCMA, RFC 4733 telephone-event when offered, 20 ms
 * packets unless the offer's a=ptime says otherwise (10 to 60), RTCP on the next port, on the
 * port of a=rtcp (RFC 3605) or on the RTP port with a=rtcp-mux (RFC 5761). By mode:
 *   unsecured   RTP/AVP only (an RTP/SAVP-only offer: 488, "unsecured mode carries plain RTP")
 *   sipsecured  RTP/AVP, or RTP/SAVP when the gateway offers it
 *   secured     RTP/SAVP with an SDES a=crypto line umd takes, else 488
 * The first acceptable audio stream is answered; every other m= line of the offer is rejected
 * with port 0, in order (RFC 3264 section 6). Re-offers in a dialog (hold, a new address, a new
 * key) go through the same function with the dialog's session so far; see um_sdp_answer.
 */
#ifndef UM_SDP_CHECK_H
#define UM_SDP_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config.h"
#include "error.h"
#include "sdes.h"

/* What umd does on the stream, as its answer says (RFC 3264 section 6.1). */
enum um_dir { UM_DIR_SENDRECV, UM_DIR_SENDONLY, UM_DIR_RECVONLY, UM_DIR_INACTIVE };

/* umd's telephone-event payload type in its own offer (RFC 4733 section 7.1.1: dynamic). */
#define UM_TE_PT 101

/*
 * The negotiated session of a call: what the media engine needs. It holds SRTP master keys:
 * um_media_params_wipe() it when done, and copy it only into memory wiped the same way.
 */
struct um_media_params {
	/*
	 * Where the gateway receives, and the only source whose packets count: from c= (media
	 * level, else session level) and m=; RTCP from a=rtcp (RFC 3605) or the RTP port + 1, or
	 * equal to remote_rtp with rtcp-mux. An unspecified c= (0.0.0.0, ::; RFC 3264 section
	 * 8.4's hold) keeps the addresses of `prev` in a re-offer (the gateway still sends from
	 * there); in a first offer they are the unspecified address and dir never sends.
	 */
	struct sockaddr_storage remote_rtp, remote_rtcp;
	bool rtcp_mux; /* RFC 5761: offered, and so taken */
	int pt;        /* 0 PCMU or 8 PCMA: the first of those in the offer's order */
	int te_pt;     /* telephone-event/8000 payload type (RFC 4733), -1 when not offered */
	/* ms: a=ptime clamped to 10..60 and to a=maxptime, rounded down to a multiple of 10; 20
	 * when none is offered */
	int ptime;
	/* what umd does: sendrecv, recvonly when the gateway holds (sendonly), ... */
	enum um_dir dir;
	enum um_srtp_suite suite; /* UM_SRTP_NONE: plain RTP */
	struct um_sdes remote;    /* the gateway's key: inbound SRTP and SRTCP */
	struct um_sdes local;     /* umd's key: outbound, as put in the answer */
	/* umd's o= line: one id per dialog, the version bumped for each SDP umd sends in it
	 * (RFC 3264 section 8) */
	unsigned long sess_id, sess_version;
	/*
	 * Set when umd made the offer (an INVITE without SDP): nothing above but sess_* and the
	 * keys below is negotiated yet; the gateway's answer (in the ACK) goes to
	 * um_sdp_take_answer before any media. offered[i] is umd's key for the a=crypto line
	 * with tag i + 1 (secured mode; suite UM_SRTP_NONE otherwise).
	 */
	bool own_offer;
	struct um_sdes offered[UM_SRTP_SUITES];
};

/*
 * The offer of an INVITE or re-INVITE (`offer`, `len` bytes, no NUL needed) checked against
 * `mode`. On success umd's answer goes to *answer (owned; it may hold umd's key: um_sdp_free it)
 * and, when `out` is not NULL, the negotiated session to *out. On refusal false, *answer NULL,
 * *out untouched, and a reason for a Warning header in `why` (printable ASCII without '"' or
 * '\\', never key material), e.g. "secured mode: an audio stream over RTP/SAVP with an SDES
 * a=crypto line is required", "no offered SRTP suite is supported: AES_256_CM_HMAC_SHA1_80",
 * "a=crypto MKI is not supported: umd takes one key per stream".
 *
 * No offer (`offer` NULL or `len` 0): *answer is umd's own offer (RFC 3264 section 5), PCMU,
 * PCMA and telephone-event (UM_TE_PT), RTP/SAVP with one a=crypto line per suite of sdes.h
 * (tags 1 to 4, a key each) in secured mode, RTP/AVP otherwise; *out has own_offer set.
 *
 * `addr` is umd's media address (c=, IPv4 or IPv6), `port` its RTP port: a re-INVITE passes the
 * port of the dialog again. `prev` (NULL for an initial INVITE) is the dialog's session so far
 * (it may be `out`): the answer keeps its sess_id with sess_version + 1. umd keeps its SRTP key
 * when the re-offer's chosen a=crypto line is the one it took before (same tag, suite and key);
 * any other change of the gateway's key gets a fresh key of umd's too, as RFC 4568 section 7.1.4
 * asks of a new key.
 */
bool um_sdp_answer(enum um_mode mode, const char *offer, size_t len, const char *addr, int port,
                   const struct um_media_params *prev, struct um_media_params *out, char **answer,
                   char *why, size_t whylen) UM_WUR;

/*
 * The gateway's answer (in the 200's ACK) to umd's own offer `offered` (own_offer set): one
 * audio m= line, over the transport umd offered, PCMU or PCMA, in secured mode one a=crypto line
 * whose tag names one of umd's lines with its suite (that line's key becomes umd's outbound
 * key). On success *out is the negotiated session (it may be `offered`); on refusal false, *out
 * untouched, the reason in `why`.
 */
bool um_sdp_take_answer(enum um_mode mode, const char *sdp, size_t len,
                        const struct um_media_params *offered, struct um_media_params *out,
                        char *why, size_t whylen) UM_WUR;

/* Wipes every key and field; NULL is a no-op. */
void um_media_params_wipe(struct um_media_params *p);

/* Wipes an SDP text um_sdp_answer wrote (it may hold a key) and frees it; NULL is a no-op. */
void um_sdp_free(char *sdp);

#endif

/*
 * The offer/answer rules of umd's dial-plan modes (sofia-sip's SDP parser does the parsing):
 * in `secured` mode an offer must carry an audio stream over RTP/SAVP with an SDES a=crypto line
 * (RFC 4568) in a suite umd supports, else 488; in `sipsecured` RTP/AVP is accepted too.
 */
#ifndef UM_SDP_CHECK_H
#define UM_SDP_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"

/*
 * Checks the offer (NULL/0 for an INVITE without one) and writes umd's answer (or, for no
 * offer, umd's own offer) into *answer (owned, free()). On refusal returns false with the reason
 * for a Warning header in `why`. `addr` is the address to put in c=, `port` the media port.
 */
bool um_sdp_answer(enum um_mode mode, const char *offer, size_t len, const char *addr, int port,
                   char **answer, char *why, size_t whylen);

#endif

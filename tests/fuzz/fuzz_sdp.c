/*
 * The SDP offer of an INVITE (sofia-sip's SDP parser, then umd's offer/answer rules,
 * um_sdp_answer) in each dial-plan mode, with an IPv4 and an IPv6 media address; the same input
 * as a re-offer in the dialog it made, and as the gateway's answer to umd's own offer
 * (um_sdp_take_answer). Every SDP umd writes must itself parse and hold one m= line per offered
 * one; the negotiated session must be consistent; every refusal's reason must be fit for a
 * Warning header.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include "sdp_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned
media_count(const char *sdp, size_t len)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	sdp_parser_t *p = sdp_parse(home, sdp, (issize_t)len, 0);
	sdp_session_t *s = sdp_session(p);
	sdp_media_t *m;
	unsigned n = 0;

	if (s == NULL)
		abort();
	for (m = s->sdp_media; m != NULL; m = m->m_next)
		n++;
	sdp_parser_free(p);
	su_home_deinit(home);
	return n;
}

static void
reason_ok(const char *why)
{
	const char *p;

	if (why[0] == '\0')
		abort();
	for (p = why; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			abort();
}

static void
params_ok(const struct um_media_params *p)
{
	if (p->own_offer)
		abort();
	if (p->pt != 0 && p->pt != 8)
		abort();
	if (p->te_pt == p->pt || p->te_pt > 127)
		abort();
	if (p->ptime < 10 || p->ptime > 60 || p->ptime % 10 != 0)
		abort();
	if (p->remote_rtp.ss_family != AF_INET && p->remote_rtp.ss_family != AF_INET6)
		abort();
	if (p->suite == UM_SRTP_NONE ? p->remote.key_len != 0 || p->local.key_len != 0
	                             : p->remote.suite != p->suite || p->local.suite != p->suite ||
	                                       p->local.tag != p->remote.tag ||
	                                       p->local.key_len != um_srtp_key_len(p->suite) ||
	                                       p->remote.key_len != um_srtp_key_len(p->suite))
		abort();
	if (p->rtcp_mux && memcmp(&p->remote_rtp, &p->remote_rtcp, sizeof(p->remote_rtp)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum um_mode modes[] = {UM_MODE_UNSECURED, UM_MODE_SIPSECURED,
	                                     UM_MODE_SECURED};
	static const char *const addrs[] = {"127.0.0.1", "::1"};
	const char *offer = (const char *)data;
	struct um_media_params first, again, mine, taken;
	char *answer, *second, why[384];
	size_t m, a;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (a = 0; a < 2; a++) {
			/* The payload as sofia hands it over: len bytes, no NUL promised. */
			if (!um_sdp_answer(modes[m], offer, size, addrs[a], 40000, NULL, &first,
			                   &answer, why, sizeof(why))) {
				if (answer != NULL)
					abort();
				reason_ok(why);
				continue;
			}
			if (answer == NULL || media_count(answer, strlen(answer)) !=
			                              (size > 0 ? media_count(offer, size) : 1))
				abort();
			if (size > 0)
				params_ok(&first);
			um_sdp_free(answer);
			if (size == 0) {
				um_media_params_wipe(&first);
				continue;
			}
			/* the same offer again in the dialog: same id, next version, same key */
			if (!um_sdp_answer(modes[m], offer, size, addrs[a], 40000, &first, &again,
			                   &second, why, sizeof(why)))
				abort();
			params_ok(&again);
			if (again.sess_id != first.sess_id ||
			    again.sess_version != first.sess_version + 1 ||
			    memcmp(&again.local, &first.local, sizeof(first.local)) != 0)
				abort();
			um_sdp_free(second);
			um_media_params_wipe(&first);
			um_media_params_wipe(&again);
		}
		/* the input as the gateway's answer to umd's own offer */
		if (!um_sdp_answer(modes[m], NULL, 0, addrs[0], 40000, NULL, &mine, &answer, why,
		                   sizeof(why)))
			abort();
		um_sdp_free(answer);
		if (um_sdp_take_answer(modes[m], offer, size, &mine, &taken, why, sizeof(why))) {
			params_ok(&taken);
			if ((taken.suite != UM_SRTP_NONE) != (modes[m] == UM_MODE_SECURED) ||
			    (taken.suite != UM_SRTP_NONE &&
			     memcmp(&taken.local, &mine.offered[taken.local.tag - 1],
			            sizeof(taken.local)) != 0))
				abort();
			um_media_params_wipe(&taken);
		} else {
			reason_ok(why);
		}
		um_media_params_wipe(&mine);
	}
	return 0;
}

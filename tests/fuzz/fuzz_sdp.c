/*
 * The SDP offer of an INVITE (sofia-sip's SDP parser, then umd's offer/answer rules) in each
 * dial-plan mode, with an IPv4 and an IPv6 media address. Every answer umd writes must itself
 * be SDP that parses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include "sdp_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
answer_parses(const char *answer)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	sdp_parser_t *p = sdp_parse(home, answer, (issize_t)strlen(answer), 0);

	if (sdp_session(p) == NULL)
		abort();
	sdp_parser_free(p);
	su_home_deinit(home);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum um_mode modes[] = {UM_MODE_UNSECURED, UM_MODE_SIPSECURED,
	                                     UM_MODE_SECURED};
	static const char *const addrs[] = {"127.0.0.1", "::1"};
	char *answer, why[384];
	size_t m, a;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (a = 0; a < 2; a++) {
			/* The payload as sofia hands it over: len bytes, no NUL promised. */
			if (um_sdp_answer(modes[m], (const char *)data, size, addrs[a], 40000,
			                  &answer, why, sizeof(why))) {
				if (answer == NULL)
					abort();
				answer_parses(answer);
				free(answer);
			} else if (answer != NULL) {
				abort();
			} else {
				(void)strlen(why);
			}
		}
	}
	return 0;
}

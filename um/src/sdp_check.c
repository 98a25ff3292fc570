/* SDP offers and umd's answers (sdp_check.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include "sdp_check.h"

/* RFC 4568 section 6.2: 128-bit key and 112-bit salt, base64 in the inline: parameter. */
static bool
new_sdes_key(char out[64])
{
	unsigned char raw[30];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return false;
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
	return true;
}

static bool
supported_suite(const char *crypto, char *tag, size_t taglen, const char **suite)
{
	/* a=crypto:<tag> <suite> inline:<key>... */
	static const char *const suites[] = {"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"};
	const char *sp = strchr(crypto, ' ');
	size_t i, n;

	if (sp == NULL || (size_t)(sp - crypto) >= taglen || sp == crypto)
		return false;
	memcpy(tag, crypto, (size_t)(sp - crypto));
	tag[sp - crypto] = '\0';
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		n = strlen(suites[i]);
		if (strncmp(sp + 1, suites[i], n) == 0 && sp[1 + n] == ' ' &&
		    strstr(sp + 1 + n, "inline:") != NULL) {
			*suite = suites[i];
			return true;
		}
	}
	return false;
}

/*
 * RFC 4566 section 5.14: m=<media> <port>[/<number>] <proto> <fmt> ..., fields separated by
 * one space, every field a token and proto tokens joined by '/'. sofia-sip 1.12.11 as Debian 12
 * ships it loops for ever, allocating at each turn, when a format of a non-RTP m= line starts
 * with anything but a token character ("m=audio 4 X ::1", "m=video 5 X /y", or "m=audio 4 X \t"
 * where only blanks follow the proto): parse_media() goes on when token() finds none (fixed
 * upstream in 2022, "fix parse m-line"). So an m= line may hold only token characters, spaces,
 * and '/' between two token characters; any other is malformed and never reaches sdp_parse().
 * Lines end at CR, LF or NUL and lose their leading blanks, as sdp_parse() reads them.
 */
static bool
is_token(char c)
{
	return c != '\0' && strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                           "-!#$%&'*+.^_`{|}~",
	                           c) != NULL;
}

static bool
media_lines_ok(const char *sdp, size_t len)
{
	size_t i = 0, start;
	bool media;

	while (i < len && sdp[i] != '\0') {
		while (i < len && (sdp[i] == ' ' || sdp[i] == '\t'))
			i++;
		media = len - i >= 2 && sdp[i] == 'm' && sdp[i + 1] == '=';
		start = i;
		for (; i < len && sdp[i] != '\0' && sdp[i] != '\r' && sdp[i] != '\n'; i++) {
			if (!media || i < start + 2 || is_token(sdp[i]) || sdp[i] == ' ')
				continue;
			if (sdp[i] != '/' || !is_token(sdp[i - 1]) || i + 1 >= len ||
			    !is_token(sdp[i + 1]))
				return false;
		}
		while (i < len && (sdp[i] == '\r' || sdp[i] == '\n'))
			i++;
	}
	return true;
}

bool
um_sdp_answer(enum um_mode mode, const char *offer, size_t len, const char *addr, int port,
              char **answer, char *why, size_t whylen)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	sdp_parser_t *p = NULL;
	sdp_session_t *sdp;
	sdp_media_t *m;
	sdp_rtpmap_t *rm;
	sdp_attribute_t *a;
	const char *suite = NULL, *codec = NULL;
	char key[64], tag[16], crypto[160];
	int pt = -1;
	bool srtp = mode == UM_MODE_SECURED, ok = false;
	unsigned long sess;

	*answer = NULL;
	crypto[0] = '\0';
	if (offer != NULL && len > 0) {
		if (!media_lines_ok(offer, len)) {
			snprintf(why, whylen,
			         "malformed SDP: an m= line holds more than tokens and spaces");
			goto out;
		}
		p = sdp_parse(home, offer, (issize_t)len, 0);
		if ((sdp = sdp_session(p)) == NULL) {
			snprintf(why, whylen, "malformed SDP: %s",
			         p ? sdp_parsing_error(p) : "parser failed");
			goto out;
		}
		for (m = sdp->sdp_media; m != NULL; m = m->m_next) {
			if (m->m_type != sdp_media_audio || m->m_port == 0)
				continue;
			if (m->m_proto == sdp_proto_srtp) {
				a = sdp_attribute_find(m->m_attributes, "crypto");
				if (a == NULL)
					a = sdp_attribute_find(sdp->sdp_attributes, "crypto");
				for (; a != NULL; a = sdp_attribute_find(a->a_next, "crypto"))
					if (a->a_value &&
					    supported_suite(a->a_value, tag, sizeof(tag), &suite))
						break;
				if (suite == NULL)
					continue; /* SAVP without a usable SDES line */
				srtp = true;
			} else if (m->m_proto == sdp_proto_rtp) {
				if (mode == UM_MODE_SECURED)
					continue;
				srtp = false;
			} else {
				continue;
			}
			for (rm = m->m_rtpmaps; rm != NULL && codec == NULL; rm = rm->rm_next) {
				if (rm->rm_pt == 0 || rm->rm_pt == 8) {
					pt = (int)rm->rm_pt;
					codec = pt == 0 ? "PCMU" : "PCMA";
				}
			}
			if (codec != NULL)
				break;
			suite = NULL;
		}
		if (codec == NULL) {
			snprintf(why, whylen,
			         mode == UM_MODE_SECURED ? "secured mode: an audio stream over "
			                                   "RTP/SAVP with an SDES "
			                                   "a=crypto line (AES_CM_128_HMAC_SHA1_80 "
			                                   "or _32) and PCMU or PCMA "
			                                   "is required"
			                                 : "no audio stream over RTP/AVP or "
			                                   "RTP/SAVP with PCMU or PCMA");
			goto out;
		}
	} else {
		/* No offer: ours goes in the 200, as RFC 3264 section 5 allows. */
		pt = 0;
		codec = "PCMU";
		if (srtp) {
			suite = "AES_CM_128_HMAC_SHA1_80";
			snprintf(tag, sizeof(tag), "1");
		}
	}
	if (srtp) {
		if (!new_sdes_key(key)) {
			snprintf(why, whylen, "no randomness for an SRTP key");
			goto out;
		}
		snprintf(crypto, sizeof(crypto), "a=crypto:%s %s inline:%s\r\n", tag, suite, key);
	}
	if (RAND_bytes((unsigned char *)&sess, sizeof(sess)) != 1)
		sess = 1;
	sess &= 0x7fffffffUL;
	if (asprintf(answer,
	             "v=0\r\n"
	             "o=umd %lu 1 IN %s %s\r\n"
	             "s=umd\r\n"
	             "c=IN %s %s\r\n"
	             "t=0 0\r\n"
	             "m=audio %d %s %d\r\n"
	             "a=rtpmap:%d %s/8000\r\n"
	             "%s"
	             "a=sendrecv\r\n",
	             sess, strchr(addr, ':') ? "IP6" : "IP4", addr,
	             strchr(addr, ':') ? "IP6" : "IP4", addr, port, srtp ? "RTP/SAVP" : "RTP/AVP",
	             pt, pt, codec, crypto) < 0) {
		*answer = NULL;
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	ok = true;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(crypto, sizeof(crypto));
	if (p != NULL)
		sdp_parser_free(p);
	su_home_deinit(home);
	return ok;
}

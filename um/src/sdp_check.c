/* SDP offers and answers of umd's media (sdp_check.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include "sdp_check.h"

#define WSP    " \t"
#define DIGITS "0123456789"

#define DEFAULT_PTIME 20 /* ms (RFC 3551 section 4.5: G.711's default packetization) */
#define MIN_PTIME     10
#define MAX_PTIME     60

#define SECURED_NEEDS                                                                              \
	"secured mode: an audio stream over RTP/SAVP with an SDES a=crypto line is required"

/* ---- umd's SDP text, in a buffer that is wiped whenever it moves (it may hold a key) ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *np;
	size_t cap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p != NULL ? b->p + b->len : NULL, b->p != NULL ? b->cap - b->len : 0, fmt,
	              ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (b->p != NULL && (size_t)n < b->cap - b->len) {
		b->len += (size_t)n;
		return;
	}
	for (cap = b->cap > 0 ? b->cap * 2 : 1024; cap < b->len + (size_t)n + 1; cap *= 2)
		;
	if ((np = malloc(cap)) == NULL) {
		b->failed = true;
		return;
	}
	if (b->p != NULL) {
		memcpy(np, b->p, b->len);
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = np;
	b->cap = cap;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void
sbuf_wipe(struct sbuf *b)
{
	if (b->p != NULL) {
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

void
um_sdp_free(char *sdp)
{
	if (sdp != NULL) {
		OPENSSL_cleanse(sdp, strlen(sdp));
		free(sdp);
	}
}

void
um_media_params_wipe(struct um_media_params *p)
{
	if (p != NULL)
		OPENSSL_cleanse(p, sizeof(*p));
}

/* ---- reasons ---- */

/*
 * A reason goes into a Warning header's quoted text (RFC 3261 section 20.43, 25.1: no '"' or
 * '\\' unescaped) and into umd's log: anything but printable ASCII becomes '?'.
 */
static void
clean_reason(char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < whylen && why[i] != '\0'; i++)
		if (why[i] < 0x20 || why[i] > 0x7e || why[i] == '"' || why[i] == '\\')
			why[i] = '?';
}

/*
 * sofia-sip's parsing error, cut at its first '"': what follows quotes the offending line of the
 * offer, which may be anything, an a=crypto key included.
 */
static void
parser_reason(sdp_parser_t *p, char *why, size_t whylen)
{
	const char *err = p != NULL ? sdp_parsing_error(p) : NULL;
	size_t n;

	if (err == NULL)
		err = "parser failed";
	n = strcspn(err, "\"");
	while (n > 0 && strchr(" (:", err[n - 1]) != NULL)
		n--;
	snprintf(why, whylen, "malformed SDP: %.*s", (int)(n > 80 ? 80 : n), err);
}

/* ---- the pre-check ---- */

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

/* The pre-check, then sofia-sip's parser; NULL with the reason in `why`. */
static sdp_session_t *
parse_sdp(su_home_t *home, const char *sdp, size_t len, sdp_parser_t **p, char *why, size_t whylen)
{
	sdp_session_t *s;

	*p = NULL;
	if (!media_lines_ok(sdp, len)) {
		snprintf(why, whylen,
		         "malformed SDP: an m= line holds more than tokens and spaces");
		return NULL;
	}
	*p = sdp_parse(home, sdp, (issize_t)len, 0);
	if ((s = sdp_session(*p)) == NULL)
		parser_reason(*p, why, whylen);
	return s;
}

/*
 * The parser's copy of the SDP holds the gateway's keys: wiped before it is freed. (The SIP
 * message's own copy is sofia-sip's, in sip.c's hands.)
 */
static void
wipe_crypto_values(sdp_session_t *sdp)
{
	sdp_attribute_t *a;
	sdp_media_t *m;

	for (a = sdp->sdp_attributes; a != NULL; a = a->a_next)
		if (a->a_name != NULL && a->a_value != NULL && strcasecmp(a->a_name, "crypto") == 0)
			OPENSSL_cleanse((char *)a->a_value, strlen(a->a_value));
	for (m = sdp->sdp_media; m != NULL; m = m->m_next)
		for (a = m->m_attributes; a != NULL; a = a->a_next)
			if (a->a_name != NULL && a->a_value != NULL &&
			    strcasecmp(a->a_name, "crypto") == 0)
				OPENSSL_cleanse((char *)a->a_value, strlen(a->a_value));
}

/* ---- one stream ---- */

/* An address of c= or a=rtcp (numeric only: umd resolves no names on the SIP thread). */
static bool
to_sockaddr(sdp_addrtype_e type, const char *text, unsigned long port, struct sockaddr_storage *ss,
            bool *unspecified, char *why, size_t whylen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (type == sdp_addr_ip4 && inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*unspecified = sin->sin_addr.s_addr == htonl(INADDR_ANY);
		if (IN_MULTICAST(ntohl(sin->sin_addr.s_addr)))
			goto multicast;
		return true;
	}
	if (type == sdp_addr_ip6 && inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*unspecified = IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
		if (IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr))
			goto multicast;
		return true;
	}
	snprintf(why, whylen, "the media address is not a numeric IPv4 or IPv6 address");
	return false;
multicast:
	snprintf(why, whylen, "multicast media is not supported");
	return false;
}

static void
set_port(struct sockaddr_storage *ss, unsigned long port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* A number of 1 to `digits` digits, then the end or blanks (`rest`); -1 if not. */
static long
leading_number(const char *s, size_t digits, const char **rest)
{
	size_t n = strspn(s, DIGITS);

	if (n == 0 || n > digits)
		return -1;
	*rest = s + n;
	return strtol(s, NULL, 10);
}

/*
 * a=rtcp:<port> [IN IP4|IP6 <address>] (RFC 3605 section 2.1): RTCP's port, and its address
 * when it is not the c= address.
 */
static bool
read_rtcp(const char *value, const struct sockaddr_storage *rtp, struct sockaddr_storage *rtcp,
          char *why, size_t whylen)
{
	const char *r = "";
	char addr[INET6_ADDRSTRLEN];
	size_t n;
	long port = value != NULL ? leading_number(value, 5, &r) : -1;
	bool ip6, unspecified;

	if (port < 1 || port > 65535)
		goto bad;
	if (r[strspn(r, WSP)] == '\0') {
		*rtcp = *rtp;
		set_port(rtcp, (unsigned long)port);
		return true;
	}
	/* 1*WSP "IN" 1*WSP "IP4"/"IP6" 1*WSP address *WSP */
	if ((n = strspn(r, WSP)) == 0 || strncasecmp(r + n, "IN", 2) != 0)
		goto bad;
	r += n + 2;
	if ((n = strspn(r, WSP)) == 0 || strncasecmp(r + n, "IP", 2) != 0 ||
	    (r[n + 2] != '4' && r[n + 2] != '6'))
		goto bad;
	ip6 = r[n + 2] == '6';
	r += n + 3;
	if ((n = strspn(r, WSP)) == 0 || (r += n, n = strcspn(r, WSP)) == 0 || n >= sizeof(addr) ||
	    r[n + strspn(r + n, WSP)] != '\0')
		goto bad;
	memcpy(addr, r, n);
	addr[n] = '\0';
	return to_sockaddr(ip6 ? sdp_addr_ip6 : sdp_addr_ip4, addr, (unsigned long)port, rtcp,
	                   &unspecified, why, whylen);
bad:
	snprintf(why, whylen, "a=rtcp is not port [IN IP4|IP6 address] (RFC 3605)");
	return false;
}

/* a=ptime or a=maxptime in ms (RFC 4566 section 6), media level first; -1 when absent or bad. */
static long
ms_attribute(const sdp_session_t *sdp, const sdp_media_t *m, const char *name)
{
	const sdp_attribute_t *a = sdp_attribute_find2(m->m_attributes, sdp->sdp_attributes, name);
	const char *r = "";
	long v = a != NULL && a->a_value != NULL ? leading_number(a->a_value, 4, &r) : -1;

	/* a fraction ("20.0") is let pass and dropped */
	if (v >= 0 && *r == '.')
		r += 1 + strspn(r + 1, DIGITS);
	return v >= 0 && r[strspn(r, WSP)] == '\0' ? v : -1;
}

/*
 * umd's packet time: the offer's a=ptime, within 10..60 ms and a=maxptime, rounded down to a
 * multiple of 10 ms (whole G.711 frames of 80 samples, never longer than asked); 20 ms when none
 * is offered. A malformed a=ptime is a hint umd cannot read, not a reason to refuse the call.
 */
static int
negotiated_ptime(const sdp_session_t *sdp, const sdp_media_t *m)
{
	long p = ms_attribute(sdp, m, "ptime"), max = ms_attribute(sdp, m, "maxptime");

	if (p < 0)
		p = DEFAULT_PTIME;
	if (max >= 0 && p > max)
		p = max;
	if (p < MIN_PTIME)
		p = MIN_PTIME;
	if (p > MAX_PTIME)
		p = MAX_PTIME;
	return (int)(p / 10 * 10);
}

/*
 * umd's direction, the mirror of the gateway's (RFC 3264 section 6.1): umd sends when the
 * gateway receives and receives when it sends. An unspecified c= (RFC 3264 section 8.4, the
 * hold of RFC 2543) says the gateway receives nothing, whatever the attribute.
 */
static enum um_dir
umd_dir(unsigned gateway_mode, bool unspecified)
{
	bool send = (gateway_mode & sdp_recvonly) != 0 && !unspecified;
	bool recv = (gateway_mode & sdp_sendonly) != 0;

	if (send && recv)
		return UM_DIR_SENDRECV;
	if (send)
		return UM_DIR_SENDONLY;
	return recv ? UM_DIR_RECVONLY : UM_DIR_INACTIVE;
}

static bool
is_codec(const sdp_rtpmap_t *rm, const char *name)
{
	return rm->rm_encoding != NULL && strcasecmp(rm->rm_encoding, name) == 0 &&
	       rm->rm_rate == 8000 &&
	       (rm->rm_params == NULL || strcmp(rm->rm_params, "") == 0 ||
	        strcmp(rm->rm_params, "1") == 0);
}

/*
 * PCMU (0) or PCMA (8) as RFC 3551 section 6 assigns them, whichever the offer lists first
 * (sofia-sip keeps the m= line's order and fills in the static payload types), and
 * telephone-event/8000 (RFC 4733 section 7.1.1) on another payload type when offered.
 */
static bool
pick_codec(const sdp_media_t *m, int *pt, int *te_pt)
{
	const sdp_rtpmap_t *rm;

	*pt = *te_pt = -1;
	for (rm = m->m_rtpmaps; rm != NULL && *pt < 0; rm = rm->rm_next)
		if ((rm->rm_pt == 0 && is_codec(rm, "PCMU")) ||
		    (rm->rm_pt == 8 && is_codec(rm, "PCMA")))
			*pt = (int)rm->rm_pt;
	for (rm = m->m_rtpmaps; rm != NULL && *te_pt < 0; rm = rm->rm_next)
		if ((int)rm->rm_pt != *pt && is_codec(rm, "telephone-event"))
			*te_pt = (int)rm->rm_pt;
	return *pt >= 0;
}

/*
 * Everything of an RTP audio stream but its transport and keys into *p: codec, addresses, RTCP,
 * ptime, direction. `mux_allowed`: a=rtcp-mux is taken (an offer's); in an answer to umd's offer,
 * which has none, it is not (RFC 5761 section 5.1.1).
 */
static bool
stream_params(const sdp_session_t *sdp, const sdp_media_t *m, const struct um_media_params *prev,
              bool mux_allowed, struct um_media_params *p, char *why, size_t whylen)
{
	const sdp_connection_t *c = sdp_media_connections(m);
	const sdp_attribute_t *rtcp;
	bool unspecified = false;

	if (m->m_port == 0 || m->m_port > 65535) {
		snprintf(why, whylen, "the audio port is out of range");
		return false;
	}
	if (!pick_codec(m, &p->pt, &p->te_pt)) {
		snprintf(why, whylen,
		         "no PCMU or PCMA (RTP payload types 0, 8) in the audio stream");
		return false;
	}
	if (c == NULL || c->c_nettype != sdp_net_in) {
		snprintf(why, whylen, "no IN c= line for the audio stream");
		return false;
	}
	if (c->c_mcast) {
		snprintf(why, whylen, "multicast media is not supported");
		return false;
	}
	if (!to_sockaddr(c->c_addrtype, c->c_address, m->m_port, &p->remote_rtp, &unspecified, why,
	                 whylen))
		return false;
	p->rtcp_mux = mux_allowed && sdp_attribute_find(m->m_attributes, "rtcp-mux") != NULL;
	rtcp = sdp_attribute_find(m->m_attributes, "rtcp");
	if (p->rtcp_mux) {
		/* RFC 5761 section 5.1.3: an a=rtcp beside it is the fallback when not muxed */
		p->remote_rtcp = p->remote_rtp;
	} else if (rtcp != NULL) {
		if (!read_rtcp(rtcp->a_value, &p->remote_rtp, &p->remote_rtcp, why, whylen))
			return false;
	} else if (m->m_port == 65535) {
		snprintf(why, whylen, "no port for RTCP after RTP port 65535");
		return false;
	} else {
		p->remote_rtcp = p->remote_rtp; /* RFC 3550 section 11: the next port */
		set_port(&p->remote_rtcp, m->m_port + 1);
	}
	if (unspecified && prev != NULL && prev->remote_rtp.ss_family != AF_UNSPEC) {
		/* on hold: the gateway's packets still come from where they came from */
		p->remote_rtp = prev->remote_rtp;
		p->remote_rtcp = prev->remote_rtcp;
	}
	p->ptime = negotiated_ptime(sdp, m);
	p->dir = umd_dir(m->m_mode, unspecified);
	return true;
}

/* What the mode lets through (the table of sdp_check.h). */
static bool
transport_ok(enum um_mode mode, const sdp_media_t *m, char *why, size_t whylen)
{
	if (m->m_proto == sdp_proto_srtp && mode == UM_MODE_UNSECURED) {
		snprintf(why, whylen, "unsecured mode carries plain RTP: RTP/SAVP is not answered");
		return false;
	}
	if (m->m_proto == sdp_proto_rtp && mode == UM_MODE_SECURED) {
		snprintf(why, whylen, SECURED_NEEDS);
		return false;
	}
	if (m->m_proto != sdp_proto_rtp && m->m_proto != sdp_proto_srtp) {
		snprintf(why, whylen, "%s",
		         mode == UM_MODE_SECURED     ? SECURED_NEEDS
		         : mode == UM_MODE_UNSECURED ? "no audio stream over RTP/AVP"
		                                     : "no audio stream over RTP/AVP or RTP/SAVP");
		return false;
	}
	return true;
}

/*
 * The gateway's key: the first a=crypto line of the stream (RFC 4568 section 4: a media-level
 * attribute) that umd takes, in the offer's order (section 7.1.2: the answerer picks one). When
 * none is, the reason of the first line with a suite umd knows, else the unknown suites by name,
 * else the first line's reason.
 */
static bool
pick_crypto(const sdp_media_t *m, struct um_sdes *remote, char *why, size_t whylen)
{
	const sdp_attribute_t *a;
	char r[256], known[256] = "", other[256] = "", names[200] = "";
	size_t nl = 0;
	bool any = false;

	for (a = sdp_attribute_find(m->m_attributes, "crypto"); a != NULL;
	     a = sdp_attribute_find(a->a_next, "crypto")) {
		any = true;
		switch (um_sdes_parse_status(a->a_value, remote, r, sizeof(r))) {
		case UM_SDES_OK:
			return true;
		case UM_SDES_UNKNOWN_SUITE:
			if (r[0] != '\0' && nl + strlen(r) + 3 < sizeof(names))
				nl += (size_t)snprintf(names + nl, sizeof(names) - nl, "%s%s",
				                       nl > 0 ? ", " : "", r);
			break;
		default:
			if (remote->suite != UM_SRTP_NONE && known[0] == '\0')
				snprintf(known, sizeof(known), "%s", r);
			else if (other[0] == '\0')
				snprintf(other, sizeof(other), "%s", r);
		}
	}
	um_sdes_wipe(remote);
	if (!any)
		snprintf(why, whylen,
		         "RTP/SAVP without an SDES a=crypto line (umd keys SRTP by SDES)");
	else if (known[0] != '\0')
		snprintf(why, whylen, "%s", known);
	else if (names[0] != '\0')
		snprintf(why, whylen, "no offered SRTP suite is supported: %s", names);
	else if (other[0] != '\0')
		snprintf(why, whylen, "%s", other);
	else
		snprintf(why, whylen, "no offered SRTP suite is supported");
	return false;
}

/*
 * One offered stream into *p (transport, parameters, the gateway's key). `stage` says how far it
 * got when refused: 1 at the transport, 2 after, so that the most telling reason is kept.
 */
static bool
take_stream(enum um_mode mode, const sdp_session_t *sdp, const sdp_media_t *m,
            const struct um_media_params *prev, struct um_media_params *p, int *stage, char *why,
            size_t whylen)
{
	*stage = 1;
	if (!transport_ok(mode, m, why, whylen))
		return false;
	*stage = 2;
	if (!stream_params(sdp, m, prev, true, p, why, whylen))
		return false;
	if (m->m_proto != sdp_proto_srtp)
		return true;
	if (!pick_crypto(m, &p->remote, why, whylen))
		return false;
	p->suite = p->remote.suite;
	return true;
}

/*
 * umd's key for the stream. A re-offer that repeats the line umd took before (same tag, suite,
 * key) keeps umd's key: nothing changed, and the SRTP contexts go on. Any other gets a fresh
 * key (RFC 4568 section 7.1.4: a new key in the offer, a new key both ways).
 */
static bool
local_key(const struct um_media_params *prev, struct um_media_params *p)
{
	if (prev != NULL && prev->suite == p->suite && prev->remote.tag == p->remote.tag &&
	    prev->remote.key_len == p->remote.key_len && prev->local.suite == p->suite &&
	    CRYPTO_memcmp(prev->remote.key, p->remote.key, p->remote.key_len) == 0) {
		p->local = prev->local;
	} else if (!um_sdes_new_key(p->suite, &p->local)) {
		return false;
	}
	p->local.tag = p->remote.tag; /* RFC 4568 section 5.1.2: the answer repeats the tag */
	return true;
}

/* ---- writing SDP ---- */

/* A new dialog's o= id (random, 31 bits), or the dialog's with its version bumped. */
static bool
session_ids(const struct um_media_params *prev, struct um_media_params *p)
{
	unsigned char r[4];

	if (prev != NULL) {
		p->sess_id = prev->sess_id;
		p->sess_version = prev->sess_version + 1;
		return true;
	}
	if (RAND_bytes(r, sizeof(r)) != 1)
		return false;
	p->sess_id = ((unsigned long)(r[0] & 0x7f) << 24 | (unsigned long)r[1] << 16 |
	              (unsigned long)r[2] << 8 | r[3]);
	if (p->sess_id == 0)
		p->sess_id = 1;
	p->sess_version = 1;
	return true;
}

/* umd's own address goes into the SDP as it is: only address and host name characters. */
static bool
addr_ok(const char *addr)
{
	return addr != NULL && addr[0] != '\0' &&
	       strspn(addr, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:") ==
	               strlen(addr);
}

static void
put_header(struct sbuf *b, const char *addr, const struct um_media_params *p)
{
	const char *type = strchr(addr, ':') != NULL ? "IP6" : "IP4";

	put(b, "v=0\r\no=umd %lu %lu IN %s %s\r\ns=umd\r\nc=IN %s %s\r\nt=0 0\r\n", p->sess_id,
	    p->sess_version, type, addr, type, addr);
}

static bool
put_crypto(struct sbuf *b, const struct um_sdes *k)
{
	char text[UM_SDES_TEXT_MAX];
	bool ok = um_sdes_format(k, text, sizeof(text));

	if (ok)
		put(b, "a=crypto:%s\r\n", text);
	OPENSSL_cleanse(text, sizeof(text));
	return ok;
}

/*
 * umd's m= section: the payload types `pts` (0 and/or 8), telephone-event, ptime, rtcp-mux, the
 * keys, the direction.
 */
static bool
put_media(struct sbuf *b, int port, const struct um_media_params *p, const int *pts, size_t npts,
          const struct um_sdes *keys, size_t nkeys)
{
	static const char *const dirs[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
	size_t i;

	put(b, "m=audio %d %s", port, nkeys > 0 ? "RTP/SAVP" : "RTP/AVP");
	for (i = 0; i < npts; i++)
		put(b, " %d", pts[i]);
	if (p->te_pt >= 0)
		put(b, " %d", p->te_pt);
	put(b, "\r\n");
	for (i = 0; i < npts; i++)
		put(b, "a=rtpmap:%d %s/8000\r\n", pts[i], pts[i] == 0 ? "PCMU" : "PCMA");
	if (p->te_pt >= 0)
		put(b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\n", p->te_pt,
		    p->te_pt);
	put(b, "a=ptime:%d\r\n", p->ptime);
	if (p->rtcp_mux)
		put(b, "a=rtcp-mux\r\n");
	for (i = 0; i < nkeys; i++)
		if (!put_crypto(b, &keys[i]))
			return false;
	put(b, "a=%s\r\n", dirs[p->dir]);
	return true;
}

/*
 * A refused stream, as RFC 3264 section 6 has it: the same media type and transport, port 0,
 * one of its formats (SDP needs one; the answerer's formats of a refused stream mean nothing).
 * The text is the offer's, and went through media_lines_ok and sofia-sip's m= grammar.
 */
static void
put_rejected(struct sbuf *b, const sdp_media_t *m)
{
	char fmt[16] = "0";

	if (m->m_rtpmaps != NULL)
		snprintf(fmt, sizeof(fmt), "%u", (unsigned)m->m_rtpmaps->rm_pt);
	/* sofia-sip names known transports its own way: "udp" is the registered spelling */
	put(b, "m=%s 0 %s %s\r\n", m->m_type_name,
	    m->m_proto == sdp_proto_udp ? "udp" : m->m_proto_name,
	    m->m_rtpmaps == NULL && m->m_format != NULL && m->m_format->l_text != NULL
	            ? m->m_format->l_text
	            : fmt);
}

/* umd's own offer (RFC 3264 section 5): both codecs, telephone-event, a key per suite. */
static bool
own_offer(enum um_mode mode, int port, struct um_media_params *p, struct sbuf *b, char *why,
          size_t whylen)
{
	static const int pts[] = {0, 8};
	size_t n;

	p->own_offer = true;
	p->pt = -1;
	p->te_pt = UM_TE_PT;
	/* tags 1 to 4 in sdes.h's order of suites: offered[tag - 1] */
	for (n = 0; mode == UM_MODE_SECURED && n < UM_SRTP_SUITES; n++) {
		if (!um_sdes_new_key((enum um_srtp_suite)(n + 1), &p->offered[n])) {
			snprintf(why, whylen, "no randomness for an SRTP key");
			return false;
		}
		p->offered[n].tag = (unsigned)n + 1;
	}
	return put_media(b, port, p, pts, 2, p->offered, n);
}

bool
um_sdp_answer(enum um_mode mode, const char *offer, size_t len, const char *addr, int port,
              const struct um_media_params *prev, struct um_media_params *out, char **answer,
              char *why, size_t whylen)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	sdp_parser_t *parser = NULL;
	sdp_session_t *sdp = NULL;
	sdp_media_t *m, *chosen = NULL;
	struct um_media_params np, t;
	struct sbuf b = {NULL, 0, 0, false};
	char r[384];
	int stage, best = 0;
	bool ok = false;

	*answer = NULL;
	memset(&np, 0, sizeof(np));
	memset(&t, 0, sizeof(t));
	if (whylen > 0)
		why[0] = '\0';
	np.te_pt = -1;
	np.ptime = DEFAULT_PTIME;
	if (!addr_ok(addr) || port < 1 || port > 65535) {
		snprintf(why, whylen, "umd's media address or port is not usable");
		goto out;
	}
	if (!session_ids(prev, &np)) {
		snprintf(why, whylen, "no randomness for the SDP session id");
		goto out;
	}
	if (offer == NULL || len == 0) {
		put_header(&b, addr, &np);
		if (!own_offer(mode, port, &np, &b, why, whylen))
			goto out;
		goto done;
	}
	if ((sdp = parse_sdp(home, offer, len, &parser, why, whylen)) == NULL)
		goto out;
	snprintf(why, whylen, "%s",
	         mode == UM_MODE_SECURED     ? SECURED_NEEDS
	         : mode == UM_MODE_UNSECURED ? "no audio stream over RTP/AVP"
	                                     : "no audio stream over RTP/AVP or RTP/SAVP");
	for (m = sdp->sdp_media; m != NULL && chosen == NULL; m = m->m_next) {
		if (m->m_type != sdp_media_audio || m->m_rejected || m->m_port == 0)
			continue;
		memset(&t, 0, sizeof(t));
		if (take_stream(mode, sdp, m, prev, &t, &stage, r, sizeof(r))) {
			chosen = m;
			np.remote_rtp = t.remote_rtp;
			np.remote_rtcp = t.remote_rtcp;
			np.rtcp_mux = t.rtcp_mux;
			np.pt = t.pt;
			np.te_pt = t.te_pt;
			np.ptime = t.ptime;
			np.dir = t.dir;
			np.suite = t.suite;
			np.remote = t.remote;
		} else if (stage > best) {
			best = stage;
			snprintf(why, whylen, "%s", r);
		}
		um_media_params_wipe(&t);
	}
	if (chosen == NULL)
		goto out;
	if (np.suite != UM_SRTP_NONE && !local_key(prev, &np)) {
		snprintf(why, whylen, "no randomness for an SRTP key");
		goto out;
	}
	/* RFC 3264 section 6: one m= line per offered one, in order; all but one refused. */
	put_header(&b, addr, &np);
	for (m = sdp->sdp_media; m != NULL; m = m->m_next) {
		if (m != chosen)
			put_rejected(&b, m);
		else if (!put_media(&b, port, &np, &np.pt, 1, &np.local,
		                    np.suite != UM_SRTP_NONE ? 1 : 0)) {
			snprintf(why, whylen, "umd's key could not be written");
			goto out;
		}
	}
done:
	if (b.failed) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	*answer = b.p;
	b.p = NULL;
	if (out != NULL)
		*out = np;
	if (whylen > 0)
		why[0] = '\0';
	ok = true;
out:
	if (!ok)
		clean_reason(why, whylen);
	sbuf_wipe(&b);
	um_media_params_wipe(&np);
	um_media_params_wipe(&t);
	if (sdp != NULL)
		wipe_crypto_values(sdp);
	if (parser != NULL)
		sdp_parser_free(parser);
	su_home_deinit(home);
	return ok;
}

/*
 * The gateway's a=crypto line in its answer to umd's offer: one line (RFC 4568 section 5.1.2:
 * the answer holds the one it accepted), its tag one of umd's lines, with that line's suite.
 */
static bool
answer_crypto(const sdp_media_t *m, const struct um_media_params *offered,
              struct um_media_params *p, char *why, size_t whylen)
{
	const sdp_attribute_t *a = sdp_attribute_find(m->m_attributes, "crypto");
	const struct um_sdes *mine;

	if (a == NULL || sdp_attribute_find(a->a_next, "crypto") != NULL) {
		snprintf(why, whylen, "the answer has %s a=crypto line (one is required)",
		         a == NULL ? "no" : "more than one");
		return false;
	}
	if (!um_sdes_parse(a->a_value, &p->remote, why, whylen))
		return false;
	if (p->remote.tag < 1 || p->remote.tag > UM_SRTP_SUITES ||
	    (mine = &offered->offered[p->remote.tag - 1])->suite != p->remote.suite) {
		snprintf(why, whylen, "the answer's a=crypto tag %u with %s is not one umd offered",
		         p->remote.tag, um_srtp_suite_name(p->remote.suite));
		um_sdes_wipe(&p->remote);
		return false;
	}
	p->local = *mine;
	p->suite = mine->suite;
	return true;
}

bool
um_sdp_take_answer(enum um_mode mode, const char *sdp_text, size_t len,
                   const struct um_media_params *offered, struct um_media_params *out, char *why,
                   size_t whylen)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	sdp_parser_t *parser = NULL;
	sdp_session_t *sdp = NULL;
	sdp_media_t *m;
	struct um_media_params np;
	bool ok = false, srtp = mode == UM_MODE_SECURED;

	memset(&np, 0, sizeof(np));
	if (whylen > 0)
		why[0] = '\0';
	if (offered == NULL || !offered->own_offer ||
	    srtp != (offered->offered[0].suite != UM_SRTP_NONE)) {
		snprintf(why, whylen, "no offer of umd's in this mode waits for an answer");
		goto out;
	}
	if (sdp_text == NULL || len == 0) {
		snprintf(why, whylen, "no SDP answer to umd's offer");
		goto out;
	}
	if ((sdp = parse_sdp(home, sdp_text, len, &parser, why, whylen)) == NULL)
		goto out;
	/* RFC 3264 section 6: as many m= lines as the offer, which had one. */
	if ((m = sdp->sdp_media) == NULL || m->m_next != NULL) {
		snprintf(why, whylen, "the answer does not have the one m= line of umd's offer");
		goto out;
	}
	if (m->m_type != sdp_media_audio || m->m_rejected || m->m_port == 0) {
		snprintf(why, whylen, "the gateway refused umd's audio stream");
		goto out;
	}
	if (m->m_proto != (srtp ? sdp_proto_srtp : sdp_proto_rtp)) {
		snprintf(why, whylen, "the answer's transport is not the %s umd offered",
		         srtp ? "RTP/SAVP" : "RTP/AVP");
		goto out;
	}
	np.te_pt = -1;
	if (!stream_params(sdp, m, NULL, false, &np, why, whylen))
		goto out;
	if (srtp && !answer_crypto(m, offered, &np, why, whylen))
		goto out;
	np.sess_id = offered->sess_id;
	np.sess_version = offered->sess_version;
	*out = np;
	ok = true;
out:
	if (!ok)
		clean_reason(why, whylen);
	um_media_params_wipe(&np);
	if (sdp != NULL)
		wipe_crypto_values(sdp);
	if (parser != NULL)
		sdp_parser_free(parser);
	su_home_deinit(home);
	return ok;
}

/* Keep-alive OPTIONS answered below sofia-sip (optfast.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/url.h>

#include "optfast.h"

/* nta's step between tags (nta.c, NTA_TAG_PRIME); any odd constant would do. */
#define TAG_STEP 0xB9591D1C361C6521ULL
/* nta_agent_newtag's length: 64 bits in msg_random_token's 5-bit characters. */
#define TAG_LEN ((8 * 8 + 4) / 5)

bool
um_optfast_init(struct um_optfast *o, const char *tail, uint64_t seed)
{
	size_t n = strlen(tail);

	memset(o, 0, sizeof(*o));
	if (n >= sizeof(o->tail))
		return false;
	memcpy(o->tail, tail, n);
	o->tail_len = n;
	o->tags = seed;
	return true;
}

/* One header line: name, value (without CRLF), as seen. */
struct line {
	const char *name, *value;
	size_t nlen, vlen;
};

static bool
is(const struct line *l, const char *name)
{
	size_t n = strlen(name);

	return l->nlen == n && memcmp(l->name, name, n) == 0;
}

/* Characters sofia-sip prints back as they came in the values it re-encodes: no space, no
 * quote, no escape, no separator that would split the header into several. */
static bool
plain(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-_.!~*'+:@;=/&$?[]", c) != NULL);
}

static bool
token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-.!*_+`'~", c) != NULL);
}

/*
 * A list of header parameters, each ";" token [ "=" token / host ] (RFC 3261 section 25.1),
 * without escapes or quoted strings; `host` allows ':' and brackets in values (an IPv6 address).
 */
static bool
params(const char *v, size_t n, bool host)
{
	size_t i = 0;

	while (i < n) {
		size_t s;

		if (v[i] != ';')
			return false;
		for (s = ++i; i < n && token_char(v[i]); i++)
			;
		if (i == s)
			return false;
		if (i < n && v[i] == '=') {
			for (s = ++i;
			     i < n && (token_char(v[i]) ||
			               (host && (v[i] == ':' || v[i] == '[' || v[i] == ']')));
			     i++)
				;
			if (i == s)
				return false;
		}
	}
	return true;
}

/* A printable value of a header the answer does not carry (single spaces, no tabs). */
static bool
printable(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e ||
		    (v[i] == ' ' && (i == 0 || i + 1 == n || v[i + 1] == ' ')))
			return false;
	return true;
}

/*
 * Whether sofia-sip reads `u` as a sip: or sips: URI and prints it back as it is: its own
 * decoder on a copy (url_d decodes in place), then its encoder. A URI it could not read would
 * make nta answer 400 (Bad From Header...); one it prints otherwise would not be copied.
 */
static bool
uri(const char *u, size_t n)
{
	char buf[UM_OPTFAST_REQUEST_MAX], out[UM_OPTFAST_REQUEST_MAX];
	url_t url;

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, u, n);
	buf[n] = '\0';
	if (url_d(&url, buf) < 0 || (url.url_type != url_sip && url.url_type != url_sips))
		return false;
	return url_e(out, sizeof(out), &url) == (issize_t)n && memcmp(out, u, n) == 0;
}

/* [ "display" SP ] "<" sip:/sips: URI ">" *( ";" param ), all plain; *tagged when a param is
 * "tag". */
static bool
name_addr(const char *v, size_t n, bool *tagged)
{
	size_t i = 0, j;

	*tagged = false;
	if (n > 0 && v[0] == '"') {
		for (i = 1; i < n && v[i] != '"'; i++)
			if (v[i] == '\\' || (unsigned char)v[i] < 0x20 ||
			    (unsigned char)v[i] > 0x7e)
				return false;
		if (i + 2 >= n || v[i + 1] != ' ')
			return false;
		i += 2;
	}
	if (i >= n || v[i] != '<')
		return false;
	i++;
	if (!(n - i > 4 && memcmp(v + i, "sip:", 4) == 0) &&
	    !(n - i > 5 && memcmp(v + i, "sips:", 5) == 0))
		return false;
	for (j = i; j < n && v[j] != '>'; j++)
		if (!plain(v[j]))
			return false;
	if (j >= n || j == i || !uri(v + i, j - i))
		return false;
	if (!params(v + j + 1, n - j - 1, true))
		return false;
	for (i = j + 1; i < n; i++) {
		if (v[i] == ';' && (n - i - 1 >= 3 && strncasecmp(v + i + 1, "tag", 3) == 0) &&
		    (n - i - 1 == 3 || v[i + 4] == '=' || v[i + 4] == ';'))
			*tagged = true;
	}
	return j + 1 == n || v[j + 1] == ';';
}

/* Call-ID: word [ "@" word ] (RFC 3261 section 25.1), of plain characters. */
static bool
call_id(const char *v, size_t n)
{
	size_t i, at = 0;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (v[i] == '@')
			at++;
		else if (!plain(v[i]) || v[i] == ';')
			return false;
	}
	return at <= 1 && v[0] != '@' && v[n - 1] != '@';
}

/* CSeq: a 32-bit number as sofia-sip prints it (no leading zero), then " OPTIONS". */
static bool
cseq(const char *v, size_t n)
{
	unsigned long long num = 0;
	size_t i;

	for (i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
		num = num * 10 + (unsigned)(v[i] - '0');
		if (num > 0xffffffffULL)
			return false;
	}
	if (i == 0 || (v[0] == '0' && i > 1))
		return false;
	return n - i == 8 && memcmp(v + i, " OPTIONS", 8) == 0;
}

/* Whether `v` holds `word`, in any case (nua's own comparison of Accept is su_casematch). */
static bool
holds(const char *v, size_t n, const char *word)
{
	size_t w = strlen(word), i;

	for (i = 0; i + w <= n; i++)
		if (strncasecmp(v + i, word, w) == 0)
			return true;
	return false;
}

/* A comma list of tokens (Supported), as sofia-sip accepts it. */
static bool
tokens(const char *v, size_t n)
{
	size_t i;
	bool tok = false;

	for (i = 0; i < n; i++) {
		if (v[i] == ',') {
			if (!tok)
				return false;
			tok = false;
			if (i + 1 < n && v[i + 1] == ' ')
				i++;
		} else if ((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		           (v[i] >= '0' && v[i] <= '9') ||
		           (v[i] != '\0' && strchr("-.!%*_+`'~", v[i]) != NULL)) {
			tok = true;
		} else {
			return false;
		}
	}
	return tok;
}

/*
 * The top Via: "SIP/2.0/TLS HOST:PORT;params" from the connection's own address (else nta
 * adds received=), params plain without received, comp or maddr; rport, when present, without
 * a value. *rport_at: where ";rport" is (nta puts rport=PORT in its place), or 0: absent (nta
 * appends it). RFC 3581 section 4; agent_check_request_via in nta.c.
 */
static bool
via(const char *v, size_t n, const char *host, size_t *rport_at)
{
	static const char proto[] = "SIP/2.0/TLS ";
	size_t hl = strlen(host), i, p;

	*rport_at = 0;
	if (n <= sizeof(proto) - 1 + hl + 1 || memcmp(v, proto, sizeof(proto) - 1) != 0)
		return false;
	i = sizeof(proto) - 1;
	if (memcmp(v + i, host, hl) != 0 || v[i + hl] != ':')
		return false;
	for (i += hl + 1, p = i; i < n && v[i] >= '0' && v[i] <= '9'; i++)
		;
	if (i == p || i - p > 5 || !params(v + i, n - i, false))
		return false;
	while (i < n) {
		size_t s = i + 1, e;

		if (v[i] != ';')
			return false;
		for (e = s; e < n && v[e] != ';'; e++)
			;
		if ((e - s >= 8 && strncasecmp(v + s, "received", 8) == 0) ||
		    (e - s >= 4 && strncasecmp(v + s, "comp", 4) == 0) ||
		    (e - s >= 5 && strncasecmp(v + s, "maddr", 5) == 0))
			return false;
		if (e - s >= 5 && strncasecmp(v + s, "rport", 5) == 0) {
			if (e - s != 5 || memcmp(v + s, "rport", 5) != 0 || *rport_at != 0)
				return false;
			*rport_at = i;
		}
		i = e;
	}
	return true;
}

static char *
put(char *p, const char *end, const void *s, size_t n)
{
	if (p == NULL || (size_t)(end - p) < n)
		return NULL;
	memcpy(p, s, n);
	return p + n;
}

static char *
puts_(char *p, const char *end, const char *s)
{
	return put(p, end, s, strlen(s));
}

enum um_optfast_result
um_optfast_answer(struct um_optfast *o, const char *msg, size_t len, const char *peer_host,
                  unsigned peer_port, char *answer, size_t *answer_len, size_t *used)
{
	struct line via_l = {0}, from = {0}, to = {0}, cid = {0}, cs = {0}, l;
	const char *p, *eol, *end, *hdr_end;
	char *w, *wend = answer + UM_OPTFAST_ANSWER_MAX, tag[TAG_LEN + 1], port[16];
	size_t rport_at = 0, n;
	bool clen = false, mf = false, tagged, seen_other[3] = {false};

	*answer_len = 0;
	*used = 0;
	if (len > UM_OPTFAST_REQUEST_MAX)
		len = UM_OPTFAST_REQUEST_MAX;
	if (len < 8 || memcmp(msg, "OPTIONS ", 8) != 0)
		return UM_OPTFAST_PASS;
	end = msg + len;
	/* The whole header: a request longer than UM_OPTFAST_REQUEST_MAX is sofia-sip's. */
	for (hdr_end = msg; hdr_end + 4 <= end && memcmp(hdr_end, "\r\n\r\n", 4) != 0; hdr_end++)
		;
	if (hdr_end + 4 > end)
		return UM_OPTFAST_PASS;
	/* The request line: OPTIONS sip:... or sips:... SIP/2.0 */
	if ((eol = memchr(msg, '\r', (size_t)(hdr_end + 2 - msg))) == NULL || eol[1] != '\n')
		return UM_OPTFAST_PASS;
	p = msg + 8;
	if ((size_t)(eol - p) < 9 + 4 || memcmp(eol - 8, " SIP/2.0", 8) != 0 ||
	    (memcmp(p, "sip:", 4) != 0 && memcmp(p, "sips:", 5) != 0))
		return UM_OPTFAST_PASS;
	for (; p < eol - 8; p++)
		if (!plain(*p) || *p == '%')
			return UM_OPTFAST_PASS;
	if (!uri(msg + 8, (size_t)(eol - 8 - (msg + 8))))
		return UM_OPTFAST_PASS;
	/* The headers, line by line. */
	for (p = eol + 2; p < hdr_end + 2; p = eol + 2) {
		const char *colon;

		eol = memchr(p, '\r', (size_t)(hdr_end + 2 - p));
		if (eol == NULL || eol[1] != '\n')
			return UM_OPTFAST_PASS;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon + 2 > eol || colon[1] != ' ' || colon == p)
			return UM_OPTFAST_PASS;
		l.name = p;
		l.nlen = (size_t)(colon - p);
		l.value = colon + 2;
		l.vlen = (size_t)(eol - l.value);
		if (l.vlen == 0 || !printable(l.value, l.vlen))
			return UM_OPTFAST_PASS;
		if (is(&l, "Via")) {
			if (via_l.name != NULL || !via(l.value, l.vlen, peer_host, &rport_at))
				return UM_OPTFAST_PASS;
			via_l = l;
		} else if (is(&l, "From")) {
			if (from.name != NULL || !name_addr(l.value, l.vlen, &tagged))
				return UM_OPTFAST_PASS;
			from = l;
		} else if (is(&l, "To")) {
			if (to.name != NULL || !name_addr(l.value, l.vlen, &tagged) || tagged)
				return UM_OPTFAST_PASS;
			to = l;
		} else if (is(&l, "Call-ID")) {
			if (cid.name != NULL || !call_id(l.value, l.vlen))
				return UM_OPTFAST_PASS;
			cid = l;
		} else if (is(&l, "CSeq")) {
			if (cs.name != NULL || !cseq(l.value, l.vlen))
				return UM_OPTFAST_PASS;
			cs = l;
		} else if (is(&l, "Content-Length")) {
			if (clen || l.vlen != 1 || l.value[0] != '0')
				return UM_OPTFAST_PASS;
			clen = true;
		} else if (is(&l, "Max-Forwards")) {
			if (mf || l.vlen > 3 || strspn(l.value, "0123456789") < l.vlen)
				return UM_OPTFAST_PASS;
			mf = true;
		} else if (is(&l, "Contact")) {
			if (seen_other[0] || !name_addr(l.value, l.vlen, &tagged))
				return UM_OPTFAST_PASS;
			seen_other[0] = true;
		} else if (is(&l, "Supported")) {
			if (seen_other[1] || !tokens(l.value, l.vlen))
				return UM_OPTFAST_PASS;
			seen_other[1] = true;
		} else if (is(&l, "Accept")) {
			/* nua answers sofia's outbound probes itself (outbound.c): theirs. */
			if (seen_other[2] || holds(l.value, l.vlen, "register-usage"))
				return UM_OPTFAST_PASS;
			seen_other[2] = true;
		} else if (is(&l, "User-Agent") || is(&l, "Allow")) {
			/* Carried, never interpreted here (printable was checked). */
		} else {
			return UM_OPTFAST_PASS;
		}
	}
	if (via_l.name == NULL || from.name == NULL || to.name == NULL || cid.name == NULL ||
	    cs.name == NULL || !clen)
		return UM_OPTFAST_PASS;

	/* The answer, in the order nta and nua write it. */
	o->tags += TAG_STEP;
	if (msg_random_token(tag, TAG_LEN, &o->tags, sizeof(o->tags)) != TAG_LEN)
		return UM_OPTFAST_PASS;
	tag[TAG_LEN] = '\0';
	n = (size_t)snprintf(port, sizeof(port), "rport=%u", peer_port);
	w = puts_(answer, wend, "SIP/2.0 200 OK\r\nVia: ");
	if (rport_at != 0) {
		w = put(w, wend, via_l.value, rport_at + 1);
		w = put(w, wend, port, n);
		w = put(w, wend, via_l.value + rport_at + 6, via_l.vlen - rport_at - 6);
	} else {
		w = put(w, wend, via_l.value, via_l.vlen);
		w = put(w, wend, ";", 1);
		w = put(w, wend, port, n);
	}
	w = puts_(w, wend, "\r\nFrom: ");
	w = put(w, wend, from.value, from.vlen);
	w = puts_(w, wend, "\r\nTo: ");
	w = put(w, wend, to.value, to.vlen);
	w = puts_(w, wend, ";tag=");
	w = put(w, wend, tag, TAG_LEN);
	w = puts_(w, wend, "\r\nCall-ID: ");
	w = put(w, wend, cid.value, cid.vlen);
	w = puts_(w, wend, "\r\nCSeq: ");
	w = put(w, wend, cs.value, cs.vlen);
	w = puts_(w, wend, "\r\n");
	w = put(w, wend, o->tail, o->tail_len);
	if (w == NULL)
		return UM_OPTFAST_PASS;
	*answer_len = (size_t)(w - answer);
	*used = (size_t)(hdr_end + 4 - msg);
	return UM_OPTFAST_ANSWERED;
}

/* SDES a=crypto values for SRTP (sdes.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sdes.h"

#define WSP    " \t"
#define DIGITS "0123456789"
#define UPPER  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define ALNUM  UPPER "abcdefghijklmnopqrstuvwxyz" DIGITS
#define BASE64 ALNUM "+/"

/* The longest base64 text of a key umd takes: 44 bytes are 60 characters (RFC 4648 section 4). */
#define B64_MAX 60

static const struct {
	enum um_srtp_suite suite;
	const char *name;
	size_t key_len; /* master key + master salt */
} suites[] = {
        /* RFC 4568 section 6.2.1 and 6.2.2: 128-bit key, 112-bit salt. */
        {UM_SRTP_AES_CM_128_HMAC_SHA1_80, "AES_CM_128_HMAC_SHA1_80", 30},
        {UM_SRTP_AES_CM_128_HMAC_SHA1_32, "AES_CM_128_HMAC_SHA1_32", 30},
        /* RFC 7714 section 12: 128- or 256-bit key, 96-bit salt. */
        {UM_SRTP_AEAD_AES_128_GCM, "AEAD_AES_128_GCM", 28},
        {UM_SRTP_AEAD_AES_256_GCM, "AEAD_AES_256_GCM", 44},
};

const char *
um_srtp_suite_name(enum um_srtp_suite s)
{
	size_t i;

	if (s == UM_SRTP_NONE)
		return "RTP";
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].suite == s)
			return suites[i].name;
	return NULL;
}

size_t
um_srtp_key_len(enum um_srtp_suite s)
{
	size_t i;

	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].suite == s)
			return suites[i].key_len;
	return 0;
}

void
um_sdes_wipe(struct um_sdes *k)
{
	if (k != NULL)
		OPENSSL_cleanse(k, sizeof(*k));
}

/*
 * Whether offered text may be repeated in a reason: only names made of upper-case letters,
 * digits and '_' (with a '_' when `underscore`), at most `max` long. Registered suite and
 * session parameter names all are; base64 key text has lower-case letters, '+' or '/', and is
 * longer, so a key pasted where a name belongs is never echoed into a Warning or a log line.
 */
static bool
nameable(const char *s, size_t n, size_t max, bool underscore)
{
	return n > 0 && n <= max && strspn(s, UPPER DIGITS "_") >= n &&
	       (!underscore || memchr(s, '_', n) != NULL);
}

/*
 * The key-salt of an inline key (RFC 4568 section 9.2: base64 as RFC 4648 section 4 has it) into
 * out, which must be exactly `want` bytes. Padding may be left off (RFC 4648 section 3.2: the
 * length is known); OpenSSL's EVP_DecodeBlock decodes, but it reads a '=' anywhere as zero bits
 * and pads its output to whole groups, so the text is checked before and the padding counted
 * after.
 */
static enum um_sdes_status
decode_key(const char *b64, size_t n, enum um_srtp_suite suite, unsigned char *out, char *why,
           size_t whylen)
{
	enum um_sdes_status r = UM_SDES_MALFORMED;
	char text[B64_MAX + 4];
	unsigned char raw[(B64_MAX + 4) / 4 * 3];
	size_t body = strspn(b64, BASE64), pad = 0, want = um_srtp_key_len(suite);
	int got;

	if (body > n)
		body = n;
	while (body + pad < n && pad < 2 && b64[body + pad] == '=')
		pad++;
	if (body + pad != n || n == 0 || (pad > 0 && n % 4 != 0) || n % 4 == 1) {
		snprintf(why, whylen, "a=crypto key is not base64");
		goto out;
	}
	if (n > B64_MAX) {
		snprintf(why, whylen, "a=crypto key is longer than the %zu bytes of %s", want,
		         um_srtp_suite_name(suite));
		goto out;
	}
	memcpy(text, b64, n);
	for (; n % 4 != 0; n++, pad++)
		text[n] = '=';
	if ((got = EVP_DecodeBlock(raw, (const unsigned char *)text, (int)n)) < 0 ||
	    (size_t)got < pad) {
		snprintf(why, whylen, "a=crypto key is not base64");
		goto out;
	}
	if ((size_t)got - pad != want) {
		snprintf(why, whylen, "a=crypto key has %zu bytes, %s takes %zu (key and salt)",
		         (size_t)got - pad, um_srtp_suite_name(suite), want);
		goto out;
	}
	memcpy(out, raw, want);
	r = UM_SDES_OK;
out:
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_cleanse(raw, sizeof(raw));
	return r;
}

/*
 * The lifetime of a key (RFC 4568 section 6.1: ["2^"] 1*DIGIT, in packets). umd keeps one key
 * for the whole call and never rekeys, so it takes only a lifetime it cannot reach: 2^31 packets
 * or more (over 497 days at 50 packets a second), the SRTCP index's own limit (RFC 3711
 * section 9.2).
 */
static enum um_sdes_status
check_lifetime(const char *s, size_t n, char *why, size_t whylen)
{
	bool power = n > 2 && s[0] == '2' && s[1] == '^';
	const char *d = power ? s + 2 : s;
	size_t dn = power ? n - 2 : n, i;
	unsigned long long v = 0;

	if (dn == 0 || strspn(d, DIGITS) < dn) {
		snprintf(why, whylen, "a=crypto lifetime is not [2^]digits");
		return UM_SDES_MALFORMED;
	}
	for (i = 0; i < dn && v < (1ULL << 40); i++)
		v = v * 10 + (unsigned long long)(d[i] - '0');
	if (power ? v >= 31 : v >= (1ULL << 31))
		return UM_SDES_OK;
	snprintf(why, whylen,
	         "a=crypto lifetime %.*s is below 2^31 packets: umd does not rekey within a call",
	         (int)(n > 24 ? 24 : n), s);
	return UM_SDES_UNSUPPORTED;
}

/*
 * One session parameter (RFC 4568 section 6.3). umd takes KDR=0 (libsrtp derives the session
 * keys once, section 6.3.1), a window size hint (section 6.3.6: only a hint) and the optional
 * parameters a '-' starts (section 6.3.7: they MAY be ignored). Any other, known or not, makes
 * the attribute one umd does not take (section 6.3.7: an unknown one makes it invalid).
 */
static enum um_sdes_status
check_session_param(const char *s, size_t n, char *why, size_t whylen)
{
	size_t name = strcspn(s, "=" WSP);

	if (name > n)
		name = n;
	if (s[0] == '-')
		return UM_SDES_OK;
	if (name == 3 && strncasecmp(s, "KDR", 3) == 0) {
		/* kdr = "KDR=" 1*2(DIGIT) */
		if (n < 5 || n > 6 || s[3] != '=' || strspn(s + 4, DIGITS) < n - 4) {
			snprintf(why, whylen, "a=crypto KDR is not 1 or 2 digits");
			return UM_SDES_MALFORMED;
		}
		if (n == 5 && s[4] == '0')
			return UM_SDES_OK;
		snprintf(why, whylen, "a=crypto KDR=%.*s is not supported: umd takes KDR=0 only",
		         (int)(n - 4), s + 4);
		return UM_SDES_UNSUPPORTED;
	}
	if (name == 3 && strncasecmp(s, "WSH", 3) == 0) {
		/* wsh = "WSH=" 2*DIGIT, at least 64 */
		if (n < 6 || n > 13 || s[3] != '=' || strspn(s + 4, DIGITS) < n - 4 ||
		    strtoul(s + 4, NULL, 10) < 64) {
			snprintf(why, whylen, "a=crypto WSH is not a number from 64");
			return UM_SDES_MALFORMED;
		}
		return UM_SDES_OK;
	}
	if ((n == 16 && strncasecmp(s, "UNENCRYPTED_SRTP", n) == 0) ||
	    (n == 17 && strncasecmp(s, "UNENCRYPTED_SRTCP", n) == 0) ||
	    (n == 20 && strncasecmp(s, "UNAUTHENTICATED_SRTP", n) == 0)) {
		snprintf(why, whylen,
		         "a=crypto %.*s is not taken: umd carries encrypted and authenticated "
		         "SRTP only",
		         (int)n, s);
		return UM_SDES_UNSUPPORTED;
	}
	if ((name == 9 && strncasecmp(s, "FEC_ORDER", 9) == 0) ||
	    (name == 7 && strncasecmp(s, "FEC_KEY", 7) == 0)) {
		/* FEC_KEY's value is a key: only the name is repeated */
		snprintf(why, whylen, "a=crypto %.*s is not supported: umd does no FEC", (int)name,
		         s);
		return UM_SDES_UNSUPPORTED;
	}
	if (nameable(s, name, 24, false))
		snprintf(why, whylen, "unknown a=crypto session parameter %.*s", (int)name, s);
	else
		snprintf(why, whylen, "an unknown a=crypto session parameter");
	return UM_SDES_UNSUPPORTED;
}

/*
 * key-params (RFC 4568 section 9.2): "inline:" key-salt ["|" lifetime] ["|" mki-value ":"
 * mki-length], one of them. Several keys (";") need an MKI to tell them apart (section 6.1),
 * and umd takes no MKI: it keeps one key per direction.
 */
static enum um_sdes_status
read_key_params(const char *s, size_t n, struct um_sdes *out, char *why, size_t whylen)
{
	enum um_sdes_status r;
	const char *key, *bar, *end = s + n;
	size_t field, v;
	int i;

	if (memchr(s, ';', n) != NULL) {
		snprintf(why, whylen,
		         "a=crypto with several keys is not supported: umd takes one key (no MKI)");
		return UM_SDES_UNSUPPORTED;
	}
	if (n < 7 || strncasecmp(s, "inline:", 7) != 0) {
		if (memchr(s, ':', n) == NULL) {
			snprintf(why, whylen, "a=crypto key parameter is not method:info");
			return UM_SDES_MALFORMED;
		}
		snprintf(why, whylen, "a=crypto key method is not inline");
		return UM_SDES_UNSUPPORTED;
	}
	key = s + 7;
	bar = memchr(key, '|', (size_t)(end - key));
	if ((r = decode_key(key, (size_t)((bar ? bar : end) - key), out->suite, out->key, why,
	                    whylen)) != UM_SDES_OK)
		return r;
	out->key_len = um_srtp_key_len(out->suite);
	/* Then up to two fields: a lifetime, an MKI (which has a ':'), in that order. */
	for (i = 0; bar != NULL; i++) {
		s = bar + 1;
		bar = memchr(s, '|', (size_t)(end - s));
		field = (size_t)((bar ? bar : end) - s);
		if (field == 0) {
			snprintf(why, whylen, "a=crypto key has an empty field after '|'");
			return UM_SDES_MALFORMED;
		}
		if (memchr(s, ':', field) != NULL) {
			/* mki-value ":" mki-length, 1*DIGIT ":" 1*3DIGIT, and last */
			v = strspn(s, DIGITS);
			if (bar != NULL || v == 0 || v + 1 >= field || s[v] != ':' ||
			    field - v - 1 > 3 || strspn(s + v + 1, DIGITS) < field - v - 1) {
				snprintf(why, whylen, "a=crypto MKI is not value:length");
				return UM_SDES_MALFORMED;
			}
			snprintf(why, whylen,
			         "a=crypto MKI is not supported: umd takes one key per stream");
			return UM_SDES_UNSUPPORTED;
		}
		if (i == 1) {
			snprintf(why, whylen, "a=crypto has two lifetimes");
			return UM_SDES_MALFORMED;
		}
		if ((r = check_lifetime(s, field, why, whylen)) != UM_SDES_OK)
			return r;
	}
	return UM_SDES_OK;
}

enum um_sdes_status
um_sdes_parse_status(const char *value, struct um_sdes *out, char *why, size_t whylen)
{
	enum um_sdes_status r = UM_SDES_MALFORMED;
	const char *p = value;
	size_t n, i;

	um_sdes_wipe(out);
	if (whylen > 0)
		why[0] = '\0';
	if (p == NULL) {
		snprintf(why, whylen, "a=crypto has no value");
		goto out;
	}
	/* tag 1*WSP crypto-suite 1*WSP key-params *(1*WSP session-param) (section 9.1) */
	if ((n = strspn(p, DIGITS)) == 0 || n > 9 || strchr(WSP, p[n]) == NULL || p[n] == '\0') {
		snprintf(why, whylen, "a=crypto tag is not 1 to 9 digits");
		goto out;
	}
	out->tag = (unsigned)strtoul(p, NULL, 10);
	p += n;
	p += strspn(p, WSP);
	if ((n = strspn(p, ALNUM "_")) == 0 || strchr(WSP, p[n]) == NULL || p[n] == '\0') {
		snprintf(why, whylen, "a=crypto suite is not letters, digits and '_' before a key");
		goto out;
	}
	/* ABNF strings are case-insensitive (RFC 5234 section 2.3). */
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (strlen(suites[i].name) == n && strncasecmp(p, suites[i].name, n) == 0)
			out->suite = suites[i].suite;
	if (out->suite == UM_SRTP_NONE) {
		r = UM_SDES_UNKNOWN_SUITE;
		if (nameable(p, n, 48, true))
			snprintf(why, whylen, "%.*s", (int)n, p);
		goto out;
	}
	p += n;
	p += strspn(p, WSP);
	n = strcspn(p, WSP);
	if ((r = read_key_params(p, n, out, why, whylen)) != UM_SDES_OK)
		goto out;
	for (p += n; *(p += strspn(p, WSP)) != '\0'; p += n) {
		n = strcspn(p, WSP);
		if ((r = check_session_param(p, n, why, whylen)) != UM_SDES_OK)
			goto out;
	}
	r = UM_SDES_OK;
out:
	if (r != UM_SDES_OK) {
		OPENSSL_cleanse(out->key, sizeof(out->key));
		out->key_len = 0;
	}
	return r;
}

bool
um_sdes_parse(const char *value, struct um_sdes *out, char *why, size_t whylen)
{
	enum um_sdes_status r = um_sdes_parse_status(value, out, why, whylen);
	char name[64];

	if (r == UM_SDES_UNKNOWN_SUITE && whylen > 0) {
		snprintf(name, sizeof(name), "%s", why);
		if (name[0] != '\0')
			snprintf(why, whylen, "SRTP suite %s is not supported", name);
		else
			snprintf(why, whylen, "a=crypto suite is not one umd supports");
	}
	return r == UM_SDES_OK;
}

bool
um_sdes_new_key(enum um_srtp_suite s, struct um_sdes *out)
{
	size_t len = um_srtp_key_len(s);

	um_sdes_wipe(out);
	if (len == 0 || RAND_bytes(out->key, (int)len) != 1) {
		um_sdes_wipe(out);
		return false;
	}
	out->suite = s;
	out->key_len = len;
	return true;
}

bool
um_sdes_format(const struct um_sdes *k, char *buf, size_t len)
{
	unsigned char b64[B64_MAX + 1];
	const char *name = um_srtp_suite_name(k->suite);
	bool ok = false;
	int n;

	if (k->suite == UM_SRTP_NONE || name == NULL || k->key_len != um_srtp_key_len(k->suite))
		goto out;
	EVP_EncodeBlock(b64, k->key, (int)k->key_len);
	n = snprintf(buf, len, "%u %s inline:%s", k->tag, name, (const char *)b64);
	ok = n > 0 && (size_t)n < len;
	if (!ok && len > 0)
		OPENSSL_cleanse(buf, len);
out:
	OPENSSL_cleanse(b64, sizeof(b64));
	return ok;
}

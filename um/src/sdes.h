/*
 * SDES keys for SRTP: the value of an a=crypto attribute (RFC 4568 section 9.1, its SRTP
 * key parameters section 9.2), for the suites umd takes. umd keys each call by SDES with one
 * master key per direction and no MKI, and never rekeys within a call: an offered lifetime
 * below 2^31 packets, an MKI or several keys are refused rather than half-honoured.
 *
 * Ownership: struct um_sdes holds a master key and salt; it is the caller's, and a secret:
 * um_sdes_wipe() it when done (every function here wipes the keys it does not hand back).
 * Reasons written to `why` never hold key material and hold only printable ASCII without '"'
 * or '\\', so that they can go into a Warning header as they are (RFC 3261 section 20.43).
 */
#ifndef UM_SDES_H
#define UM_SDES_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The suites umd takes, in the order it prefers them in its own offer. */
enum um_srtp_suite {
	UM_SRTP_NONE = 0,
	UM_SRTP_AES_CM_128_HMAC_SHA1_80, /* RFC 4568 section 6.2.1 */
	UM_SRTP_AES_CM_128_HMAC_SHA1_32, /* RFC 4568 section 6.2.2 */
	UM_SRTP_AEAD_AES_128_GCM,        /* RFC 7714 section 12 */
	UM_SRTP_AEAD_AES_256_GCM,        /* RFC 7714 section 12 */
};
#define UM_SRTP_SUITES 4 /* the suites above, UM_SRTP_NONE left out */

/* Master key + salt, the longest: AES-256 + 96-bit salt (RFC 7714 section 12). */
#define UM_SRTP_MAX_KEY 44
/* The longest "TAG SUITE inline:BASE64" um_sdes_format writes, with its NUL. */
#define UM_SDES_TEXT_MAX 112

struct um_sdes {
	unsigned tag; /* 1*9DIGIT: the answer repeats the offer's (RFC 4568 section 5.1.2) */
	enum um_srtp_suite suite;
	unsigned char key[UM_SRTP_MAX_KEY]; /* master key then master salt */
	size_t key_len;                     /* um_srtp_key_len(suite) */
};

/*
 * Why a value was refused: the offer/answer tells a suite umd does not know (it names the
 * offered suites) from one it knows with parameters it does not take (it gives that reason).
 */
enum um_sdes_status {
	UM_SDES_OK = 0,
	UM_SDES_MALFORMED,     /* not RFC 4568 syntax, or a bad key */
	UM_SDES_UNKNOWN_SUITE, /* a well-formed suite umd does not take */
	UM_SDES_UNSUPPORTED,   /* a known suite with parameters umd does not take */
};

/*
 * Parses "TAG SUITE inline:KEYSALT[|LIFETIME][|MKI:LEN] [session-params]" (RFC 4568 section
 * 9.1 and 9.2). Key lengths per suite: 30 bytes for AES_CM_128 (section 6.2), 28 for
 * AEAD_AES_128_GCM and 44 for AEAD_AES_256_GCM (RFC 7714 section 12). Refused, with the reason
 * in `why`: malformed values, unknown suites, the wrong key length, bad base64, an MKI, a
 * lifetime below 2^31 (umd does not rekey), several keys, and session parameters other than
 * KDR=0, WSH and the optional ones ("-" first, section 6.3.7). On success *out is filled; on
 * failure its key is wiped and key_len is 0 (tag and suite are set as far as they were read).
 */
bool um_sdes_parse(const char *value, struct um_sdes *out, char *why, size_t whylen) UM_WUR;
/*
 * The same, with the kind of refusal. For UM_SDES_UNKNOWN_SUITE, `why` holds only the suite's
 * name as offered, or "" when that name might be something else (a key pasted in its place):
 * names are given only when they are upper-case letters, digits and '_', with a '_' in them
 * (every registered suite is; a base64 key never is), at most 48 characters.
 */
enum um_sdes_status um_sdes_parse_status(const char *value, struct um_sdes *out, char *why,
                                         size_t whylen) UM_WUR;

/* "AES_CM_128_HMAC_SHA1_80", ...; "RTP" for UM_SRTP_NONE, NULL out of range. */
const char *um_srtp_suite_name(enum um_srtp_suite s);
/* Master key + salt bytes of a suite; 0 for UM_SRTP_NONE or out of range. */
size_t um_srtp_key_len(enum um_srtp_suite s);

/*
 * A fresh random key of the suite's length (RAND_bytes) in *out, tag 0 (the caller sets it).
 * false (and *out wiped) for UM_SRTP_NONE or when no randomness is to be had.
 */
bool um_sdes_new_key(enum um_srtp_suite s, struct um_sdes *out) UM_WUR;
/*
 * "TAG SUITE inline:BASE64" (no lifetime, no MKI: the defaults of RFC 4568 section 6.1 and
 * RFC 7714). false when `len` is too short (UM_SDES_TEXT_MAX always does) or *k is not a key
 * of its suite. The text holds the key: wipe `buf` when done.
 */
bool um_sdes_format(const struct um_sdes *k, char *buf, size_t len) UM_WUR;
/* Wipes the whole structure (OPENSSL_cleanse); NULL is a no-op. */
void um_sdes_wipe(struct um_sdes *k);

#endif

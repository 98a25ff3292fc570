/*
 * Key pins: the SHA-256 of a certificate's SubjectPublicKeyInfo (DER), written as libldap's
 * LDAP_OPT_X_TLS_PEERKEY_HASH takes it, "SHA256:" and base64 (RFC 7469 section 2.4 pins the same
 * bytes). A renewed certificate with a new key has a new pin; the same key reissued keeps it.
 */
#ifndef EDGESYNC_PIN_H
#define EDGESYNC_PIN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "edgesync/error.h"

#define ES_PIN_LEN      32 /* SHA-256 */
#define ES_PIN_TEXT_LEN 51 /* "SHA256:" + 44 base64 characters */

struct es_pin {
	unsigned char md[ES_PIN_LEN];
};

enum es_err es_pin_from_x509(X509 *x, struct es_pin *out) ES_WUR;
/* From a DER certificate; a truncated or malformed one fails with ES_ERR_PARSE. */
enum es_err es_pin_from_der(const unsigned char *der, size_t len, struct es_pin *out) ES_WUR;
/* "SHA256:base64". Returns buf. */
const char *es_pin_format(const struct es_pin *p, char buf[ES_PIN_TEXT_LEN + 1]);
/*
 * The inverse of es_pin_format, as an administrator types it (`subscription import --pin`):
 * "SHA256:" (any case) and the 44 base64 characters es_pin_format writes, nothing around them.
 * Anything else (another digest, a short or padded hash, a non-canonical last character) fails
 * with ES_ERR_PARSE, and *out is zeroed.
 */
enum es_err es_pin_parse(const char *text, struct es_pin *out) ES_WUR;
bool es_pin_equal(const struct es_pin *a, const struct es_pin *b);

#endif

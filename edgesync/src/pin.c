/* SubjectPublicKeyInfo SHA-256 pins, in libldap's "SHA256:base64" form. */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "edgesync/pin.h"
#include "internal.h"

enum es_err
es_pin_from_x509(X509 *x, struct es_pin *out)
{
	enum es_err r = ES_ERR_CRYPTO;
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len;

	memset(out, 0, sizeof(*out));
	if (x == NULL || (len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0) {
		r = es_seterr_ssl(ES_ERR_CRYPTO, "certificate public key");
		goto out;
	}
	if (EVP_Digest(der, (size_t)len, out->md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != ES_PIN_LEN) {
		r = es_seterr_ssl(ES_ERR_CRYPTO, "SHA-256");
		goto out;
	}
	r = ES_OK;
out:
	OPENSSL_free(der);
	return r;
}

enum es_err
es_pin_from_der(const unsigned char *der, size_t len, struct es_pin *out)
{
	const unsigned char *p = der;
	X509 *x = NULL;
	enum es_err r;

	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0 || len > 1 << 20 ||
	    (x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len) {
		r = es_seterr_ssl(ES_ERR_PARSE, "DER certificate of %zu bytes", len);
		goto out;
	}
	r = es_pin_from_x509(x, out);
out:
	X509_free(x);
	return r;
}

const char *
es_pin_format(const struct es_pin *p, char buf[ES_PIN_TEXT_LEN + 1])
{
	memcpy(buf, "SHA256:", 7);
	/* 32 bytes make 44 base64 characters and a NUL */
	EVP_EncodeBlock((unsigned char *)buf + 7, p->md, ES_PIN_LEN);
	buf[ES_PIN_TEXT_LEN] = '\0';
	return buf;
}

enum es_err
es_pin_parse(const char *text, struct es_pin *out)
{
	unsigned char md[ES_PIN_LEN + 1]; /* EVP_DecodeBlock counts the '=' pad as a zero byte */
	char again[ES_PIN_TEXT_LEN + 1];
	struct es_pin p;
	enum es_err r = ES_ERR_PARSE;
	size_t n;

	memset(out, 0, sizeof(*out));
	n = text != NULL ? strlen(text) : 0;
	if (n != ES_PIN_TEXT_LEN || strncasecmp(text, "SHA256:", 7) != 0) {
		r = es_seterr(ES_ERR_PARSE,
		              "\"%.80s\" is not a key pin: want SHA256: and 44 base64 characters "
		              "(the SHA-256 of the certificate's SubjectPublicKeyInfo)",
		              text != NULL ? text : "");
		goto out;
	}
	/* 44 characters, one '=' of padding: 33 bytes, the last one the pad's zero */
	if (EVP_DecodeBlock(md, (const unsigned char *)text + 7, ES_PIN_TEXT_LEN - 7) !=
	            ES_PIN_LEN + 1 ||
	    text[ES_PIN_TEXT_LEN - 1] != '=') {
		r = es_seterr(ES_ERR_PARSE,
		              "\"%s\" is not a key pin: its hash is not base64 of 32 bytes", text);
		goto out;
	}
	memcpy(p.md, md, ES_PIN_LEN);
	/* base64 admits several spellings of the last character; only the one we print is a pin */
	if (strcmp(es_pin_format(&p, again) + 7, text + 7) != 0) {
		r = es_seterr(ES_ERR_PARSE, "\"%s\" is not a key pin: its base64 is not canonical",
		              text);
		goto out;
	}
	*out = p;
	r = ES_OK;
out:
	return r;
}

bool
es_pin_equal(const struct es_pin *a, const struct es_pin *b)
{
	return CRYPTO_memcmp(a->md, b->md, ES_PIN_LEN) == 0;
}

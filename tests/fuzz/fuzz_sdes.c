/*
 * The value of an a=crypto attribute (RFC 4568 section 9.1), as um_sdes_parse reads it from an
 * offer. What parses is formatted and parsed back to the same key; what is refused is refused
 * with a reason that could go into a Warning header as it is and that never repeats the key
 * text of the value.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether `piece` is in the value outside its key text [key, key + n): a name may be repeated. */
static bool
elsewhere(const char *value, const char *key, size_t n, const char *piece)
{
	char *before = strndup(value, (size_t)(key - value));
	bool found =
	        before == NULL || strstr(before, piece) != NULL || strstr(key + n, piece) != NULL;

	free(before);
	return found;
}

static void
reason_ok(const char *value, const char *why)
{
	const char *key = strstr(value, "inline:"), *p;
	size_t n;
	char piece[17];

	for (p = why; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			abort();
	/* no 16 characters of an inline key's base64 text in the reason */
	if (key == NULL)
		return;
	key += 7;
	n = strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
	for (; n >= 16; key++, n--) {
		memcpy(piece, key, 16);
		piece[16] = '\0';
		if (strstr(why, piece) != NULL && !elsewhere(value, key, n, piece))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct um_sdes k, back;
	char *value, why[256], text[UM_SDES_TEXT_MAX];
	enum um_sdes_status st;
	size_t i;

	/* an attribute value is a NUL-terminated string by the time sofia-sip hands it over */
	if ((value = malloc(size + 1)) == NULL)
		return 0;
	memcpy(value, data, size);
	value[size] = '\0';
	st = um_sdes_parse_status(value, &k, why, sizeof(why));
	if (st == UM_SDES_OK) {
		if (k.suite == UM_SRTP_NONE || k.key_len != um_srtp_key_len(k.suite))
			abort();
		if (!um_sdes_format(&k, text, sizeof(text)) ||
		    !um_sdes_parse(text, &back, why, sizeof(why)) || back.tag != k.tag ||
		    back.suite != k.suite || back.key_len != k.key_len ||
		    memcmp(back.key, k.key, k.key_len) != 0)
			abort();
		um_sdes_wipe(&back);
	} else {
		if (k.key_len != 0)
			abort();
		for (i = 0; i < sizeof(k.key); i++)
			if (k.key[i] != 0)
				abort();
		if (st != UM_SDES_UNKNOWN_SUITE && why[0] == '\0')
			abort();
		reason_ok(value, why);
		if (um_sdes_parse(value, &back, why, sizeof(why)))
			abort();
		reason_ok(value, why);
	}
	um_sdes_wipe(&k);
	free(value);
	return 0;
}

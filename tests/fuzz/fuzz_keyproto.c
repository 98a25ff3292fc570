/*
 * The key holder's request parser (um/src/keys/keyproto.c, um_keyp_parse) on any datagram the
 * process that parses SIP could send it. What it accepts must hold what the holder relies on:
 * the data inside the datagram and as long as the header says, a name of 40 upper-case hex
 * digits, a known operation with the data that operation takes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys/keyproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct um_keyp_parsed p;
	const char *why = NULL;
	unsigned char *copy;
	volatile unsigned sum = 0;
	size_t i;

	/* A copy of exactly `size` bytes: ASan sees any read past the datagram. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (!um_keyp_parse(copy, size, &p, &why)) {
		if (why == NULL || *why == '\0')
			abort();
		free(copy);
		return 0;
	}
	if (size != sizeof(p.h) + p.h.len || p.h.len > UM_KEYP_MAX ||
	    strlen(p.thumb) != CC_THUMB_LEN)
		abort();
	if ((p.h.len == 0) != (p.data == NULL) || (p.data != NULL && p.data != copy + sizeof(p.h)))
		abort();
	for (i = 0; i < CC_THUMB_LEN; i++)
		if (!((p.thumb[i] >= '0' && p.thumb[i] <= '9') ||
		      (p.thumb[i] >= 'A' && p.thumb[i] <= 'F')))
			abort();
	switch (p.h.op) {
	case UM_KEYP_SIGN:
		if (p.h.len == 0 || p.h.len > UM_KEYP_DIGEST)
			abort();
		break;
	case UM_KEYP_LOAD:
	case UM_KEYP_WRITE:
	case UM_KEYP_MAKE:
	case UM_KEYP_REMOVE:
		break;
	default:
		abort();
	}
	/* The holder reads every byte it was given. */
	for (i = 0; i < p.h.len; i++)
		sum += p.data[i];
	free(copy);
	return 0;
}

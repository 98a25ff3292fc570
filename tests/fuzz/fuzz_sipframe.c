/*
 * The SIP stream framer (um/src/sipframe.c) on what a TLS connection delivers: any bytes, cut
 * at any points. Fed whole or in the pieces the input's first byte chooses, it must end in the
 * same state (where a message begins and ends cannot depend on how reads cut the stream).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sipframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct um_sipframe whole, cut;
	size_t step, i, n;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	um_sipframe_init(&whole);
	um_sipframe_feed(&whole, (const char *)data, size);
	um_sipframe_init(&cut);
	for (i = 0; i < size; i += n) {
		n = size - i < step ? size - i : step;
		um_sipframe_feed(&cut, (const char *)data + i, n);
	}
	if (um_sipframe_pending(&whole) != um_sipframe_pending(&cut) ||
	    whole.body_left != cut.body_left)
		abort();
	return 0;
}

/*
 * What a hub answers (um/src/voicemail/message.c): SMTP reply lines as libcurl hands them over,
 * any bytes. The parse must stay in bounds, its text printable and NUL-terminated, its codes in
 * range; and the rule that fails a message for good must hold for what it parsed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "voicemail/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct um_smtp_reply r;
	size_t i, n;
	int stage;

	um_smtp_reply_parse((const char *)data, size, &r);
	n = strlen(r.text);
	if (n >= sizeof(r.text))
		abort();
	for (i = 0; i < n; i++)
		if (r.text[i] < 0x20 || r.text[i] > 0x7e)
			abort();
	if (r.code != 0 && (r.code < 200 || r.code > 599))
		abort();
	if (r.eclass != 0 && r.eclass != r.code / 100)
		abort();
	for (stage = UM_SMTP_CONNECT; stage <= UM_SMTP_DATAEND; stage++) {
		bool permanent = um_smtp_reply_permanent(&r, (enum um_smtp_stage)stage);

		/* Only a 5xx to the recipient or the message ends a message for good. */
		if (permanent &&
		    (r.code < 500 || (stage != UM_SMTP_RCPT && stage != UM_SMTP_DATAEND)))
			abort();
	}
	return 0;
}

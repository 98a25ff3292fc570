/*
 * The DirSync response control's value, as an Active Directory source sends it with each answer
 * (es_dirsync_parse): whatever parses gives a cookie that encodes into a request again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "edgesync/dirsync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berval v = {size, (char *)data}, cookie = {0, NULL}, req = {0, NULL};
	bool more = false;

	if (es_dirsync_parse(&v, &more, &cookie) != ES_OK) {
		if (cookie.bv_val != NULL || cookie.bv_len != 0 || more)
			abort(); /* nothing handed out on failure */
		return 0;
	}
	if (es_dirsync_encode(0, 0, &cookie, &req) != ES_OK)
		abort();
	ber_memfree(req.bv_val);
	ber_memfree(cookie.bv_val);
	return 0;
}

/*
 * edgesync's key holder's requests (es_keyp_parse, keyproto.h), as the holder receives them from
 * the replicator, the process that faces the network: whatever parses stays inside the buffer,
 * within the limits, with a thumbprint of 40 upper-case hex digits; and the holder's answer to
 * it (es_keyserve_handle, on a store that is not there) is a reply that fits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgesync/keyproto.h"
#include "edgesync/keyserve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cc_keyproc_reply rep;
	struct es_keyserve *ks;
	struct es_keyp_req req;
	char thumb[CC_THUMB_LEN + 1];
	const unsigned char *p = NULL;
	size_t len = 0;

	if (es_keyp_parse(data, size, &req, thumb, &p, &len) == ES_OK) {
		if (p != data + sizeof(req) || p + len != data + size ||
		    len > ES_KEYP_ENVELOPE_MAX || strlen(thumb) != CC_THUMB_LEN ||
		    (req.op != ES_KEYP_LOAD && req.op != ES_KEYP_DECRYPT))
			abort();
	} else if (p != NULL || len != 0) {
		abort(); /* nothing handed out on failure */
	}
	if (size > ES_KEYP_REQ_MAX)
		return 0; /* the holder's loop refuses it unread */
	if ((ks = es_keyserve_new("/nonexistent/umedge-fuzz-store", NULL)) == NULL)
		abort();
	memset(&rep.h, 0, sizeof(rep.h));
	es_keyserve_handle(ks, data, size, &rep);
	if (rep.h.len > sizeof(rep.data) || (rep.h.ok && rep.h.len > 1024))
		abort();
	es_keyserve_free(ks);
	return 0;
}

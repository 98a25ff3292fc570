/* The key holder's request format (keyproto.h). */
#include <stdbool.h>
#include <string.h>

#include "edgesync/keyproto.h"
#include "internal.h"

static bool
upper_hex(const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'A' && t[i] <= 'F')))
			return false;
	return true;
}

enum es_err
es_keyp_parse(const unsigned char *buf, size_t n, struct es_keyp_req *req,
              char thumb[CC_THUMB_LEN + 1], const unsigned char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	thumb[0] = '\0';
	memset(req, 0, sizeof(*req));
	if (n < sizeof(*req))
		return es_seterr(ES_ERR_PARSE, "request shorter than its header");
	memcpy(req, buf, sizeof(*req));
	if (req->len != n - sizeof(*req))
		return es_seterr(ES_ERR_PARSE, "request length %u, %zu bytes follow", req->len,
		                 n - sizeof(*req));
	if (req->pad[0] != 0 || req->pad[1] != 0 || req->pad[2] != 0)
		return es_seterr(ES_ERR_PARSE, "request padding not zero");
	if (!upper_hex(req->thumb, CC_THUMB_LEN))
		return es_seterr(ES_ERR_PARSE, "not a thumbprint");
	switch (req->op) {
	case ES_KEYP_LOAD:
		if (req->len != 0)
			return es_seterr(ES_ERR_PARSE, "LOAD carries no data");
		break;
	case ES_KEYP_DECRYPT:
		if (req->len == 0 || req->len > ES_KEYP_ENVELOPE_MAX)
			return es_seterr(ES_ERR_PARSE, "envelope of %u bytes (1 to %d)", req->len,
			                 ES_KEYP_ENVELOPE_MAX);
		break;
	default:
		return es_seterr(ES_ERR_PARSE, "unknown request %u", req->op);
	}
	memcpy(thumb, req->thumb, CC_THUMB_LEN);
	thumb[CC_THUMB_LEN] = '\0';
	*data = buf + sizeof(*req);
	*len = req->len;
	return ES_OK;
}

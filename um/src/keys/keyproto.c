/* The key holder's request parser (keyproto.h). */
#include <string.h>

#include "certcore/selfsigned.h"
#include "keys/keyproto.h"

static bool
valid_thumb(const char *t)
{
	size_t i;

	for (i = 0; i < CC_THUMB_LEN; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'A' && t[i] <= 'F')))
			return false;
	return true;
}

bool
um_keyp_parse(const void *buf, size_t n, struct um_keyp_parsed *out, const char **why)
{
	const unsigned char *p = buf;
	struct um_keyp_req *h = &out->h;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || n < sizeof(*h)) {
		*why = "malformed request (shorter than its header)";
		return false;
	}
	memcpy(h, p, sizeof(*h));
	if ((size_t)h->len != n - sizeof(*h) || h->len > UM_KEYP_MAX) {
		*why = "malformed request (its length)";
		return false;
	}
	if (!valid_thumb(h->thumb)) {
		*why = "malformed request (not a key's name)";
		return false;
	}
	memcpy(out->thumb, h->thumb, CC_THUMB_LEN);
	out->thumb[CC_THUMB_LEN] = '\0';
	out->data = h->len > 0 ? p + sizeof(*h) : NULL;
	switch (h->op) {
	case UM_KEYP_LOAD:
	case UM_KEYP_WRITE:
		if (h->len == 0) {
			*why = "malformed request (no certificate)";
			return false;
		}
		return true;
	case UM_KEYP_SIGN:
		if (h->len == 0 || h->len > UM_KEYP_DIGEST) {
			*why = "malformed request (not a digest's length)";
			return false;
		}
		if (h->alg != UM_KEYP_RSA_PKCS1 && h->alg != UM_KEYP_RSA_PSS &&
		    h->alg != UM_KEYP_ECDSA) {
			*why = "unknown signature algorithm";
			return false;
		}
		return true;
	case UM_KEYP_MAKE:
		if (h->len != 0 || h->key_type < (int32_t)CC_KEY_RSA_2048 ||
		    h->key_type > (int32_t)CC_KEY_EC_P384) {
			*why = "malformed request (not a key type)";
			return false;
		}
		return true;
	case UM_KEYP_REMOVE:
		if (h->len != 0) {
			*why = "malformed request (data where none is)";
			return false;
		}
		return true;
	default:
		*why = "unknown request";
		return false;
	}
}

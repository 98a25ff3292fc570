/*
 * The values of an RFC 4533 refresh as edgesync parses them (syncmsg.h), straight from bytes: the
 * first byte picks the parser (0: a Sync State control's value, 1: a Sync Done control's value,
 * 2: an intermediate response's protocolOp, syncInfo or not), the rest is its input. Whatever
 * parses must be whole (a 36-character UUID, a NUL-terminated cookie, every syncIdSet UUID), and
 * nothing is handed out on failure. fuzz_ldap plays the same messages over a connection.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgesync/syncmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_cookie(const struct berval *c)
{
	if (c->bv_val != NULL && c->bv_val[c->bv_len] != '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berval v, cookie = {0, NULL};
	struct es_sync_info info;
	char key[40];
	bool del = false;
	size_t i;
	int state = 0;

	if (size < 1)
		return 0;
	/* a copy of exactly the input, so a read past it is seen */
	v.bv_len = size - 1;
	v.bv_val = v.bv_len > 0 ? malloc(v.bv_len) : NULL;
	if (v.bv_len > 0 && v.bv_val == NULL)
		return 0;
	if (v.bv_len > 0)
		memcpy(v.bv_val, data + 1, v.bv_len);
	switch (data[0] % 3) {
	case 0:
		if (es_sync_state_parse(&v, &state, key, &cookie) == ES_OK) {
			if (strlen(key) != 36 || state < 0 || state > 3)
				abort();
			check_cookie(&cookie);
		} else if (cookie.bv_val != NULL) {
			abort();
		}
		free(cookie.bv_val);
		break;
	case 1:
		if (es_sync_done_parse(&v, &cookie, &del) == ES_OK)
			check_cookie(&cookie);
		else if (cookie.bv_val != NULL)
			abort();
		free(cookie.bv_val);
		break;
	default:
		if (es_sync_info_parse(&v, &info) == ES_OK) {
			check_cookie(&info.cookie);
			for (i = 0; i < info.ids.n; i++)
				if (strlen(info.ids.v[i]) != 36)
					abort();
		}
		es_sync_info_clear(&info);
		break;
	}
	free(v.bv_val);
	return 0;
}

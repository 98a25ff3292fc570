/*
 * What a media port receives: a datagram as RTP (um_rtp_parse, the RFC 4733 event in its
 * payload) and, keyed with a fixed key of the suite the first byte picks, as SRTP or SRTCP
 * through libsrtp2 (um_srtp_unprotect, _rtcp), then into the recording's reorder window at the
 * packet's own timestamp. Whatever comes in, nothing reads or writes outside the buffers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"
#include "media/srtp.h"
#include "media/timeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct um_srtp *ctx[UM_SRTP_SUITES];
static struct um_timeline *tl;

static void
setup(void)
{
	struct um_sdes k;
	int i;

	for (i = 0; i < UM_SRTP_SUITES; i++) {
		memset(&k, 0, sizeof(k));
		k.suite = (enum um_srtp_suite)(i + 1);
		k.key_len = um_srtp_key_len(k.suite);
		memset(k.key, 0x2a + i, k.key_len);
		if (um_srtp_new(&k, &k, &ctx[i]) != UM_OK)
			abort();
	}
	if (um_timeline_new(480, &tl) != UM_OK)
		abort();
}

static void
as_rtp(const uint8_t *p, size_t n)
{
	struct um_rtp h;
	struct um_rtp_event e;
	int16_t pcm[480], out[1024];
	size_t i, k;

	(void)um_rtp_is_rtcp(p, n);
	if (!um_rtp_parse(p, n, &h))
		return;
	if (h.payload_len > 0 && h.payload + h.payload_len > p + n)
		abort();
	if (um_rtp_event_parse(h.payload, h.payload_len, &e))
		(void)um_rtp_event_char(e.event);
	k = h.payload_len < 480 ? h.payload_len : 480;
	for (i = 0; i < k; i++)
		pcm[i] = (int16_t)(h.payload[i] << 8);
	if (um_timeline_put(tl, h.ts, pcm, k) == UM_TL_RESYNC) {
		while (um_timeline_take(tl, out, 1024, true) > 0)
			;
		um_timeline_restart(tl);
	}
	while (um_timeline_take(tl, out, 1024, false) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[2048 + UM_SRTP_OVERHEAD];
	size_t len;
	unsigned which;

	if (ctx[0] == NULL)
		setup();
	if (size < 1 || size - 1 > 2048)
		return 0;
	which = data[0];
	len = size - 1;
	as_rtp(data + 1, len);
	memcpy(buf, data + 1, len);
	if (which & 0x80) {
		if (um_srtp_unprotect_rtcp(ctx[which % UM_SRTP_SUITES], buf, &len) == UM_SRTP_OK &&
		    len > size - 1)
			abort();
	} else if (um_srtp_unprotect(ctx[which % UM_SRTP_SUITES], buf, &len) == UM_SRTP_OK) {
		if (len > size - 1)
			abort();
		as_rtp(buf, len);
	}
	return 0;
}

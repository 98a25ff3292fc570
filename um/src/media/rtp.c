/* RTP packets and telephone events (rtp.h). */
#include <string.h>

#include "rtp.h"

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool
um_rtp_is_rtcp(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[1] >= 192 && buf[1] <= 223;
}

bool
um_rtp_parse(const uint8_t *buf, size_t len, struct um_rtp *out)
{
	size_t off = UM_RTP_HEADER, end = len;
	unsigned cc;

	memset(out, 0, sizeof(*out));
	if (len < UM_RTP_HEADER || (buf[0] >> 6) != 2 || um_rtp_is_rtcp(buf, len))
		return false;
	cc = buf[0] & 0x0f;
	off += 4u * cc;
	if (off > len)
		return false;
	if (buf[0] & 0x10) {
		/* Header extension: 16-bit profile, 16-bit length in 32-bit words. */
		if (off + 4 > len)
			return false;
		off += 4 + 4u * get16(buf + off + 2);
		if (off > len)
			return false;
	}
	if (buf[0] & 0x20) {
		/* Padding: the last octet counts the padding octets, itself included. */
		if (end == off || buf[end - 1] == 0 || buf[end - 1] > end - off)
			return false;
		end -= buf[end - 1];
	}
	out->marker = (buf[1] & 0x80) != 0;
	out->pt = buf[1] & 0x7f;
	out->seq = get16(buf + 2);
	out->ts = get32(buf + 4);
	out->ssrc = get32(buf + 8);
	out->payload = buf + off;
	out->payload_len = end - off;
	return true;
}

void
um_rtp_header(uint8_t *buf, const struct um_rtp *h)
{
	buf[0] = 0x80;
	buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->pt & 0x7f));
	buf[2] = (uint8_t)(h->seq >> 8);
	buf[3] = (uint8_t)h->seq;
	buf[4] = (uint8_t)(h->ts >> 24);
	buf[5] = (uint8_t)(h->ts >> 16);
	buf[6] = (uint8_t)(h->ts >> 8);
	buf[7] = (uint8_t)h->ts;
	buf[8] = (uint8_t)(h->ssrc >> 24);
	buf[9] = (uint8_t)(h->ssrc >> 16);
	buf[10] = (uint8_t)(h->ssrc >> 8);
	buf[11] = (uint8_t)h->ssrc;
}

bool
um_rtp_event_parse(const uint8_t *p, size_t len, struct um_rtp_event *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 4)
		return false;
	out->event = p[0];
	out->end = (p[1] & 0x80) != 0;
	out->volume = p[1] & 0x3f;
	out->duration = get16(p + 2);
	return true;
}

char
um_rtp_event_char(uint8_t event)
{
	static const char map[] = "0123456789*#ABCD";

	return event < 16 ? map[event] : 0;
}

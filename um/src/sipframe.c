/* SIP message boundaries in a stream (sipframe.h). */
#include <string.h>
#include <strings.h>

#include "sipframe.h"

void
um_sipframe_init(struct um_sipframe *f)
{
	memset(f, 0, sizeof(*f));
	f->state = SF_IDLE;
	f->empty_line = true;
}

bool
um_sipframe_pending(const struct um_sipframe *f)
{
	return f->state != SF_IDLE;
}

/* A header line ended: Content-Length (or its compact form "l", RFC 3261 section 20.14). */
static void
header_line(struct um_sipframe *f)
{
	const char *p = f->line, *colon;
	size_t name;
	unsigned long long v = 0;
	bool digits = false;

	if ((colon = memchr(p, ':', f->line_len)) == NULL)
		return;
	name = (size_t)(colon - p);
	while (name > 0 && (p[name - 1] == ' ' || p[name - 1] == '\t'))
		name--;
	if (!((name == 14 && strncasecmp(p, "content-length", 14) == 0) ||
	      (name == 1 && (p[0] == 'l' || p[0] == 'L'))))
		return;
	for (p = colon + 1; p < f->line + f->line_len && (*p == ' ' || *p == '\t'); p++)
		;
	for (; p < f->line + f->line_len && *p >= '0' && *p <= '9'; p++) {
		digits = true;
		if (v > 1000000000ULL)
			break; /* far beyond any message sofia-sip takes: it closes the stream */
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (!digits)
		f->bad = true;
	f->content_length = v;
}

void
um_sipframe_feed(struct um_sipframe *f, const char *buf, size_t len)
{
	size_t i = 0, n;
	char c;

	while (i < len) {
		if (f->state == SF_BODY) {
			n = len - i < f->body_left ? len - i : (size_t)f->body_left;
			f->body_left -= n;
			i += n;
			if (f->body_left == 0) {
				f->state = SF_IDLE;
				f->empty_line = true;
				f->line_len = 0;
			}
			continue;
		}
		c = buf[i++];
		if (f->state == SF_IDLE) {
			if (c == '\r' || c == '\n')
				continue; /* keep-alive CRLFs between messages */
			f->state = SF_HEADERS;
			f->content_length = 0;
			f->bad = false;
			f->line_len = 0;
			f->empty_line = true;
		}
		if (c == '\n') {
			if (f->empty_line) {
				/* The empty line: the headers are over. */
				f->body_left = f->content_length;
				f->state = f->body_left > 0 ? SF_BODY : SF_IDLE;
				f->empty_line = true;
				f->line_len = 0;
				continue;
			}
			header_line(f);
			f->line_len = 0;
			f->empty_line = true;
			continue;
		}
		if (c == '\r')
			continue;
		f->empty_line = false;
		if (f->line_len < sizeof(f->line))
			f->line[f->line_len++] = c;
	}
}

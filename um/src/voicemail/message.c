/* A voice message as mail, and SMTP replies (message.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voicemail/message.h"
#include "voicemail/recipient.h"

#define SUBJECT_CALLER_MAX 64

void
um_message_id(const char *id, const char *fqdn, char *buf, size_t len)
{
	snprintf(buf, len, "<%s@%s>", id, fqdn);
}

bool
um_message_uri_user(const char *uri, char *buf, size_t len)
{
	char inner[512];
	const char *lt, *gt;

	if (uri == NULL)
		return false;
	/* A name-addr ("Alice" <sip:...>): the URI between the angle brackets. */
	if ((lt = strchr(uri, '<')) != NULL) {
		if ((gt = strchr(lt, '>')) == NULL || (size_t)(gt - lt - 1) >= sizeof(inner))
			return false;
		memcpy(inner, lt + 1, (size_t)(gt - lt - 1));
		inner[gt - lt - 1] = '\0';
		uri = inner;
	}
	return um_recipient_user_part(uri, buf, len, NULL, 0);
}

/* Printable ASCII of `s` (at most `max` bytes), others as '?'; quotes and backslashes dropped. */
static void
ascii(const char *s, size_t max, char *out, size_t len)
{
	size_t i = 0;

	for (; s != NULL && *s != '\0' && i + 1 < len && i < max; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			continue;
		out[i++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[i] = '\0';
}

/* The caller as a person reads it: "Alice (1002)", "1002", or "an unknown caller". */
static void
caller(const struct um_qmsg *m, char *out, size_t len)
{
	char user[128], name[128];
	const char *lt;

	name[0] = '\0';
	if (m->from != NULL && (lt = strchr(m->from, '<')) != NULL && lt != m->from) {
		char raw[128];
		size_t n = (size_t)(lt - m->from);

		snprintf(raw, sizeof(raw), "%.*s", (int)(n < sizeof(raw) - 1 ? n : sizeof(raw) - 1),
		         m->from);
		ascii(raw, SUBJECT_CALLER_MAX, name, sizeof(name));
		/* Trim the spaces around a display name. */
		while (name[0] != '\0' && name[strlen(name) - 1] == ' ')
			name[strlen(name) - 1] = '\0';
		memmove(name, name + strspn(name, " "), strlen(name + strspn(name, " ")) + 1);
	}
	if (um_message_uri_user(m->from, user, sizeof(user))) {
		char safe[128];

		ascii(user, SUBJECT_CALLER_MAX, safe, sizeof(safe));
		if (name[0] != '\0')
			snprintf(out, len, "%s (%s)", name, safe);
		else
			snprintf(out, len, "%s", safe);
	} else if (name[0] != '\0') {
		snprintf(out, len, "%s", name);
	} else {
		snprintf(out, len, "an unknown caller");
	}
}

void
um_message_lines_free(char **lines, size_t n)
{
	size_t i;

	for (i = 0; lines != NULL && i < n; i++)
		free(lines[i]);
	free(lines);
}

enum um_err
um_message_headers(const struct um_qmsg *m, const char *from, const char *to,
                   const char *message_id, time_t now, char ***lines, size_t *n)
{
	char who[300], date[64], **v = NULL;
	struct tm tm;
	size_t i = 0;
	int secs = (int)(m->seconds + 0.5);
	enum um_err r = UM_ERR_NOMEM;

	*lines = NULL;
	*n = 0;
	if ((v = calloc(6, sizeof(*v))) == NULL)
		goto out;
	caller(m, who, sizeof(who));
	gmtime_r(&now, &tm);
	/* RFC 5322 section 3.3, in English whatever the locale. */
	{
		static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
		static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

		snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000",
		         days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
	if (asprintf(&v[i++], "Date: %s", date) < 0 || asprintf(&v[i++], "From: <%s>", from) < 0 ||
	    asprintf(&v[i++], "To: <%s>", to) < 0 ||
	    asprintf(&v[i++], "Subject: Voice message from %s (%d second%s)%s", who, secs,
	             secs == 1 ? "" : "s", m->truncated ? " [cut short]" : "") < 0 ||
	    asprintf(&v[i++], "Message-ID: %s", message_id) < 0 ||
	    asprintf(&v[i++], "X-Umedge-Message-Id: %s", m->id) < 0) {
		v[i - 1] = NULL;
		r = um_seterr(UM_ERR_NOMEM, "message headers");
		goto out;
	}
	*lines = v;
	*n = i;
	v = NULL;
	r = UM_OK;
out:
	um_message_lines_free(v, i);
	return r;
}

char *
um_message_text(const struct um_qmsg *m)
{
	char who[300], called[128], when[64], *t = NULL;
	struct tm tm;
	int secs = (int)(m->seconds + 0.5);

	caller(m, who, sizeof(who));
	if (!um_message_uri_user(m->to, called, sizeof(called)))
		snprintf(called, sizeof(called), "unknown");
	else {
		char safe[128];

		ascii(called, sizeof(safe) - 1, safe, sizeof(safe));
		snprintf(called, sizeof(called), "%s", safe);
	}
	if (m->started != 0) {
		gmtime_r(&m->started, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	} else {
		snprintf(when, sizeof(when), "unknown");
	}
	if (asprintf(&t,
	             "You received a voice message.\r\n"
	             "\r\n"
	             "From:     %s\r\n"
	             "To:       %s\r\n"
	             "Time:     %s\r\n"
	             "Duration: %d:%02d%s\r\n"
	             "\r\n"
	             "The message is attached as a WAV file.\r\n",
	             who, called, when, secs / 60, secs % 60,
	             m->truncated ? " (cut short)" : "") < 0)
		return NULL;
	return t;
}

void
um_smtp_reply_parse(const char *line, size_t len, struct um_smtp_reply *out)
{
	size_t i, o = 0;
	int a, b, c;
	char tail[16];

	memset(out, 0, sizeof(*out));
	out->esubject = out->edetail = -1;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	for (i = 0; i < len && o + 1 < sizeof(out->text); i++) {
		unsigned char ch = (unsigned char)line[i];

		out->text[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out->text[o] = '\0';
	/* Three digits, then a space, a hyphen or the end (RFC 5321 section 4.2). */
	if (len < 3 || line[0] < '2' || line[0] > '5' || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || (len > 3 && line[3] != ' ' && line[3] != '-'))
		return;
	out->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	/* "class.subject.detail" first in the text (RFC 2034 section 4), class as the code's. */
	if (len > 4) {
		size_t n = len - 4 < sizeof(tail) - 1 ? len - 4 : sizeof(tail) - 1;
		int used = 0;

		memcpy(tail, line + 4, n);
		tail[n] = '\0';
		if (sscanf(tail, "%1d.%3d.%3d%n", &a, &b, &c, &used) == 3 &&
		    (tail[used] == ' ' || tail[used] == '\0') && a == line[0] - '0') {
			out->eclass = a;
			out->esubject = b;
			out->edetail = c;
		}
	}
}

bool
um_smtp_reply_permanent(const struct um_smtp_reply *r, enum um_smtp_stage stage)
{
	if (r->code < 500 || r->code > 599)
		return false;
	if (stage != UM_SMTP_RCPT && stage != UM_SMTP_DATAEND)
		return false;
	if (r->eclass == 0)
		return true;
	/* RFC 3463: 1 addressing, 2 mailbox, 6 content; 3.4 too big. */
	return r->esubject == 1 || r->esubject == 2 || r->esubject == 6 ||
	       (r->esubject == 3 && r->edetail == 4);
}

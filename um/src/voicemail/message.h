/*
 * What a voice message becomes in mail, and what an SMTP reply means for it: the pure parts of
 * submission (submit.c does the I/O), kept apart so that they are unit-tested and fuzzed.
 */
#ifndef UM_VOICEMAIL_MESSAGE_H
#define UM_VOICEMAIL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"
#include "voicemail/queue.h"

/*
 * The header lines of the mail (RFC 5322): Date (`now`), From, To, Subject, Message-ID and
 * X-Umedge-Message-Id (the spool ID), each a NUL-terminated line without CRLF, in *lines (an
 * owned array of owned strings, *n of them; free with um_message_lines_free). Text that comes
 * from a caller (the From URI's display name) is reduced to printable ASCII: a header cannot be
 * split by what a gateway sent.
 */
enum um_err um_message_headers(const struct um_qmsg *m, const char *from, const char *to,
                               const char *message_id, time_t now, char ***lines, size_t *n) UM_WUR;
void um_message_lines_free(char **lines, size_t n);

/* The text part (UTF-8): caller, called number, time, duration. Owned. */
char *um_message_text(const struct um_qmsg *m);

/* The Message-ID of a spool message: "<ID@FQDN>" into buf (at least 320 bytes). */
void um_message_id(const char *id, const char *fqdn, char *buf, size_t len);

/* The user part of a URI or name-addr ("\"A\" <sip:1001@host;x>" -> "1001"), as the recipient
 * lookup reads it (um_recipient_user_part); false when there is none. */
bool um_message_uri_user(const char *uri, char *buf, size_t len);

/* Where in the SMTP dialogue a reply came. */
enum um_smtp_stage {
	UM_SMTP_CONNECT, /* greeting, EHLO, STARTTLS, TLS */
	UM_SMTP_MAIL,
	UM_SMTP_RCPT,
	UM_SMTP_DATA,    /* DATA's 354 */
	UM_SMTP_DATAEND, /* the reply to the message itself */
};

/* An SMTP reply line parsed (RFC 5321 section 4.2; RFC 3463 enhanced status codes). */
struct um_smtp_reply {
	int code;       /* 0: not a reply line */
	int eclass;     /* the enhanced code's class (2, 4, 5), 0 when none */
	int esubject;   /* its subject (the x of 5.x.y), -1 when none */
	int edetail;    /* its detail (the y), -1 when none */
	char text[256]; /* the line, printable ASCII only, cut */
};

/* Parses one reply line (without or with CRLF, of `len` bytes, not NUL-terminated). */
void um_smtp_reply_parse(const char *line, size_t len, struct um_smtp_reply *out);

/*
 * Whether a refusal fails the message for good (it moves to failed/ at once) or only defers it:
 * a 5xx to RCPT or to the message, unless its enhanced code says security or policy (5.7.x:
 * often the hub refusing our certificate, which the administrator can fix) or the system
 * (5.3.x but 5.3.4, too big; 5.4.x routing; 5.5.x protocol): those wait, as a 4xx does, until
 * max_queue_days.
 */
bool um_smtp_reply_permanent(const struct um_smtp_reply *r, enum um_smtp_stage stage);

#endif

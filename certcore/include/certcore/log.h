/*
 * The event log every daemon uses: one line per event, text (default) or JSON lines, to a stream
 * (stderr) and optionally syslog. Field names and ids are the README's ("Events").
 *
 *   text: 2026-11-28T11:00:00Z warning 1010 CertificateExpiring service=UM days_left=10 ...
 *   json: {"time":"2026-11-28T11:00:00Z","level":"warning","event_id":1010,
 *          "event":"CertificateExpiring","service":"UM","days_left":10,...}
 *
 * Secrets never reach a log line: a field whose name says it holds one (password, secret,
 * private key, credential, pin code) is written as "[redacted]" whatever its value. Control
 * characters in values (peer-supplied names, for instance) are escaped, so a value cannot forge
 * a second line.
 */
#ifndef CERTCORE_LOG_H
#define CERTCORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "certcore/error.h"

enum cc_log_format { CC_LOG_TEXT, CC_LOG_JSON };
enum cc_log_level { CC_LOG_DEBUG, CC_LOG_INFO, CC_LOG_WARNING, CC_LOG_ERROR };

enum cc_field_type { CC_FIELD_STR, CC_FIELD_INT, CC_FIELD_REAL, CC_FIELD_BOOL };

struct cc_field {
	const char *key;
	enum cc_field_type type;
	const char *str; /* CC_FIELD_STR; NULL is logged as null / "-" */
	long long num;   /* CC_FIELD_INT; CC_FIELD_BOOL (0 false) */
	double real;     /* CC_FIELD_REAL: logged with two decimals */
};

#define CC_FSTR(k, v)  ((struct cc_field){.key = (k), .type = CC_FIELD_STR, .str = (v)})
#define CC_FINT(k, v)  ((struct cc_field){.key = (k), .type = CC_FIELD_INT, .num = (v)})
#define CC_FREAL(k, v) ((struct cc_field){.key = (k), .type = CC_FIELD_REAL, .real = (v)})
#define CC_FBOOL(k, v) ((struct cc_field){.key = (k), .type = CC_FIELD_BOOL, .num = !!(v)})

struct cc_log;

/*
 * `out` is borrowed (stderr usually; NULL writes nowhere but syslog). `ident` names the program
 * for syslog. Owned; free with cc_log_free().
 */
enum cc_err cc_log_new(enum cc_log_format fmt, FILE *out, const char *ident, bool use_syslog,
                       struct cc_log **log_out) CC_WUR;
void cc_log_free(struct cc_log *log);

/* "text" or "json". */
enum cc_err cc_log_format_parse(const char *s, enum cc_log_format *out) CC_WUR;
const char *cc_log_level_name(enum cc_log_level l);

/* Replaces the clock used for the "time" field (tests, simulated clocks); NULL restores time(). */
void cc_log_set_clock(struct cc_log *log, time_t (*clock)(void *), void *arg);

/* Logs event `id` (its name from the table in events.h) with fields, as one line. */
void cc_log_event(struct cc_log *log, enum cc_log_level level, int id, const struct cc_field *f,
                  size_t n);

/* A line that is not one of the numbered events (start-up, configuration): "message" field. */
void cc_log_message(struct cc_log *log, enum cc_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* True when a field of this name is never written in clear. */
bool cc_log_field_is_secret(const char *key);

#endif

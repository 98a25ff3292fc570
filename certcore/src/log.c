/* The event log: one line per event, text or JSON (jansson), to a stream and optionally syslog. */
#include <ctype.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <jansson.h>

#include "certcore/cert.h"
#include "certcore/events.h"
#include "certcore/log.h"
#include "internal.h"

struct cc_log {
	enum cc_log_format fmt;
	FILE *out;
	bool use_syslog;
	time_t (*clock)(void *);
	void *clock_arg;
};

static const char *const secret_words[] = {"password", "passwd",     "secret",
                                           "private",  "credential", "token"};

bool
cc_log_field_is_secret(const char *key)
{
	size_t i;

	for (i = 0; key != NULL && i < sizeof(secret_words) / sizeof(secret_words[0]); i++)
		if (strcasestr(key, secret_words[i]) != NULL)
			return true;
	return false;
}

enum cc_err
cc_log_new(enum cc_log_format fmt, FILE *out, const char *ident, bool use_syslog,
           struct cc_log **log_out)
{
	struct cc_log *l;

	*log_out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "log");
	l->fmt = fmt;
	l->out = out;
	l->use_syslog = use_syslog;
	if (use_syslog)
		openlog(ident ? ident : "umedge", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	*log_out = l;
	return CC_OK;
}

void
cc_log_free(struct cc_log *log)
{
	if (log == NULL)
		return;
	if (log->use_syslog)
		closelog();
	free(log);
}

enum cc_err
cc_log_format_parse(const char *s, enum cc_log_format *out)
{
	if (s != NULL && strcasecmp(s, "text") == 0)
		*out = CC_LOG_TEXT;
	else if (s != NULL && strcasecmp(s, "json") == 0)
		*out = CC_LOG_JSON;
	else
		return cc_seterr(CC_ERR_INVAL, "log format \"%.32s\" (text or json)", s ? s : "");
	return CC_OK;
}

const char *
cc_log_level_name(enum cc_log_level l)
{
	switch (l) {
	case CC_LOG_DEBUG:
		return "debug";
	case CC_LOG_INFO:
		return "info";
	case CC_LOG_WARNING:
		return "warning";
	case CC_LOG_ERROR:
		return "error";
	}
	return "info";
}

void
cc_log_set_clock(struct cc_log *log, time_t (*clock)(void *), void *arg)
{
	log->clock = clock;
	log->clock_arg = arg;
}

static time_t
now_of(const struct cc_log *log)
{
	return log->clock ? log->clock(log->clock_arg) : time(NULL);
}

static int
syslog_prio(enum cc_log_level l)
{
	switch (l) {
	case CC_LOG_DEBUG:
		return LOG_DEBUG;
	case CC_LOG_INFO:
		return LOG_INFO;
	case CC_LOG_WARNING:
		return LOG_WARNING;
	case CC_LOG_ERROR:
		return LOG_ERR;
	}
	return LOG_INFO;
}

/* Text value: bare when plain, else quoted with C escapes, so no value can break the line. */
static void
put_text_value(FILE *m, const char *v)
{
	const unsigned char *p;
	bool plain = *v != '\0';

	for (p = (const unsigned char *)v; *p && plain; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f)
			plain = false;
	if (plain) {
		fputs(v, m);
		return;
	}
	fputc('"', m);
	for (p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(m, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", m);
		else if (*p == '\t')
			fputs("\\t", m);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(m, "\\x%02x", *p);
		else
			fputc(*p, m);
	}
	fputc('"', m);
}

/* A JSON string for any bytes: invalid UTF-8 is kept readable as \xNN text. */
static json_t *
json_str_any(const char *v)
{
	json_t *j;
	char *esc;
	size_t n = strlen(v), i, o = 0;

	if ((j = json_string(v)) != NULL)
		return j;
	if ((esc = malloc(4 * n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch < 0x80) {
			esc[o++] = (char)ch;
		} else {
			snprintf(esc + o, 5, "\\x%02x", ch);
			o += 4;
		}
	}
	esc[o] = '\0';
	j = json_string(esc);
	free(esc);
	return j;
}

static void
emit(struct cc_log *log, enum cc_log_level level, const char *line)
{
	if (log->out != NULL) {
		/* One write per line, under the stream lock, so threads never interleave. */
		flockfile(log->out);
		fputs(line, log->out);
		fputc('\n', log->out);
		fflush(log->out);
		funlockfile(log->out);
	}
	if (log->use_syslog)
		syslog(syslog_prio(level), "%s", line);
}

static void
log_fields(struct cc_log *log, enum cc_log_level level, int id, const char *message,
           const struct cc_field *f, size_t n)
{
	char ts[32];
	const char *name = id ? cc_event_name(id) : NULL;
	size_t i;

	if (log == NULL)
		return;
	cc_time_iso8601(now_of(log), ts);
	if (log->fmt == CC_LOG_JSON) {
		json_t *o = json_object(), *v;
		char *line;

		if (o == NULL)
			return;
		json_object_set_new(o, "time", json_string(ts));
		json_object_set_new(o, "level", json_string(cc_log_level_name(level)));
		if (id) {
			json_object_set_new(o, "event_id", json_integer(id));
			json_object_set_new(o, "event", json_string(name ? name : "Unknown"));
		}
		if (message != NULL && (v = json_str_any(message)) != NULL)
			json_object_set_new(o, "message", v);
		for (i = 0; i < n; i++) {
			if (f[i].key == NULL)
				continue;
			if (cc_log_field_is_secret(f[i].key))
				v = json_string("[redacted]");
			else if (f[i].type == CC_FIELD_INT)
				v = json_integer(f[i].num);
			else if (f[i].type == CC_FIELD_REAL)
				v = json_real((double)llround(f[i].real * 100) / 100);
			else if (f[i].type == CC_FIELD_BOOL)
				v = json_boolean(f[i].num);
			else if (f[i].str == NULL)
				v = json_null();
			else
				v = json_str_any(f[i].str);
			if (v != NULL)
				json_object_set_new(o, f[i].key, v);
		}
		if ((line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
		                                  JSON_REAL_PRECISION(10))) != NULL) {
			emit(log, level, line);
			free(line);
		}
		json_decref(o);
	} else {
		char *line = NULL;
		size_t len = 0;
		FILE *m;

		if ((m = open_memstream(&line, &len)) == NULL)
			return;
		fprintf(m, "%s %s", ts, cc_log_level_name(level));
		if (id)
			fprintf(m, " %d %s", id, name ? name : "Unknown");
		if (message != NULL) {
			fputc(' ', m);
			put_text_value(m, message);
		}
		for (i = 0; i < n; i++) {
			if (f[i].key == NULL)
				continue;
			fprintf(m, " %s=", f[i].key);
			if (cc_log_field_is_secret(f[i].key))
				fputs("[redacted]", m);
			else if (f[i].type == CC_FIELD_INT)
				fprintf(m, "%lld", f[i].num);
			else if (f[i].type == CC_FIELD_REAL)
				fprintf(m, "%.2f", f[i].real);
			else if (f[i].type == CC_FIELD_BOOL)
				fputs(f[i].num ? "true" : "false", m);
			else if (f[i].str == NULL)
				fputs("-", m);
			else
				put_text_value(m, f[i].str);
		}
		if (fclose(m) == 0 && line != NULL)
			emit(log, level, line);
		free(line);
	}
}

void
cc_log_event(struct cc_log *log, enum cc_log_level level, int id, const struct cc_field *f,
             size_t n)
{
	log_fields(log, level, id, NULL, f, n);
}

void
cc_log_message(struct cc_log *log, enum cc_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fields(log, level, 0, buf, NULL, 0);
}

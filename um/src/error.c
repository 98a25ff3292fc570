/* umd's error table and the per-thread detail of the last failure. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static const char *const messages[UM_ERR__MAX] = {
        [UM_OK] = "success",
        [UM_ERR_NOMEM] = "out of memory",
        [UM_ERR_INVAL] = "invalid argument",
        [UM_ERR_IO] = "system error",
        [UM_ERR_CONFIG] = "configuration error",
        [UM_ERR_TLS] = "TLS set-up failed",
        [UM_ERR_SIP] = "SIP stack failed",
        [UM_ERR_CERT] = "no usable certificate",
        [UM_ERR_AUDIO] = "audio file refused",
        [UM_ERR_SPOOL] = "voice message spool failed",
        [UM_ERR_MEDIA] = "media failed",
        [UM_ERR_BUSY] = "no room for another call",
        [UM_ERR_NOTFOUND] = "not found",
        [UM_ERR_SMTP] = "SMTP submission failed",
        [UM_ERR_DIRECTORY] = "recipient directory unavailable",
        [UM_ERR_NO_RECIPIENT] = "no recipient",
        [UM_ERR_CERTCORE] = "certificate library failed",
};

static _Thread_local char detail[1024];
static _Thread_local enum cc_err detail_cc;

const char *
um_strerror(enum um_err e)
{
	if ((unsigned)e >= UM_ERR__MAX || messages[e] == NULL)
		return "unknown error";
	return messages[e];
}

const char *
um_errdetail(void)
{
	return detail;
}

enum cc_err
um_errcc(void)
{
	return detail_cc;
}

/* Formats into a scratch buffer first: callers may pass um_errdetail() itself as an argument. */
static void vset(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void
vset(const char *fmt, va_list ap)
{
	char tmp[sizeof(detail)];

	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	memcpy(detail, tmp, sizeof(detail));
	detail_cc = CC_OK;
}

enum um_err
um_seterr(enum um_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	return e;
}

enum um_err
um_seterr_cc(enum um_err e, enum cc_err ce, const char *fmt, ...)
{
	const char *why = cc_errdetail();
	size_t used;
	va_list ap;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	used = strlen(detail);
	snprintf(detail + used, sizeof(detail) - used, ": %s%s%s", cc_strerror(ce),
	         *why != '\0' ? ": " : "", why);
	detail_cc = ce;
	return e;
}

enum um_err
um_seterr_ssl(enum um_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	cc_ssl_reasons(detail, sizeof(detail));
	return e;
}

/* umd's error table and the per-thread detail of the last failure. */
#include <stdarg.h>
#include <stdio.h>

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
};

static _Thread_local char detail[1024];

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

enum um_err
um_seterr(enum um_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return e;
}

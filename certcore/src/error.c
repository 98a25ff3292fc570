/* The one table of certcore error messages, and the per-thread detail of the last failure. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "certcore/error.h"
#include "internal.h"

static const char *const messages[CC_ERR__MAX] = {
        [CC_OK] = "success",
        [CC_ERR_NOMEM] = "out of memory",
        [CC_ERR_INVAL] = "invalid argument",
        [CC_ERR_IO] = "file system error",
        [CC_ERR_CRYPTO] = "cryptographic operation failed",
        [CC_ERR_NOT_FOUND] = "not found",
        [CC_ERR_EXISTS] = "already exists",
        [CC_ERR_PARSE] = "malformed input",
        [CC_ERR_PERM] = "unsafe file permissions",
        [CC_ERR_LOCK] = "could not lock the store",
        [CC_ERR_KEY_MISMATCH] = "private key does not match the certificate",
        [CC_ERR_KEY_ENCRYPTED] = "private key is password protected",
        [CC_ERR_NO_KEY] = "private key missing",
        [CC_ERR_STATE] = "state record unreadable",
        [CC_ERR_NO_EXPORT] = "private key is not exportable",
        [CC_ERR_PASSWORD] = "wrong password",
        [CC_ERR_LIMIT] = "input exceeds a safety limit",
};

static _Thread_local char detail[1024];

const char *
cc_strerror(enum cc_err e)
{
	if ((unsigned)e >= CC_ERR__MAX || messages[e] == NULL)
		return "unknown error";
	return messages[e];
}

const char *
cc_errdetail(void)
{
	return detail;
}

static void vset(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void
vset(const char *fmt, va_list ap)
{
	vsnprintf(detail, sizeof(detail), fmt, ap);
}

enum cc_err
cc_seterr(enum cc_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	return e;
}

enum cc_err
cc_seterr_errno(enum cc_err e, const char *fmt, ...)
{
	int saved = errno;
	size_t used;
	va_list ap;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	used = strlen(detail);
	snprintf(detail + used, sizeof(detail) - used, ": %s", strerror(saved));
	return e;
}

void
cc_ssl_reasons(char *buf, size_t len)
{
	unsigned long code;
	size_t used;
	const char *data, *reason;
	int flags;
	char num[256];
	int first = 1;

	if (buf == NULL || len == 0) {
		ERR_clear_error();
		return;
	}
	while ((code = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if ((reason = ERR_reason_error_string(code)) == NULL) {
			ERR_error_string_n(code, num, sizeof(num));
			reason = num;
		}
		used = strnlen(buf, len - 1);
		snprintf(buf + used, len - used, "%s%s%s%s", first ? ": " : "; ", reason,
		         (flags & ERR_TXT_STRING) && data && *data ? " - " : "",
		         (flags & ERR_TXT_STRING) && data ? data : "");
		first = 0;
	}
	if (first) {
		used = strnlen(buf, len - 1);
		snprintf(buf + used, len - used, ": no reason given by OpenSSL");
	}
}

enum cc_err
cc_seterr_ssl(enum cc_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	cc_ssl_reasons(detail, sizeof(detail));
	return e;
}

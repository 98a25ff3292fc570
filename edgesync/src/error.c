/* The edgesync error table and the thread-local detail of the last failure. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const messages[ES_ERR__MAX] = {
        [ES_OK] = "success",
        [ES_ERR_NOMEM] = "out of memory",
        [ES_ERR_INVAL] = "invalid argument",
        [ES_ERR_IO] = "file system error",
        [ES_ERR_CONFIG] = "configuration error",
        [ES_ERR_PARSE] = "malformed input",
        [ES_ERR_CRYPTO] = "cryptographic operation failed",
        [ES_ERR_CERT] = "certificate store error",
        [ES_ERR_CONNECT] = "directory unreachable",
        [ES_ERR_PIN_MISMATCH] = "edge certificate does not match the pinned certificates",
        [ES_ERR_BIND] = "bind refused",
        [ES_ERR_LDAP] = "LDAP operation failed",
        [ES_ERR_NOT_FOUND] = "not found",
        [ES_ERR_EXISTS] = "already exists",
        [ES_ERR_EXPIRED] = "expired",
        [ES_ERR_LEASE_HELD] = "lease held by another replicator",
        [ES_ERR_LEASE_LOST] = "lease lost",
        [ES_ERR_SOURCE] = "source directory result incomplete",
        [ES_ERR_EDGE] = "edge directory refused a write",
        [ES_ERR_CONFLICT] = "an entry edgesync did not create is in the way",
        [ES_ERR_CREDENTIAL] = "credential cannot be decrypted",
        [ES_ERR_INTERRUPTED] = "interrupted",
        [ES_ERR_LIMIT] = "source size limit reached",
        [ES_ERR_COOKIE] = "source refused the sync cookie",
        [ES_ERR_KEYHOLDER] = "the key holder is gone",
};

static _Thread_local char detail[2048];

const char *
es_strerror(enum es_err e)
{
	if ((unsigned)e >= ES_ERR__MAX || messages[e] == NULL)
		return "unknown error";
	return messages[e];
}

const char *
es_errdetail(void)
{
	return detail;
}

/* Formats into a scratch buffer first: callers may pass es_errdetail() itself as an argument. */
static void vset(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void
vset(const char *fmt, va_list ap)
{
	char tmp[sizeof(detail)];

	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	memcpy(detail, tmp, sizeof(detail));
}

static void
append(const char *s)
{
	size_t n = strlen(detail);

	if (n + 2 < sizeof(detail))
		snprintf(detail + n, sizeof(detail) - n, ": %s", s);
}

enum es_err
es_seterr(enum es_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	return e;
}

enum es_err
es_seterr_ssl(enum es_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	/* certcore's one drain of the OpenSSL queue, so both say a reason in the same words */
	cc_ssl_reasons(detail, sizeof(detail));
	return e;
}

enum es_err
es_seterr_errno(enum es_err e, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	append(strerror(saved));
	return e;
}

enum es_err
es_seterr_ldap(enum es_err e, LDAP *ld, int rc, const char *fmt, ...)
{
	va_list ap;
	char *diag = NULL;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	append(ldap_err2string(rc));
	if (ld != NULL &&
	    ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS &&
	    diag != NULL && *diag != '\0' && strcmp(diag, "(unknown error code)") != 0)
		append(diag);
	ldap_memfree(diag);
	return e;
}

enum es_err
es_seterr_cc(enum es_err e, enum cc_err ce, const char *fmt, ...)
{
	va_list ap;
	char cdetail[1024];
	const char *d = cc_errdetail();

	/* certcore's detail lives in its own buffer; copy it before ours is overwritten */
	snprintf(cdetail, sizeof(cdetail), "%s", d != NULL ? d : "");
	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	append(cc_strerror(ce));
	if (cdetail[0] != '\0')
		append(cdetail);
	return e;
}

char *
es_aprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

void
es_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

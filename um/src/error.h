/* umd's error codes: one flat set and one table of messages (error.c), as certcore's. */
#ifndef UM_ERROR_H
#define UM_ERROR_H

#include "certcore/error.h"

#define UM_WUR __attribute__((warn_unused_result))

enum um_err {
	UM_OK = 0,
	UM_ERR_NOMEM,        /* out of memory */
	UM_ERR_INVAL,        /* invalid argument */
	UM_ERR_IO,           /* system call failed */
	UM_ERR_CONFIG,       /* configuration error */
	UM_ERR_TLS,          /* TLS set-up failed */
	UM_ERR_SIP,          /* SIP stack failed */
	UM_ERR_CERT,         /* no usable certificate */
	UM_ERR_AUDIO,        /* audio file refused */
	UM_ERR_SPOOL,        /* voice message spool failed */
	UM_ERR_MEDIA,        /* media (RTP, SRTP) failed */
	UM_ERR_BUSY,         /* no room for another call */
	UM_ERR_DIRECTORY,    /* the recipient directory could not be asked: temporary */
	UM_ERR_NO_RECIPIENT, /* a number maps to no one and there is no fallback: permanent */
	UM_ERR_NOTFOUND,     /* no such message */
	UM_ERR_SMTP,         /* SMTP submission failed */
	UM_ERR_CERTCORE,     /* certcore failed: um_errcc() has its code, um_errdetail() its text */
	UM_ERR__MAX
};

const char *um_strerror(enum um_err e);
/* What failed last on this thread, with the library's reason ("" when none). */
const char *um_errdetail(void);
/*
 * The certcore error behind the last failure on this thread (um_seterr_cc), CC_OK when that
 * failure was umd's own or another library's.
 */
enum cc_err um_errcc(void);
/* Records a detail and returns e. Arguments may point into um_errdetail() itself. */
enum um_err um_seterr(enum um_err e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * As um_seterr, keeping certcore's failure: its code for um_errcc(), and ": " cc_strerror(ce)
 * and ": " cc_errdetail() (when there is one) appended to the detail, so what umd logs names
 * the library's reason.
 */
enum um_err um_seterr_cc(enum um_err e, enum cc_err ce, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/*
 * As um_seterr, appending OpenSSL's queued reasons as certcore words them (cc_ssl_reasons: the
 * queue is drained).
 */
enum um_err um_seterr_ssl(enum um_err e, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#endif

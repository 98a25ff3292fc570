/* umd's error codes: one flat set and one table of messages (error.c), as certcore's. */
#ifndef UM_ERROR_H
#define UM_ERROR_H

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
	UM_ERR__MAX
};

const char *um_strerror(enum um_err e);
/* What failed last on this thread, with the library's reason ("" when none). */
const char *um_errdetail(void);
/* Records a detail and returns e. */
enum um_err um_seterr(enum um_err e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

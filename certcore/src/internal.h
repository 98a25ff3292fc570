/* certcore private helpers, shared by its source files; not installed. */
#ifndef CERTCORE_INTERNAL_H
#define CERTCORE_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "certcore/error.h"
#include "certcore/fileio.h"

/* Records a detail for cc_errdetail() and returns `e`. */
enum cc_err cc_seterr(enum cc_err e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As cc_seterr, appending ": " and OpenSSL's queued reasons (the queue is drained). */
enum cc_err cc_seterr_ssl(enum cc_err e, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* As cc_seterr, appending ": " and strerror(errno). */
enum cc_err cc_seterr_errno(enum cc_err e, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* asprintf that returns NULL on failure. */
char *cc_aprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Test hook: called by store writers between the steps of a write with the step's name. Tests
 * set it to end the process at a chosen step; NULL in production.
 */
extern void (*cc_store_fault_hook)(const char *step);

#endif

/* certctl's shared helpers and the verbs each file provides (one file per group of verbs). */
#ifndef CERTCTL_H
#define CERTCTL_H

#include <stddef.h>
#include <stdio.h>

#include "certcore/error.h"
#include "certcore/store.h"

#define EXIT_USAGE 2

/* The verb being run, for messages ("certctl: get: ..."). */
extern const char *certctl_verb;

/* "certctl: VERB: message" on stderr. */
void certctl_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line naming what failed and the library's reason; returns EXIT_FAILURE. */
int certctl_fail(enum cc_err r);
/* A usage error: the message, then the verb's help text; returns EXIT_USAGE. */
int certctl_usage(const char *help, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Opens the store and prints its problems as warnings. */
enum cc_err certctl_open_store(const char *path, int flags, struct cc_store **s) CC_WUR;
/*
 * Every writing verb ends with this: a verb that failed (rc not EXIT_SUCCESS) on a store its
 * own open created leaves nothing behind (cc_store_discard); otherwise the store is freed.
 */
void certctl_close_store(struct cc_store *s, int rc);
/* Splits "a,b c" and appends the parts (pointers into arg) to *list. -1 on no memory. */
int certctl_add_list(const char ***list, size_t *n, char *arg);
/* Parses a decimal integer in lo..hi; -1 when it is not one. */
int certctl_parse_int(const char *s, int lo, int hi, int *out);
struct cc_requests;
/* Loads the store's pending requests and prints their problems as warnings. */
enum cc_err certctl_load_requests(struct cc_store *s, struct cc_requests **rs) CC_WUR;

/* Verbs: (store path, argc, argv) with argv[0] the verb; return the exit status. */
int cmd_new(const char *store, int argc, char **argv);
int cmd_renew(const char *store, int argc, char **argv);
int cmd_get(const char *store, int argc, char **argv);
int cmd_enable(const char *store, int argc, char **argv);
int cmd_remove(const char *store, int argc, char **argv);
int cmd_export(const char *store, int argc, char **argv);
int cmd_request(const char *store, int argc, char **argv);
int cmd_import(const char *store, int argc, char **argv);
int cmd_trust(const char *store, int argc, char **argv);
int cmd_verify(const char *store, int argc, char **argv);
int cmd_select(const char *store, int argc, char **argv);

#endif

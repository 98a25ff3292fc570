/* edgesync CLI: shared helpers and the verbs each file provides (one file per group of verbs). */
#ifndef EDGESYNC_TOOL_H
#define EDGESYNC_TOOL_H

#include <stdbool.h>
#include <stdio.h>

#include "certcore/log.h"
#include "edgesync/config.h"
#include "edgesync/error.h"
#include "edgesync/progress.h"

#define EXIT_USAGE   2
#define EXIT_SKIPPED 3 /* start: nothing failed, but another replicator held an edge's lease */

/* What every verb gets: the loaded configuration and the event log. */
struct tool {
	struct es_config *cfg;
	struct cc_log *log;
	const char *verb;              /* for messages: "edgesync: VERB: ..." */
	enum cc_log_format log_format; /* what the log writes: --log-format, else log_format */
};

/* "edgesync: VERB: message" on stderr. */
void tool_msg(const struct tool *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The error and its detail as one line; returns EXIT_FAILURE. */
int tool_fail(const struct tool *t, enum es_err r);
/* A usage error and the verb's help; returns EXIT_USAGE. */
int tool_usage(const struct tool *t, const char *help, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Parses a decimal integer in lo..hi; -1 when it is not one. */
int tool_parse_int(const char *s, int lo, int hi, int *out);

/*
 * edgesync start's progress on a terminal (progress_tty.c): wanted when `f` is a terminal, the
 * log is text and TERM is set and not "dumb". tty_progress_report is an es_progress_fn whose
 * arg is that FILE *.
 */
bool tty_progress_wanted(enum cc_log_format fmt, FILE *f);
void tty_progress_report(void *arg, const struct es_progress_view *v, bool final);

/* Verbs: argv[0] is the verb. */
int cmd_subscription(struct tool *t, int argc, char **argv);
int cmd_start(struct tool *t, int argc, char **argv);
int cmd_run(struct tool *t, int argc, char **argv);
int cmd_test(struct tool *t, int argc, char **argv);
int cmd_seed(struct tool *t, int argc, char **argv);

#endif

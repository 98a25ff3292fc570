/*
 * struct es_progress: how far a synchronization cycle is, per edge and area, for the people who
 * wait for a first sync of a large directory: entries read from the source, writes confirmed by
 * the edge, the rate of the step in progress and an estimate of the time it has left.
 *
 * The accounting only: when a report is due it calls the `report` function it was given, which
 * renders it (edgesync start draws it on a terminal; edgesync run logs it with
 * es_progress_log_report). Every es_progress_* call accepts NULL and then does nothing, so the
 * cycle (sync.c) calls them whether anyone watches or not.
 *
 * The total of a read. A paged read (RFC 2696) or an RFC 4533 refresh does not say in advance
 * how many entries it will return, so the estimate uses what is known, best first:
 *
 *   1. the number of entries the replicator holds on the edge for the area, when the edge was
 *      read before the source (a complete read: es_progress_expect with ES_PROGRESS_FROM_EDGE);
 *   2. the number of entries the source returned for the same edge and area in the previous
 *      cycle of this process (kept by the object across cycles);
 *   3. once the read has ended and the writes begin: the writes planned, exactly.
 *
 * A total of 0 says nothing (a first sync finds an empty edge). Until a total is known, and
 * during the first ES_PROGRESS_MIN_RATE_SECONDS of a step (too little to measure a rate), the
 * estimate is "estimating" (view.eta < 0). The estimate covers the step in progress: the read,
 * then the writes.
 *
 * When to report: the first report comes `first` seconds after the cycle began (es_progress_begin),
 * the next ones `interval` seconds apart, whatever area they fall in; so a cycle shorter than
 * `first` reports nothing. With `final`, the end of each area is reported as well (the terminal
 * keeps that line); without it, the end of an area is not reported (the daemon logs
 * EdgeSyncCompleted then).
 */
#ifndef EDGESYNC_PROGRESS_H
#define EDGESYNC_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "certcore/log.h"
#include "edgesync/error.h"

#define ES_PROGRESS_MIN_RATE_SECONDS 1.0

enum es_progress_step { ES_PROGRESS_READING, ES_PROGRESS_WRITING, ES_PROGRESS_DONE };

/* Where the total of the read comes from. */
enum es_progress_basis {
	ES_PROGRESS_UNKNOWN,   /* nothing known yet */
	ES_PROGRESS_FROM_EDGE, /* the replicator's entries on the edge */
	ES_PROGRESS_PREVIOUS,  /* the source's count in the previous cycle */
	ES_PROGRESS_READ,      /* the read has ended: what it returned */
};

/* One report. The strings are borrowed from the object, valid during the report call. */
struct es_progress_view {
	const char *edge, *area;
	enum es_progress_step step;
	long read;                    /* entries read from the source so far */
	long total;                   /* expected entries of the read; 0 when unknown */
	enum es_progress_basis basis; /* where `total` comes from */
	long written;                 /* writes the edge confirmed */
	long planned;                 /* writes planned; -1 before the read ended */
	bool failed;                  /* ES_PROGRESS_DONE: the area did not complete */
	double seconds;               /* since the area began */
	double rate;                  /* per second in the current step (read, then written) */
	double eta;                   /* seconds left in the current step; < 0: estimating */
};

/* `final`: the area has ended (step ES_PROGRESS_DONE). */
typedef void (*es_progress_fn)(void *arg, const struct es_progress_view *v, bool final);
/* Seconds on a monotonic clock. */
typedef double (*es_progress_clock_fn)(void *arg);

struct es_progress_opts {
	double first;    /* seconds from es_progress_begin to the first report */
	double interval; /* seconds between reports */
	bool final;      /* report the end of each area */
	es_progress_fn report;
	void *report_arg;           /* borrowed; handed to `report` */
	es_progress_clock_fn clock; /* NULL: CLOCK_MONOTONIC */
	void *clock_arg;
};

struct es_progress;

/* Owned; free with es_progress_free. `o->report` must not be NULL. */
enum es_err es_progress_new(const struct es_progress_opts *o, struct es_progress **out) ES_WUR;
void es_progress_free(struct es_progress *p);

/* A cycle of one edge begins: the reporting clock starts. `edge` is copied. */
void es_progress_begin(struct es_progress *p, const char *edge);
/* An area begins: counts start from 0; the total from the previous cycle, when there is one. */
void es_progress_area(struct es_progress *p, const char *area);
/* A total for the read (0 is ignored), and where it comes from. */
void es_progress_expect(struct es_progress *p, long total, enum es_progress_basis basis);
/* `n` entries were read from the source (a report may be made from here). */
void es_progress_read(struct es_progress *p, long n);
/* The read has ended with `read` entries (the source's count for the next cycle) and `planned`
 * writes follow. */
void es_progress_planned(struct es_progress *p, long read, long planned);
/* `n` writes were confirmed by the edge. */
void es_progress_wrote(struct es_progress *p, long n);
/* The area has ended (`ok`: completed; the previous-cycle count is kept only then). */
void es_progress_end_area(struct es_progress *p, bool ok);

/* What would be reported now (tests; the renderers get it through `report`). */
void es_progress_view(struct es_progress *p, struct es_progress_view *v);

/*
 * One line for a person, without the edge and area names, e.g.
 *   "reading: 1200 entries, 800/s, estimating"
 *   "reading: 1200 of about 5000 entries (the edge's count), 800/s, about 5 s left"
 *   "writing: 300 of 5000 writes (5000 read), 450/s, about 10 s left"
 *   "done: 5000 read, 5000 written in 12 s"
 * Truncated to `len` (always terminated).
 */
void es_progress_format(const struct es_progress_view *v, char *buf, size_t len);

/* An es_progress_fn for daemons: logs "edge E: area A: LINE" as a message (not an event) on the
 * struct cc_log given as `arg`. */
void es_progress_log_report(void *arg, const struct es_progress_view *v, bool final);

#endif

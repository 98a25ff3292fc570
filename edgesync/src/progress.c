/* Progress of a synchronization cycle: counts, rate, estimate, and when to report (progress.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgesync/progress.h"
#include "internal.h"

/* The source's count for one edge and area in the last completed cycle. */
struct seen {
	char *edge, *area;
	long count;
};

struct es_progress {
	struct es_progress_opts o;
	char *edge, *area;
	enum es_progress_step step;
	enum es_progress_basis basis;
	long read, total, written, planned;
	bool failed;
	double area_start, step_start, next_report;
	struct seen *seen;
	size_t nseen;
};

static double
mono_clock(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now(const struct es_progress *p)
{
	return p->o.clock(p->o.clock_arg);
}

enum es_err
es_progress_new(const struct es_progress_opts *o, struct es_progress **out)
{
	struct es_progress *p;

	*out = NULL;
	if (o->report == NULL || o->interval <= 0 || o->first < 0)
		return es_seterr(ES_ERR_INVAL, "progress: a report function and an interval");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "progress");
	p->o = *o;
	if (p->o.clock == NULL)
		p->o.clock = mono_clock;
	p->planned = -1;
	*out = p;
	return ES_OK;
}

void
es_progress_free(struct es_progress *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nseen; i++) {
		free(p->seen[i].edge);
		free(p->seen[i].area);
	}
	free(p->seen);
	free(p->edge);
	free(p->area);
	free(p);
}

static struct seen *
find_seen(struct es_progress *p)
{
	size_t i;

	if (p->edge == NULL || p->area == NULL)
		return NULL;
	for (i = 0; i < p->nseen; i++)
		if (strcmp(p->seen[i].edge, p->edge) == 0 && strcmp(p->seen[i].area, p->area) == 0)
			return &p->seen[i];
	return NULL;
}

/* Remembers the source's count; out of memory only loses an estimate. */
static void
remember(struct es_progress *p, long count)
{
	struct seen *s = find_seen(p), *ns;

	if (s != NULL) {
		s->count = count;
		return;
	}
	if (p->edge == NULL || p->area == NULL ||
	    (ns = realloc(p->seen, (p->nseen + 1) * sizeof(*ns))) == NULL)
		return;
	p->seen = ns;
	s = &ns[p->nseen];
	s->edge = strdup(p->edge);
	s->area = strdup(p->area);
	s->count = count;
	if (s->edge == NULL || s->area == NULL) {
		free(s->edge);
		free(s->area);
		return;
	}
	p->nseen++;
}

static void
reset_area(struct es_progress *p)
{
	free(p->area);
	p->area = NULL;
	p->step = ES_PROGRESS_READING;
	p->basis = ES_PROGRESS_UNKNOWN;
	p->read = p->total = p->written = 0;
	p->planned = -1;
	p->failed = false;
}

void
es_progress_begin(struct es_progress *p, const char *edge)
{
	if (p == NULL)
		return;
	free(p->edge);
	p->edge = strdup(edge);
	reset_area(p);
	p->area_start = p->step_start = now(p);
	p->next_report = p->area_start + p->o.first;
}

void
es_progress_area(struct es_progress *p, const char *area)
{
	const struct seen *s;

	if (p == NULL)
		return;
	reset_area(p);
	p->area = strdup(area);
	p->area_start = p->step_start = now(p);
	if ((s = find_seen(p)) != NULL && s->count > 0) {
		p->total = s->count;
		p->basis = ES_PROGRESS_PREVIOUS;
	}
}

void
es_progress_expect(struct es_progress *p, long total, enum es_progress_basis basis)
{
	if (p == NULL || total <= 0)
		return;
	p->total = total;
	p->basis = basis;
}

void
es_progress_view(struct es_progress *p, struct es_progress_view *v)
{
	double t = now(p), in_step = t - p->step_start;
	long done, of;

	memset(v, 0, sizeof(*v));
	v->edge = p->edge != NULL ? p->edge : "";
	v->area = p->area != NULL ? p->area : "";
	v->step = p->step;
	v->read = p->read;
	v->total = p->total;
	v->basis = p->basis;
	v->written = p->written;
	v->planned = p->planned;
	v->failed = p->failed;
	v->seconds = t - p->area_start;
	v->eta = -1;
	if (p->step == ES_PROGRESS_DONE)
		return;
	if (p->step == ES_PROGRESS_READING) {
		done = p->read;
		of = p->total;
	} else {
		done = p->written;
		of = p->planned;
	}
	/* below a second a rate is noise, and an estimate from it worse */
	if (in_step < ES_PROGRESS_MIN_RATE_SECONDS)
		return;
	v->rate = (double)done / in_step;
	if (v->rate > 0 && of > 0 && done < of)
		v->eta = (double)(of - done) / v->rate;
}

static void
report(struct es_progress *p, bool final)
{
	struct es_progress_view v;

	es_progress_view(p, &v);
	p->o.report(p->o.report_arg, &v, final);
}

static void
maybe_report(struct es_progress *p)
{
	double t = now(p);

	if (t < p->next_report)
		return;
	p->next_report = t + p->o.interval;
	report(p, false);
}

void
es_progress_read(struct es_progress *p, long n)
{
	if (p == NULL)
		return;
	p->read += n;
	maybe_report(p);
}

void
es_progress_planned(struct es_progress *p, long read, long planned)
{
	if (p == NULL)
		return;
	p->read = read;
	p->total = read;
	p->basis = ES_PROGRESS_READ;
	p->planned = planned;
	p->step = ES_PROGRESS_WRITING;
	p->step_start = now(p);
	maybe_report(p);
}

void
es_progress_wrote(struct es_progress *p, long n)
{
	if (p == NULL)
		return;
	p->written += n;
	maybe_report(p);
}

void
es_progress_end_area(struct es_progress *p, bool ok)
{
	if (p == NULL || p->area == NULL || p->step == ES_PROGRESS_DONE)
		return;
	/* a read that failed half way says nothing of the area's size */
	if (ok && p->basis == ES_PROGRESS_READ)
		remember(p, p->read);
	p->failed = !ok;
	p->step = ES_PROGRESS_DONE;
	if (p->o.final)
		report(p, true);
}

static const char *
basis_words(enum es_progress_basis b)
{
	switch (b) {
	case ES_PROGRESS_FROM_EDGE:
		return " (the edge's count)";
	case ES_PROGRESS_PREVIOUS:
		return " (the previous cycle's)";
	default:
		return "";
	}
}

/* "800/s, about 5 s left", "800/s, estimating", or "estimating" without a rate yet. */
static void
format_rate(const struct es_progress_view *v, char *buf, size_t len)
{
	char eta[48];

	if (v->eta < 0)
		snprintf(eta, sizeof(eta), "estimating");
	else if (v->eta < 90)
		snprintf(eta, sizeof(eta), "about %.0f s left", v->eta);
	else
		snprintf(eta, sizeof(eta), "about %.0f min left", v->eta / 60);
	if (v->rate > 0)
		snprintf(buf, len, "%.0f/s, %s", v->rate, eta);
	else
		snprintf(buf, len, "%s", eta);
}

void
es_progress_format(const struct es_progress_view *v, char *buf, size_t len)
{
	char rate[80];

	if (len == 0)
		return;
	format_rate(v, rate, sizeof(rate));
	switch (v->step) {
	case ES_PROGRESS_READING:
		if (v->total > 0)
			snprintf(buf, len, "reading: %ld of about %ld entries%s, %s", v->read,
			         v->total, basis_words(v->basis), rate);
		else
			snprintf(buf, len, "reading: %ld entries, %s", v->read, rate);
		break;
	case ES_PROGRESS_WRITING:
		snprintf(buf, len, "writing: %ld of %ld writes (%ld read), %s", v->written,
		         v->planned, v->read, rate);
		break;
	case ES_PROGRESS_DONE:
		snprintf(buf, len, "%s: %ld read, %ld written in %.0f s",
		         v->failed ? "stopped" : "done", v->read, v->written, v->seconds);
		break;
	}
}

void
es_progress_log_report(void *arg, const struct es_progress_view *v, bool final)
{
	char line[256];

	(void) final;
	es_progress_format(v, line, sizeof(line));
	cc_log_message(arg, CC_LOG_INFO, "edge %s: area %s: %s", v->edge, v->area, line);
}

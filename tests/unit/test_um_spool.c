/*
 * The voice-message spool (um/src/voicemail/spool.c): messages committed to new/ (the WAV read
 * back with libsndfile, ID.json last), aborts, recovery of what tmp/ holds after a close, a
 * kill -9 of a process recording, a header zeroed or stale, metadata lost; errors that name the
 * path; many recordings at once; the writer's backlog bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sndfile.h>

#include "testutil.h"
#include "voicemail/spool.h"

#define STARTED   ((time_t)1796195700) /* 2026-12-02T07:15:00Z */
#define THUMB     "3F9A1C2B3F9A1C2B3F9A1C2B3F9A1C2B3F9A1C2B"
#define THREADS   32
#define MAX_DONE  64
#define WAIT_SECS 60

static const struct um_spool_meta meta = {
        .call_id = "a84b4c76e66710@gw1.example.test",
        .from = "sip:+14255550100@gw1.example.test",
        .to = "sip:1001@um1.example.test",
        .gateway = "gw1",
        .media = "AES_CM_128_HMAC_SHA1_80",
        .um_thumbprint = THUMB,
        .started = STARTED,
};

/* Sample i of message `seed`: different for each message, through the whole 16-bit range. */
static int16_t
sample(unsigned seed, size_t i)
{
	return (int16_t)(((i + seed * 7919) * 2654435761u) >> 16);
}

/* --- what done() reports, collected for the test thread ------------------------------------ */

struct result {
	char id[UM_SPOOL_ID_MAX + 1];
	double seconds;
	bool failed;
	char error[1024];
	bool json_there, wav_there; /* new/ID.json and new/ID.wav when done() ran */
};

struct results {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const char *spool;
	size_t n;
	struct result r[MAX_DONE];
};

static void
results_init(struct results *rs, const char *spool)
{
	memset(rs, 0, sizeof(*rs));
	pthread_mutex_init(&rs->mu, NULL);
	pthread_cond_init(&rs->cv, NULL);
	rs->spool = spool;
}

static void
results_destroy(struct results *rs)
{
	pthread_cond_destroy(&rs->cv);
	pthread_mutex_destroy(&rs->mu);
}

static void
on_done(void *arg, const char *id, double seconds, const char *error)
{
	struct results *rs = arg;
	struct result *x;
	char path[4096];

	pthread_mutex_lock(&rs->mu);
	if (rs->n < MAX_DONE) {
		x = &rs->r[rs->n];
		snprintf(x->id, sizeof(x->id), "%s", id);
		x->seconds = seconds;
		x->failed = error != NULL;
		snprintf(x->error, sizeof(x->error), "%s", error ? error : "");
		snprintf(path, sizeof(path), "%s/new/%s.json", rs->spool, id);
		x->json_there = access(path, F_OK) == 0;
		snprintf(path, sizeof(path), "%s/new/%s.wav", rs->spool, id);
		x->wav_there = access(path, F_OK) == 0;
	}
	rs->n++;
	pthread_cond_broadcast(&rs->cv);
	pthread_mutex_unlock(&rs->mu);
}

static void
wait_results(struct results *rs, size_t n)
{
	struct timespec until;
	int e = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_SECS;
	pthread_mutex_lock(&rs->mu);
	while (rs->n < n && e == 0)
		e = pthread_cond_timedwait(&rs->cv, &rs->mu, &until);
	pthread_mutex_unlock(&rs->mu);
	CU_ASSERT_EQUAL_FATAL(rs->n, n);
}

/* --- a gate that holds the writer thread inside a done() ----------------------------------- */

struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, open;
};

static void
gate_done(void *arg, const char *id, double seconds, const char *error)
{
	struct gate *g = arg;

	(void)id;
	(void)seconds;
	(void)error;
	pthread_mutex_lock(&g->mu);
	g->entered = true;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

/* Holds the spool's writer: a message finished whose done() waits for gate_open. */
static void
gate_close(struct um_spool *s, struct gate *g)
{
	struct um_recording *r = NULL;

	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	um_recording_finish(r, false, gate_done, g);
	pthread_mutex_lock(&g->mu);
	while (!g->entered)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void
gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void
gate_destroy(struct gate *g)
{
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
}

/* --- files ---------------------------------------------------------------------------------- */

/* A fresh test directory and the spool's path in it ("DIR/spool", not made yet). */
static char *
fresh(char **top)
{
	char *p = NULL;

	*top = tu_tmpdir();
	CU_ASSERT_FATAL(asprintf(&p, "%s/spool", *top) > 0);
	return p;
}

static void
cleanup(char *top, char *spool)
{
	tu_rmrf(top);
	free(top);
	free(spool);
}

static const char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A path from a format; static buffers, four in turn. */
static const char *
pathf(const char *fmt, ...)
{
	static char buf[4][4096];
	static unsigned next;
	char *p = buf[next++ % 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(buf[0]), fmt, ap);
	va_end(ap);
	return p;
}

static bool
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static unsigned
mode_of(const char *path)
{
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Names in a folder, but . and .. */
static int
count_files(const char *dir)
{
	char cmd[4200];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

/* A committed WAV: RIFF WAV, PCM 16-bit, 8000 Hz, mono; its samples (owned) and their number. */
static int16_t *
read_wav(const char *path, size_t *n)
{
	SF_INFO info;
	SNDFILE *sf;
	int16_t *pcm;

	memset(&info, 0, sizeof(info));
	sf = sf_open(path, SFM_READ, &info);
	if (sf == NULL)
		fprintf(stderr, "\n%s: %s\n", path, sf_strerror(NULL));
	CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
	CU_ASSERT_EQUAL(info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
	CU_ASSERT_EQUAL(info.samplerate, 8000);
	CU_ASSERT_EQUAL(info.channels, 1);
	pcm = calloc((size_t)info.frames + 1, sizeof(*pcm));
	CU_ASSERT_PTR_NOT_NULL_FATAL(pcm);
	*n = (size_t)sf_read_short(sf, pcm, info.frames);
	CU_ASSERT_EQUAL(*n, (size_t)info.frames);
	sf_close(sf);
	return pcm;
}

/* The first n samples of `path` are those of message `seed`. */
static void
assert_samples(const char *path, unsigned seed, size_t n)
{
	size_t have, i, bad = 0;
	int16_t *pcm = read_wav(path, &have);

	CU_ASSERT_EQUAL(have, n);
	for (i = 0; i < have && i < n; i++)
		bad += pcm[i] != sample(seed, i);
	CU_ASSERT_EQUAL(bad, 0);
	free(pcm);
}

static json_t *
load_json(const char *path)
{
	json_error_t err;
	json_t *o = json_load_file(path, 0, &err);

	if (o == NULL)
		fprintf(stderr, "\n%s: %s\n", path, err.text);
	CU_ASSERT_FATAL(json_is_object(o));
	return o;
}

static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Writes `n` samples of message `seed` from sample `from` on, in packets of 160 (20 ms). */
static void
write_samples(struct um_recording *r, unsigned seed, size_t from, size_t n)
{
	int16_t pkt[160];
	size_t i, k;

	while (n > 0) {
		k = n < 160 ? n : 160;
		for (i = 0; i < k; i++)
			pkt[i] = sample(seed, from + i);
		CU_ASSERT_EQUAL_FATAL(um_recording_write(r, pkt, k), UM_OK);
		from += k;
		n -= k;
	}
}

static struct um_spool *
open_spool(const char *dir)
{
	struct um_spool *s = NULL;
	enum um_err e = um_spool_open(dir, &s);

	if (e != UM_OK)
		fprintf(stderr, "\nopen %s: %s\n", dir, um_errdetail());
	CU_ASSERT_EQUAL_FATAL(e, UM_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

/* Begins message `seed`, writes n samples and closes the spool without finishing it: the pair
 * stays in tmp/ as a crash would leave it (with a correct header). Its ID into id. */
static void
leave_in_tmp(const char *dir, unsigned seed, size_t n, char id[UM_SPOOL_ID_MAX + 1])
{
	struct um_spool *s = open_spool(dir);
	struct um_recording *r = NULL;

	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	snprintf(id, UM_SPOOL_ID_MAX + 1, "%s", um_recording_id(r));
	write_samples(r, seed, 0, n);
	um_spool_close(s);
	CU_ASSERT_FATAL(exists(pathf("%s/tmp/%s.wav", dir, id)));
	CU_ASSERT_FATAL(exists(pathf("%s/tmp/%s.json", dir, id)));
}

struct seen {
	size_t n;
	char id[8][UM_SPOOL_ID_MAX + 1];
	double seconds[8];
};

static void
on_recovered(void *arg, const char *id, double seconds)
{
	struct seen *v = arg;

	if (v->n < 8) {
		snprintf(v->id[v->n], sizeof(v->id[0]), "%s", id);
		v->seconds[v->n] = seconds;
	}
	v->n++;
}

/* Opens the spool, recovers, closes; what was recovered into *v. */
static enum um_err
recover(const char *dir, struct seen *v, size_t *count)
{
	struct um_spool *s = open_spool(dir);
	enum um_err e;

	memset(v, 0, sizeof(*v));
	e = um_spool_recover(s, on_recovered, v, count);
	um_spool_close(s);
	return e;
}

/* --- tests ---------------------------------------------------------------------------------- */

static void
test_open(void)
{
	char *top, *dir = fresh(&top);
	struct um_spool *s = open_spool(dir), *again = (struct um_spool *)1;
	struct um_recording *r = NULL;
	const char *id;
	size_t i;

	CU_ASSERT_EQUAL(mode_of(dir), 0700);
	CU_ASSERT_EQUAL(mode_of(pathf("%s/tmp", dir)), 0700);
	CU_ASSERT_EQUAL(mode_of(pathf("%s/new", dir)), 0700);
	CU_ASSERT_EQUAL(mode_of(pathf("%s/sent", dir)), 0700);
	CU_ASSERT_EQUAL(mode_of(pathf("%s/failed", dir)), 0700);
	/* One process a spool. */
	CU_ASSERT_EQUAL(um_spool_open(dir, &again), UM_ERR_SPOOL);
	CU_ASSERT_PTR_NULL(again);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "in use by another process"));
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), dir));
	/* The ID: the start in UTC, then eight hex digits. */
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	id = um_recording_id(r);
	CU_ASSERT_EQUAL(strlen(id), 25);
	CU_ASSERT_EQUAL(strncmp(id, "20261202T071500Z-", 17), 0);
	for (i = 17; i < 25; i++)
		CU_ASSERT_PTR_NOT_NULL(strchr("0123456789abcdef", id[i]));
	um_recording_abort(r);
	um_spool_close(s);
	um_spool_close(NULL);
	/* Closed: the lock is gone. */
	s = open_spool(dir);
	CU_ASSERT_EQUAL(um_spool_recover(s, NULL, NULL, NULL), UM_OK);
	um_spool_close(s);
	cleanup(top, dir);
}

static void
test_open_errors(void)
{
	char *top, *dir = fresh(&top);
	struct um_spool *s = (struct um_spool *)1;

	tu_write_file(dir, "x", 1, 0600);
	CU_ASSERT_EQUAL(um_spool_open(dir, &s), UM_ERR_SPOOL);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), dir));
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "exists and is not a directory"));
	CU_ASSERT_EQUAL(um_spool_open(pathf("%s/spool", dir), &s), UM_ERR_SPOOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "Not a directory"));
	CU_ASSERT_EQUAL(unlink(dir), 0);
	/* A file where new/ goes. */
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	tu_write_file(pathf("%s/new", dir), "x", 1, 0600);
	CU_ASSERT_EQUAL(um_spool_open(dir, &s), UM_ERR_SPOOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), pathf("%s/new exists", dir)));
	/* Missing parents are made (mkdir -p: a fresh /var/lib/umedge); the spool itself is 0700.
	 */
	{
		struct stat st;

		CU_ASSERT_EQUAL(um_spool_open(pathf("%s/no/spool", top), &s), UM_OK);
		um_spool_close(s);
		s = NULL;
		CU_ASSERT_EQUAL(stat(pathf("%s/no/spool", top), &st), 0);
		CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
		CU_ASSERT_EQUAL(stat(pathf("%s/no", top), &st), 0);
		CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
		tu_rmrf(pathf("%s/no", top));
	}
	CU_ASSERT_EQUAL(um_spool_open("", &s), UM_ERR_INVAL);
	cleanup(top, dir);
}

static void
test_commit(void)
{
	char *top, *dir = fresh(&top), id[UM_SPOOL_ID_MAX + 1], id2[UM_SPOOL_ID_MAX + 1];
	struct um_spool *s = open_spool(dir);
	struct um_recording *r = NULL;
	struct um_spool_meta m2 = {.call_id = "c2",
	                           .from = "sip:x@y",
	                           .to = "sip:1002@um1",
	                           .gateway = "gw2",
	                           .media = "RTP"};
	struct results rs;
	json_t *o;
	char *text, iso[2][32];
	time_t before = time(NULL), after;

	results_init(&rs, dir);
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	snprintf(id, sizeof(id), "%s", um_recording_id(r));
	write_samples(r, 1, 0, 12345);
	um_recording_finish(r, false, on_done, &rs);
	wait_results(&rs, 1);
	CU_ASSERT_STRING_EQUAL(rs.r[0].id, id);
	CU_ASSERT_FALSE(rs.r[0].failed);
	CU_ASSERT_DOUBLE_EQUAL(rs.r[0].seconds, 12345 / 8000.0, 1e-9);
	CU_ASSERT(rs.r[0].wav_there && rs.r[0].json_there);

	assert_samples(pathf("%s/new/%s.wav", dir, id), 1, 12345);
	CU_ASSERT_EQUAL(mode_of(pathf("%s/new/%s.wav", dir, id)), 0600);
	CU_ASSERT_EQUAL(mode_of(pathf("%s/new/%s.json", dir, id)), 0600);
	o = load_json(pathf("%s/new/%s.json", dir, id));
	CU_ASSERT_EQUAL(json_object_size(o), 10);
	CU_ASSERT_STRING_EQUAL(str(o, "id"), id);
	CU_ASSERT_STRING_EQUAL(str(o, "call_id"), meta.call_id);
	CU_ASSERT_STRING_EQUAL(str(o, "from"), meta.from);
	CU_ASSERT_STRING_EQUAL(str(o, "to"), meta.to);
	CU_ASSERT_STRING_EQUAL(str(o, "gateway"), "gw1");
	CU_ASSERT_STRING_EQUAL(str(o, "started"), "2026-12-02T07:15:00Z");
	CU_ASSERT(json_is_number(json_object_get(o, "seconds")));
	CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "seconds")), 1.543125, 1e-9);
	CU_ASSERT_STRING_EQUAL(str(o, "media"), "AES_CM_128_HMAC_SHA1_80");
	CU_ASSERT(json_is_false(json_object_get(o, "truncated")));
	CU_ASSERT_STRING_EQUAL(str(o, "um_thumbprint"), THUMB);
	json_decref(o);
	text = tu_read_file(pathf("%s/new/%s.json", dir, id), NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"seconds\": 1.543125,"));
	free(text);
	CU_ASSERT_EQUAL(count_files(pathf("%s/tmp", dir)), 0);

	/* No thumbprint, truncated by the caller, started now; SIP text that is not UTF-8. */
	m2.from = "\"M\xfcller\" <sip:x@y>";
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &m2, &r), UM_OK);
	snprintf(id2, sizeof(id2), "%s", um_recording_id(r));
	CU_ASSERT_STRING_NOT_EQUAL(id, id2);
	write_samples(r, 2, 0, 8000);
	um_recording_finish(r, true, on_done, &rs);
	wait_results(&rs, 2);
	CU_ASSERT_FALSE(rs.r[1].failed);
	o = load_json(pathf("%s/new/%s.json", dir, id2));
	CU_ASSERT(json_is_null(json_object_get(o, "um_thumbprint")));
	CU_ASSERT(json_is_true(json_object_get(o, "truncated")));
	CU_ASSERT_STRING_EQUAL(str(o, "media"), "RTP");
	CU_ASSERT_STRING_EQUAL(str(o, "from"), "\"M?ller\" <sip:x@y>");
	CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "seconds")), 1.0, 1e-9);
	/* started 0: now (ISO 8601 sorts as time does). */
	after = time(NULL);
	strftime(iso[0], sizeof(iso[0]), "%Y-%m-%dT%H:%M:%SZ", gmtime(&before));
	strftime(iso[1], sizeof(iso[1]), "%Y-%m-%dT%H:%M:%SZ", gmtime(&after));
	CU_ASSERT(strcmp(str(o, "started"), iso[0]) >= 0 && strcmp(str(o, "started"), iso[1]) <= 0);
	json_decref(o);
	assert_samples(pathf("%s/new/%s.wav", dir, id2), 2, 8000);

	/* A message with no samples: committed, 0 seconds. */
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	um_recording_finish(r, false, on_done, &rs);
	wait_results(&rs, 3);
	CU_ASSERT_FALSE(rs.r[2].failed);
	CU_ASSERT_DOUBLE_EQUAL(rs.r[2].seconds, 0, 1e-9);
	assert_samples(pathf("%s/new/%s.wav", dir, rs.r[2].id), 0, 0);

	CU_ASSERT_EQUAL(um_spool_begin(s, NULL, &r), UM_ERR_INVAL);
	CU_ASSERT_PTR_NULL(r);
	um_spool_close(s);
	CU_ASSERT_EQUAL(count_files(pathf("%s/new", dir)), 6);
	results_destroy(&rs);
	cleanup(top, dir);
}

/* The order of new/ as inotify sees it: ID.wav renamed in before ID.json is even created. */
static void
test_json_last(void)
{
	char *top, *dir = fresh(&top), id[UM_SPOOL_ID_MAX + 1], buf[8192], order[4096] = "";
	struct um_spool *s = open_spool(dir);
	struct um_recording *r = NULL;
	struct inotify_event *ev;
	struct results rs;
	ssize_t n;
	char *p, *q;
	int fd;

	results_init(&rs, dir);
	fd = inotify_init1(IN_NONBLOCK);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(inotify_add_watch(fd, pathf("%s/new", dir), IN_CREATE | IN_MOVED_TO) >= 0);
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	snprintf(id, sizeof(id), "%s", um_recording_id(r));
	write_samples(r, 3, 0, 4000);
	um_recording_finish(r, false, on_done, &rs);
	wait_results(&rs, 1);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (struct inotify_event *)p;
			snprintf(order + strlen(order), sizeof(order) - strlen(order), "%s %s\n",
			         ev->mask & IN_CREATE ? "create" : "moved", ev->name);
		}
	}
	close(fd);
	/* The WAV, then the JSON's temporary (created), then the JSON itself. */
	p = strstr(order, pathf("moved %s.wav\n", id));
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	q = strstr(order, ".json");
	CU_ASSERT(q == NULL || q > p);
	CU_ASSERT_PTR_NOT_NULL(strstr(p, pathf("create .%s.json.tmp.", id)));
	CU_ASSERT_PTR_NOT_NULL(strstr(p, pathf("moved %s.json\n", id)));
	um_spool_close(s);
	results_destroy(&rs);
	cleanup(top, dir);
}

static void
test_abort(void)
{
	char *top, *dir = fresh(&top);
	struct um_spool *s = open_spool(dir);
	struct um_recording *r = NULL;
	struct gate g;

	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	write_samples(r, 4, 0, 8000 + 100);
	um_recording_abort(r);
	/* Aborted at once, before its files were even made. */
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	um_recording_abort(r);
	um_recording_abort(NULL);
	/* Aborted while the writer is held: its queued samples are taken back. */
	gate_close(s, &g);
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	write_samples(r, 4, 0, 80000);
	um_recording_abort(r);
	gate_open(&g);
	um_spool_close(s);
	gate_destroy(&g);
	CU_ASSERT_EQUAL(count_files(pathf("%s/tmp", dir)), 0);
	CU_ASSERT_EQUAL(count_files(pathf("%s/new", dir)), 2); /* the gate's message */
	cleanup(top, dir);
}

/* A pair left in tmp/ (the spool closed with the message unfinished) recovered into new/. */
static void
test_recover_pair(void)
{
	char *top, *dir = fresh(&top), id[UM_SPOOL_ID_MAX + 1];
	struct seen v;
	size_t count = 99;
	json_t *o;

	leave_in_tmp(dir, 5, 20000, id);
	/* um_spool_close left the header correct. */
	assert_samples(pathf("%s/tmp/%s.wav", dir, id), 5, 20000);
	CU_ASSERT_EQUAL(recover(dir, &v, &count), UM_OK);
	CU_ASSERT_EQUAL(count, 1);
	CU_ASSERT_EQUAL_FATAL(v.n, 1);
	CU_ASSERT_STRING_EQUAL(v.id[0], id);
	CU_ASSERT_DOUBLE_EQUAL(v.seconds[0], 2.5, 1e-9);
	assert_samples(pathf("%s/new/%s.wav", dir, id), 5, 20000);
	o = load_json(pathf("%s/new/%s.json", dir, id));
	CU_ASSERT_EQUAL(json_object_size(o), 10);
	CU_ASSERT_STRING_EQUAL(str(o, "id"), id);
	CU_ASSERT_STRING_EQUAL(str(o, "call_id"), meta.call_id);
	CU_ASSERT_STRING_EQUAL(str(o, "from"), meta.from);
	CU_ASSERT_STRING_EQUAL(str(o, "to"), meta.to);
	CU_ASSERT_STRING_EQUAL(str(o, "gateway"), meta.gateway);
	CU_ASSERT_STRING_EQUAL(str(o, "started"), "2026-12-02T07:15:00Z");
	CU_ASSERT_STRING_EQUAL(str(o, "media"), meta.media);
	CU_ASSERT_STRING_EQUAL(str(o, "um_thumbprint"), THUMB);
	CU_ASSERT(json_is_true(json_object_get(o, "truncated")));
	CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "seconds")), 2.5, 1e-9);
	json_decref(o);
	CU_ASSERT_EQUAL(mode_of(pathf("%s/new/%s.wav", dir, id)), 0600);
	CU_ASSERT_EQUAL(count_files(pathf("%s/tmp", dir)), 0);
	/* Nothing more the second time. */
	CU_ASSERT_EQUAL(recover(dir, &v, &count), UM_OK);
	CU_ASSERT_EQUAL(count, 0);
	cleanup(top, dir);
}

/*
 * A child records in real time (20 ms packets) and tells how many samples it handed over; it is
 * killed with SIGKILL after three seconds. libsndfile's header in tmp/ says (nearly) what is
 * there, and recovery keeps all but at most the last ~second.
 */
static void
test_recover_kill(void)
{
	char *top, *dir = fresh(&top), id[UM_SPOOL_ID_MAX + 1] = "";
	struct um_spool *s;
	struct um_recording *r = NULL;
	struct timespec tick = {0, 20 * 1000 * 1000};
	int16_t pkt[160];
	size_t written = 0, i, idlen, have;
	struct seen v;
	SF_INFO info;
	SNDFILE *sf;
	unsigned char size[4];
	size_t header;
	int pfd[2], status, fd;
	uint64_t got;
	pid_t pid;
	ssize_t n;
	json_t *o;
	int16_t *pcm;

	CU_ASSERT_EQUAL_FATAL(pipe(pfd), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (um_spool_open(dir, &s) != UM_OK || um_spool_begin(s, &meta, &r) != UM_OK)
			_exit(1);
		idlen = strlen(um_recording_id(r));
		if (write(pfd[1], &idlen, sizeof(idlen)) != sizeof(idlen) ||
		    write(pfd[1], um_recording_id(r), idlen) != (ssize_t)idlen)
			_exit(1);
		for (;;) {
			for (i = 0; i < 160; i++)
				pkt[i] = sample(6, written + i);
			if (um_recording_write(r, pkt, 160) != UM_OK)
				_exit(1);
			written += 160;
			got = written;
			if (write(pfd[1], &got, sizeof(got)) != sizeof(got))
				_exit(1);
			nanosleep(&tick, NULL);
		}
	}
	close(pfd[1]);
	CU_ASSERT_EQUAL_FATAL(read(pfd[0], &idlen, sizeof(idlen)), sizeof(idlen));
	CU_ASSERT_FATAL(idlen <= UM_SPOOL_ID_MAX);
	CU_ASSERT_EQUAL_FATAL(read(pfd[0], id, idlen), (ssize_t)idlen);
	id[idlen] = '\0';
	/* 3.25 s: not on a half-second boundary, so some samples are not handed to the writer. */
	while ((n = read(pfd[0], &got, sizeof(got))) == sizeof(got) && got < 26000)
		;
	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(pfd[0]);
	CU_ASSERT_EQUAL_FATAL(n, sizeof(got));
	written = (size_t)got;

	/*
	 * What the header says, as the kill left it. libsndfile would read a WAV whose header
	 * was never updated too ("wasn't closed properly", it takes the file's size): so the data
	 * chunk's size is read from the bytes, to see that libsndfile kept it current.
	 */
	memset(&info, 0, sizeof(info));
	sf = sf_open(pathf("%s/tmp/%s.wav", dir, id), SFM_READ, &info);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
	sf_close(sf);
	fd = open(pathf("%s/tmp/%s.wav", dir, id), O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, size, 4, 40), 4);
	close(fd);
	header = (size_t)size[0] | (size_t)size[1] << 8 | (size_t)size[2] << 16 |
	         (size_t)size[3] << 24;
	fprintf(stderr, "\n  [killed after %zu samples handed over; header: %zu, libsndfile: %lld]",
	        written, header / 2, (long long)info.frames);
	CU_ASSERT(header / 2 + 8800 >= written);
	CU_ASSERT_EQUAL(header / 2, (size_t)info.frames);

	CU_ASSERT_EQUAL(recover(dir, &v, NULL), UM_OK);
	CU_ASSERT_EQUAL_FATAL(v.n, 1);
	CU_ASSERT_STRING_EQUAL(v.id[0], id);
	CU_ASSERT(v.seconds[0] >= written / 8000.0 - 1.1);
	CU_ASSERT(v.seconds[0] <= (written + 160) / 8000.0); /* a packet more may have gone */
	fprintf(stderr, " [recovered %.3f s of %.3f]\n", v.seconds[0], written / 8000.0);
	pcm = read_wav(pathf("%s/new/%s.wav", dir, id), &have);
	CU_ASSERT_DOUBLE_EQUAL(have / 8000.0, v.seconds[0], 1e-9);
	for (i = 0; i < have; i++)
		if (pcm[i] != sample(6, i))
			break;
	CU_ASSERT_EQUAL(i, have);
	free(pcm);
	o = load_json(pathf("%s/new/%s.json", dir, id));
	CU_ASSERT(json_is_true(json_object_get(o, "truncated")));
	CU_ASSERT_STRING_EQUAL(str(o, "call_id"), meta.call_id);
	json_decref(o);
	cleanup(top, dir);
}

/* Rewrites `len` bytes at `off` of a file. */
static void
poke(const char *path, off_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, data, len, off), (ssize_t)len);
	close(fd);
}

/* A header zeroed, one stale (says less than the file holds): every sample recovered. */
static void
test_recover_bad_header(void)
{
	static const char zeros[44];
	char *top, *dir = fresh(&top), id[UM_SPOOL_ID_MAX + 1], id2[UM_SPOOL_ID_MAX + 1];
	struct seen v;
	size_t count;

	leave_in_tmp(dir, 7, 12000, id);
	poke(pathf("%s/tmp/%s.wav", dir, id), 0, zeros, sizeof(zeros));
	leave_in_tmp(dir, 8, 16000, id2);
	poke(pathf("%s/tmp/%s.wav", dir, id2), 40, "\x10\0\0\0", 4); /* data: 8 samples */
	CU_ASSERT_EQUAL(recover(dir, &v, &count), UM_OK);
	CU_ASSERT_EQUAL(count, 2);
	assert_samples(pathf("%s/new/%s.wav", dir, id), 7, 12000);
	assert_samples(pathf("%s/new/%s.wav", dir, id2), 8, 16000);
	cleanup(top, dir);
}

/* tmp/ID.wav without its metadata, and WAVs with no samples: kept, fields null, 0 seconds. */
static void
test_recover_wav_only(void)
{
	char *top, *dir = fresh(&top), id[UM_SPOOL_ID_MAX + 1];
	const char *empty = "20261202T071501Z-00000001", *cut = "20261202T071502Z-00000002";
	struct seen v;
	size_t count;
	json_t *o;

	leave_in_tmp(dir, 9, 4000, id);
	CU_ASSERT_EQUAL(unlink(pathf("%s/tmp/%s.json", dir, id)), 0);
	tu_write_file(pathf("%s/tmp/%s.wav", dir, empty), "", 0, 0600);
	tu_write_file(pathf("%s/tmp/%s.wav", dir, cut), "RIFF\x24\0\0\0WAVEfmt ", 16, 0600);
	CU_ASSERT_EQUAL(recover(dir, &v, &count), UM_OK);
	CU_ASSERT_EQUAL(count, 3);
	CU_ASSERT_EQUAL_FATAL(v.n, 3);
	/* In the IDs' order: by time. */
	CU_ASSERT_STRING_EQUAL(v.id[0], id);
	CU_ASSERT_STRING_EQUAL(v.id[1], empty);
	CU_ASSERT_STRING_EQUAL(v.id[2], cut);
	CU_ASSERT_DOUBLE_EQUAL(v.seconds[1], 0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(v.seconds[2], 0, 1e-9);
	assert_samples(pathf("%s/new/%s.wav", dir, id), 9, 4000);
	assert_samples(pathf("%s/new/%s.wav", dir, empty), 0, 0);
	assert_samples(pathf("%s/new/%s.wav", dir, cut), 0, 0);
	o = load_json(pathf("%s/new/%s.json", dir, id));
	CU_ASSERT_EQUAL(json_object_size(o), 10);
	CU_ASSERT_STRING_EQUAL(str(o, "id"), id);
	CU_ASSERT_STRING_EQUAL(str(o, "started"), "2026-12-02T07:15:00Z");
	CU_ASSERT(json_is_null(json_object_get(o, "call_id")));
	CU_ASSERT(json_is_null(json_object_get(o, "from")));
	CU_ASSERT(json_is_null(json_object_get(o, "media")));
	CU_ASSERT(json_is_null(json_object_get(o, "um_thumbprint")));
	CU_ASSERT(json_is_true(json_object_get(o, "truncated")));
	CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "seconds")), 0.5, 1e-9);
	json_decref(o);
	o = load_json(pathf("%s/new/%s.json", dir, empty));
	CU_ASSERT_STRING_EQUAL(str(o, "started"), "2026-12-02T07:15:01Z");
	CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "seconds")), 0, 1e-9);
	json_decref(o);
	cleanup(top, dir);
}

/* A commit cut between its steps, an abort cut short, temporaries, names that are not ours. */
static void
test_recover_json_only(void)
{
	char *top, *dir = fresh(&top), a[UM_SPOOL_ID_MAX + 1], b[UM_SPOOL_ID_MAX + 1],
	           c[UM_SPOOL_ID_MAX + 1];
	struct um_spool *s;
	struct um_recording *r = NULL;
	struct results rs;
	struct seen v;
	size_t count;
	json_t *o;
	char *before, *after;

	results_init(&rs, dir);
	/* a: its WAV renamed to new/, new/ID.json not written yet. */
	leave_in_tmp(dir, 10, 8000, a);
	CU_ASSERT_EQUAL(rename(pathf("%s/tmp/%s.wav", dir, a), pathf("%s/new/%s.wav", dir, a)), 0);
	/* b: committed, but tmp/ID.json not removed yet. */
	s = open_spool(dir);
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	snprintf(b, sizeof(b), "%s", um_recording_id(r));
	write_samples(r, 11, 0, 800);
	um_recording_finish(r, false, on_done, &rs);
	um_spool_close(s);
	CU_ASSERT_EQUAL_FATAL(rs.n, 1);
	tu_write_file(pathf("%s/tmp/%s.json", dir, b), "{}", 2, 0600);
	/* c: aborted, its WAV removed but not its JSON. */
	leave_in_tmp(dir, 12, 800, c);
	CU_ASSERT_EQUAL(unlink(pathf("%s/tmp/%s.wav", dir, c)), 0);
	/* Leftovers of the spool's own writes; a file that is not the spool's. */
	tu_write_file(pathf("%s/tmp/.%s.wav.fix", dir, c), "x", 1, 0600);
	tu_write_file(pathf("%s/tmp/.%s.json.tmp.a1b2c3d4e5f6", dir, c), "{", 1, 0600);
	tu_write_file(pathf("%s/tmp/README", dir), "mine", 4, 0600);
	before = tu_read_file(pathf("%s/new/%s.json", dir, b), NULL);

	CU_ASSERT_EQUAL(recover(dir, &v, &count), UM_OK);
	CU_ASSERT_EQUAL(count, 1);
	CU_ASSERT_EQUAL_FATAL(v.n, 1);
	CU_ASSERT_STRING_EQUAL(v.id[0], a);
	CU_ASSERT_DOUBLE_EQUAL(v.seconds[0], 1.0, 1e-9);
	o = load_json(pathf("%s/new/%s.json", dir, a));
	CU_ASSERT_STRING_EQUAL(str(o, "id"), a);
	CU_ASSERT_STRING_EQUAL(str(o, "call_id"), meta.call_id);
	CU_ASSERT(json_is_true(json_object_get(o, "truncated")));
	CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(o, "seconds")), 1.0, 1e-9);
	json_decref(o);
	assert_samples(pathf("%s/new/%s.wav", dir, a), 10, 8000);
	after = tu_read_file(pathf("%s/new/%s.json", dir, b), NULL);
	CU_ASSERT_STRING_EQUAL(before, after); /* b's commit untouched */
	free(before);
	free(after);
	CU_ASSERT_FALSE(exists(pathf("%s/new/%s.wav", dir, c)));
	CU_ASSERT_FALSE(exists(pathf("%s/new/%s.json", dir, c)));
	/* tmp/ holds only what is not the spool's. */
	CU_ASSERT_EQUAL(count_files(pathf("%s/tmp", dir)), 1);
	CU_ASSERT(exists(pathf("%s/tmp/README", dir)));

	/* Recovery is for start-up only. */
	s = open_spool(dir);
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	CU_ASSERT_EQUAL(um_spool_recover(s, NULL, NULL, &count), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(count, 0);
	um_recording_abort(r);
	um_spool_close(s);
	results_destroy(&rs);
	cleanup(top, dir);
}

struct worker {
	struct um_spool *s;
	struct results *rs;
	unsigned seed;
	size_t n;
	char id[UM_SPOOL_ID_MAX + 1];
};

static void *
record(void *arg)
{
	struct worker *w = arg;
	struct um_recording *r = NULL;

	if (um_spool_begin(w->s, &meta, &r) != UM_OK)
		return NULL;
	snprintf(w->id, sizeof(w->id), "%s", um_recording_id(r));
	write_samples(r, w->seed, 0, w->n);
	um_recording_finish(r, false, on_done, w->rs);
	return NULL;
}

static void
test_concurrent(void)
{
	char *top, *dir = fresh(&top);
	struct um_spool *s = open_spool(dir);
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct results rs;
	size_t i, j, failed = 0;

	results_init(&rs, dir);
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){
		        .s = s, .rs = &rs, .seed = 100 + (unsigned)i, .n = 8000 + 397 * i};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, record, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	wait_results(&rs, THREADS);
	for (i = 0; i < THREADS; i++) {
		failed += rs.r[i].failed;
		CU_ASSERT(rs.r[i].wav_there && rs.r[i].json_there);
		for (j = 0; j < THREADS; j++)
			if (i != j)
				CU_ASSERT_STRING_NOT_EQUAL(w[i].id, w[j].id);
		assert_samples(pathf("%s/new/%s.wav", dir, w[i].id), w[i].seed, w[i].n);
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(um_spool_dropped(s), 0);
	um_spool_close(s);
	CU_ASSERT_EQUAL(count_files(pathf("%s/new", dir)), 2 * THREADS);
	results_destroy(&rs);
	cleanup(top, dir);
}

/* Work queued when the spool is closed is done: finished messages committed, done() called. */
static void
test_close_commits(void)
{
	char *top, *dir = fresh(&top);
	struct um_spool *s = open_spool(dir);
	struct um_recording *r = NULL, *r2 = NULL;
	struct results rs;
	struct gate g;

	results_init(&rs, dir);
	gate_close(s, &g);
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	write_samples(r, 13, 0, 30000);
	um_recording_finish(r, false, on_done, &rs);
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r2), UM_OK);
	write_samples(r2, 14, 0, 5000);
	um_recording_finish(r2, false, on_done, &rs);
	CU_ASSERT_EQUAL(rs.n, 0);
	gate_open(&g);
	um_spool_close(s);
	gate_destroy(&g);
	CU_ASSERT_EQUAL_FATAL(rs.n, 2);
	CU_ASSERT_FALSE(rs.r[0].failed);
	CU_ASSERT_FALSE(rs.r[1].failed);
	assert_samples(pathf("%s/new/%s.wav", dir, rs.r[0].id), 13, 30000);
	assert_samples(pathf("%s/new/%s.wav", dir, rs.r[1].id), 14, 5000);
	CU_ASSERT(exists(pathf("%s/new/%s.json", dir, rs.r[1].id)));
	CU_ASSERT_EQUAL(count_files(pathf("%s/tmp", dir)), 0);
	results_destroy(&rs);
	cleanup(top, dir);
}

/*
 * The writer held: a recording's writes are kept up to UM_SPOOL_MAX_BACKLOG, then dropped and
 * counted; the message (what was kept) is committed marked truncated.
 */
static void
test_backlog(void)
{
	char *top, *dir = fresh(&top);
	struct um_spool *s = open_spool(dir);
	struct um_recording *r = NULL;
	static int16_t block[8000];
	size_t kept = 0, i, max = UM_SPOOL_MAX_BACKLOG / sizeof(int16_t);
	struct results rs;
	struct gate g;
	enum um_err e = UM_OK;
	json_t *o;

	results_init(&rs, dir);
	for (i = 0; i < 8000; i++)
		block[i] = sample(15, i);
	gate_close(s, &g);
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	for (i = 0; i < 2 * max / 8000 && (e = um_recording_write(r, block, 8000)) == UM_OK; i++)
		kept += 8000;
	CU_ASSERT_EQUAL(e, UM_ERR_SPOOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "behind"));
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), um_recording_id(r)));
	/* Kept: the bound, within a chunk. */
	CU_ASSERT(kept <= max && kept + 2 * UM_SPOOL_FLUSH_SAMPLES + 8000 >= max);
	CU_ASSERT(um_spool_dropped(s) > 0 && um_spool_dropped(s) <= 8000);
	kept += 8000 - um_spool_dropped(s); /* the part of the last write that fitted */
	CU_ASSERT_EQUAL(um_recording_write(r, block, 100), UM_ERR_SPOOL);
	gate_open(&g);
	um_recording_finish(r, false, on_done, &rs);
	wait_results(&rs, 1);
	CU_ASSERT_FALSE(rs.r[0].failed);
	CU_ASSERT_DOUBLE_EQUAL(rs.r[0].seconds, kept / 8000.0, 1e-9);
	o = load_json(pathf("%s/new/%s.json", dir, rs.r[0].id));
	CU_ASSERT(json_is_true(json_object_get(o, "truncated")));
	json_decref(o);
	/* Caught up: a new recording writes again. */
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	CU_ASSERT_EQUAL(um_recording_write(r, block, 8000), UM_OK);
	um_recording_abort(r);
	CU_ASSERT_EQUAL(um_recording_write(NULL, block, 1), UM_ERR_INVAL);
	um_spool_close(s);
	gate_destroy(&g);
	results_destroy(&rs);
	cleanup(top, dir);
}

/* tmp/ID.wav cannot be made (something in its place): writes dropped, done() says why. */
static void
test_create_fails(void)
{
	char *top, *dir = fresh(&top), id[UM_SPOOL_ID_MAX + 1];
	struct um_spool *s = open_spool(dir);
	struct um_recording *r = NULL;
	struct results rs;
	struct gate g;
	int16_t pkt[160] = {0};
	size_t i;
	enum um_err e = UM_OK;

	results_init(&rs, dir);
	gate_close(s, &g);
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	snprintf(id, sizeof(id), "%s", um_recording_id(r));
	CU_ASSERT_EQUAL_FATAL(mkdir(pathf("%s/tmp/%s.wav", dir, id), 0700), 0);
	gate_open(&g);
	/* The writer finds out; from then on the recording drops. */
	for (i = 0; i < 1000 && (e = um_recording_write(r, pkt, 160)) == UM_OK; i++)
		usleep(2000);
	CU_ASSERT_EQUAL(e, UM_ERR_SPOOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "failed on disk"));
	um_recording_finish(r, false, on_done, &rs);
	wait_results(&rs, 1);
	CU_ASSERT_TRUE(rs.r[0].failed);
	CU_ASSERT_PTR_NOT_NULL(strstr(rs.r[0].error, pathf("%s/tmp/%s.wav", dir, id)));
	CU_ASSERT_PTR_NOT_NULL(strstr(rs.r[0].error, "File exists"));
	CU_ASSERT(um_spool_dropped(s) > 0);
	um_spool_close(s);
	gate_destroy(&g);
	/* What was in the way is untouched, nothing was committed. */
	CU_ASSERT_EQUAL(mode_of(pathf("%s/tmp/%s.wav", dir, id)) & 0777, 0700);
	CU_ASSERT_FALSE(exists(pathf("%s/new/%s.json", dir, id)));
	results_destroy(&rs);
	cleanup(top, dir);
}

/* new/ID.wav is taken: the commit fails, nothing is replaced, the message stays in tmp/. */
static void
test_commit_fails(void)
{
	char *top, *dir = fresh(&top), id[UM_SPOOL_ID_MAX + 1];
	struct um_spool *s = open_spool(dir);
	struct um_recording *r = NULL;
	struct results rs;
	char *text;

	results_init(&rs, dir);
	CU_ASSERT_EQUAL_FATAL(um_spool_begin(s, &meta, &r), UM_OK);
	snprintf(id, sizeof(id), "%s", um_recording_id(r));
	write_samples(r, 16, 0, 8000);
	tu_write_file(pathf("%s/new/%s.wav", dir, id), "someone else's", 14, 0600);
	um_recording_finish(r, false, on_done, &rs);
	wait_results(&rs, 1);
	CU_ASSERT_TRUE(rs.r[0].failed);
	CU_ASSERT_PTR_NOT_NULL(strstr(rs.r[0].error, pathf("%s/new/%s.wav", dir, id)));
	CU_ASSERT_PTR_NOT_NULL(strstr(rs.r[0].error, "File exists"));
	um_spool_close(s);
	text = tu_read_file(pathf("%s/new/%s.wav", dir, id), NULL);
	CU_ASSERT_STRING_EQUAL(text, "someone else's");
	free(text);
	CU_ASSERT_FALSE(exists(pathf("%s/new/%s.json", dir, id)));
	assert_samples(pathf("%s/tmp/%s.wav", dir, id), 16, 8000);
	results_destroy(&rs);
	cleanup(top, dir);
}

/*
 * The seam with libsndfile that recovery leans on when a message's tmp/ID.json is lost: a PCM
 * WAV's header is 44 bytes (and tmp/ID.json records it).
 */
static void
test_header_size(void)
{
	char *top, *dir = fresh(&top), id[UM_SPOOL_ID_MAX + 1];
	struct stat st;
	json_t *o;

	leave_in_tmp(dir, 17, 1000, id);
	CU_ASSERT_EQUAL(stat(pathf("%s/tmp/%s.wav", dir, id), &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 44 + 2 * 1000);
	o = load_json(pathf("%s/tmp/%s.json", dir, id));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "wav_data_offset")), 44);
	json_decref(o);
	cleanup(top, dir);
}

static CU_TestInfo tests[] = {
        {"open: layout 0700, one process, IDs", test_open},
        {"open: a file in the way; missing parents made", test_open_errors},
        {"begin, write, finish: new/ID.wav and new/ID.json", test_commit},
        {"ID.json only after ID.wav (inotify)", test_json_last},
        {"abort leaves nothing", test_abort},
        {"recovery of a tmp/ pair", test_recover_pair},
        {"recovery after kill -9 of a recording process", test_recover_kill},
        {"recovery with a zeroed or stale header", test_recover_bad_header},
        {"recovery of a WAV alone, empty or cut", test_recover_wav_only},
        {"recovery of commits and aborts cut short", test_recover_json_only},
        {"many recordings at once", test_concurrent},
        {"close commits what is queued", test_close_commits},
        {"the writer's backlog is bounded", test_backlog},
        {"a WAV that cannot be created", test_create_fails},
        {"a commit that would replace a file", test_commit_fails},
        {"libsndfile's header size", test_header_size},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_spool", tests);
}

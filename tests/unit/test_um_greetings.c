/*
 * Greetings and their cache (um/src/media/greetings.c): the default greeting, USER.wav beside it,
 * user names that cannot be file names, files that do not load, a missing default (a second of
 * silence, logged once), a changed file reloaded, and references that outlive the cache. The WAV
 * files are written here with libsndfile, from tones made with um_audio_tone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sndfile.h>

#include "media/greetings.h"
#include "testutil.h"

struct fx {
	char *top;      /* the test's directory */
	char dir[1024]; /* top/greetings: the default's folder */
	char def[1100]; /* top/greetings/default.wav */
	char logpath[1100];
	FILE *logf;
	struct cc_log *log;
	struct um_greetings *gs;
};

/* A path under the greetings folder; static buffers, four in turn. */
static const char *
at(const struct fx *x, const char *name)
{
	static char path[4][4096];
	static unsigned next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", x->dir, name);
	return p;
}

/*
 * Writes `ms` milliseconds of a tone of `hz` as a 16-bit 8 kHz mono WAV (`rate` and `channels`
 * other than 8000 and 1 make a file umd refuses).
 */
static void
write_tone_wav(const char *path, int hz, int ms, int rate, int channels)
{
	struct um_audio *a = NULL;
	SF_INFO info;
	SNDFILE *sf;
	short *buf;
	size_t i;
	int c;

	CU_ASSERT_EQUAL_FATAL(um_audio_tone(hz, ms, 8000, &a), UM_OK);
	memset(&info, 0, sizeof(info));
	info.samplerate = rate;
	info.channels = channels;
	info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	unlink(path);
	sf = sf_open(path, SFM_WRITE, &info);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
	buf = calloc(a->n * (size_t)channels, sizeof(*buf));
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (i = 0; i < a->n; i++)
		for (c = 0; c < channels; c++)
			buf[i * (size_t)channels + (size_t)c] = a->samples[i];
	CU_ASSERT_EQUAL(sf_writef_short(sf, buf, (sf_count_t)a->n), (sf_count_t)a->n);
	CU_ASSERT_EQUAL(sf_close(sf), 0);
	free(buf);
	um_audio_free(a);
}

/* A greeting of `ms` milliseconds at 8 kHz: its length in samples. */
static size_t
samples(int ms)
{
	return (size_t)ms * 8;
}

/* Sets a file's modification time `secs` seconds from now (a change a size check cannot see). */
static void
set_mtime(const char *path, long secs)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec += secs;
	ts[0].tv_nsec = 0;
	ts[1] = ts[0];
	CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* How often `needle` occurs in what was logged so far. */
static int
logged(struct fx *x, const char *needle)
{
	char *text, *p;
	int n = 0;

	fflush(x->logf);
	text = tu_read_file(x->logpath, NULL);
	if (text == NULL)
		return 0;
	for (p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(text);
	return n;
}

/* The folder and the log; the default greeting is written when `default_ms` > 0. */
static void
fx_open(struct fx *x, int default_ms)
{
	memset(x, 0, sizeof(*x));
	x->top = tu_tmpdir();
	snprintf(x->dir, sizeof(x->dir), "%s/greetings", x->top);
	CU_ASSERT_EQUAL_FATAL(mkdir(x->dir, 0700), 0);
	snprintf(x->def, sizeof(x->def), "%s/default.wav", x->dir);
	snprintf(x->logpath, sizeof(x->logpath), "%s/umd.log", x->top);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x->logf = fopen(x->logpath, "w"));
	setvbuf(x->logf, NULL, _IOLBF, 0);
	CU_ASSERT_EQUAL_FATAL(cc_log_new(CC_LOG_TEXT, x->logf, "umd", false, &x->log), CC_OK);
	if (default_ms > 0)
		write_tone_wav(x->def, 900, default_ms, 8000, 1);
}

static void
fx_close(struct fx *x)
{
	um_greetings_free(x->gs);
	cc_log_free(x->log);
	fclose(x->logf);
	tu_rmrf(x->top);
	free(x->top);
}

/* The greeting for `user`: its length in samples (0 when there is none), reference dropped. */
static size_t
length_for(struct fx *x, const char *user)
{
	struct um_greeting *g = um_greetings_for(x->gs, user);
	size_t n;

	CU_ASSERT_PTR_NOT_NULL(g);
	if (g == NULL)
		return 0;
	n = um_greeting_audio(g)->n;
	um_greeting_unref(g);
	return n;
}

static void
test_default(void)
{
	struct fx x;
	struct um_greeting *a, *b;
	struct um_audio *want = NULL;
	const struct um_audio *got;

	fx_open(&x, 300);
	CU_ASSERT_EQUAL_FATAL(um_greetings_new(x.def, x.log, &x.gs), UM_OK);
	a = um_greetings_for(x.gs, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	got = um_greeting_audio(a);
	/* What was written, sample for sample (PCM 16 is lossless). */
	CU_ASSERT_EQUAL_FATAL(um_audio_tone(900, 300, 8000, &want), UM_OK);
	CU_ASSERT_EQUAL(got->n, want->n);
	CU_ASSERT_EQUAL(got->n, samples(300));
	if (got->n == want->n)
		CU_ASSERT_EQUAL(memcmp(got->samples, want->samples, want->n * sizeof(int16_t)), 0);
	/* A user without a greeting of their own: the same default, the one loaded before. */
	b = um_greetings_for(x.gs, "1001");
	CU_ASSERT_PTR_EQUAL(a, b);
	um_greeting_unref(b);
	b = um_greetings_for(x.gs, "");
	CU_ASSERT_PTR_EQUAL(a, b);
	um_greeting_unref(b);
	CU_ASSERT_EQUAL(logged(&x, "warning"), 0);
	um_greeting_unref(a);
	um_audio_free(want);
	fx_close(&x);
}

static void
test_user_wins(void)
{
	struct fx x;
	struct um_greeting *a, *b;
	char name[80];

	fx_open(&x, 300);
	write_tone_wav(at(&x, "1001.wav"), 700, 500, 8000, 1);
	write_tone_wav(at(&x, "+14255550100.wav"), 700, 150, 8000, 1);
	write_tone_wav(at(&x, "a.b-c_d.wav"), 700, 120, 8000, 1);
	/* The longest name that may be a file name: 64 characters. */
	memset(name, 'u', 64);
	name[64] = '\0';
	write_tone_wav(
	        at(&x, "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu.wav"), 700,
	        110, 8000, 1);
	CU_ASSERT_EQUAL_FATAL(um_greetings_new(x.def, x.log, &x.gs), UM_OK);
	CU_ASSERT_EQUAL(length_for(&x, "1001"), samples(500));
	CU_ASSERT_EQUAL(length_for(&x, "+14255550100"), samples(150));
	CU_ASSERT_EQUAL(length_for(&x, "a.b-c_d"), samples(120));
	CU_ASSERT_EQUAL(length_for(&x, name), samples(110));
	/* Another user: the default. */
	CU_ASSERT_EQUAL(length_for(&x, "1002"), samples(300));
	CU_ASSERT_EQUAL(length_for(&x, NULL), samples(300));
	/* Kept while the file does not change: the same greeting twice. */
	a = um_greetings_for(x.gs, "1001");
	b = um_greetings_for(x.gs, "1001");
	CU_ASSERT_PTR_NOT_NULL(a);
	CU_ASSERT_PTR_EQUAL(a, b);
	um_greeting_unref(a);
	um_greeting_unref(b);
	/* A user greeting that appears after the cache was made is found. */
	write_tone_wav(at(&x, "1002.wav"), 700, 250, 8000, 1);
	CU_ASSERT_EQUAL(length_for(&x, "1002"), samples(250));
	CU_ASSERT_EQUAL(logged(&x, "warning"), 0);
	fx_close(&x);
}

static void
test_unsafe_names(void)
{
	struct fx x;
	char path[4096], name[80];
	static const char *const bad[] = {
	        "../x", "..",      ".",     ".hidden", "sub/1001", "/etc/passwd", "1001/",
	        "a b",  "1001\\x", "100%1", "1001;",   "\xc3\xa9", "1001\n",
	};
	size_t i;

	fx_open(&x, 300);
	/* Files a careless path join would reach: each a greeting of its own length. */
	snprintf(path, sizeof(path), "%s/x.wav", x.top);
	write_tone_wav(path, 700, 110, 8000, 1);
	write_tone_wav(at(&x, "..wav"), 700, 120, 8000, 1);
	write_tone_wav(at(&x, ".hidden.wav"), 700, 130, 8000, 1);
	CU_ASSERT_EQUAL_FATAL(mkdir(at(&x, "sub"), 0700), 0);
	write_tone_wav(at(&x, "sub/1001.wav"), 700, 140, 8000, 1);
	write_tone_wav(at(&x, "a b.wav"), 700, 150, 8000, 1);
	/* 65 characters: one too many, though the file is there. */
	memset(name, 'u', 65);
	name[65] = '\0';
	snprintf(path, sizeof(path), "%s/%s.wav", x.dir, name);
	write_tone_wav(path, 700, 160, 8000, 1);
	CU_ASSERT_EQUAL_FATAL(um_greetings_new(x.def, x.log, &x.gs), UM_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (length_for(&x, bad[i]) != samples(300))
			CU_FAIL("a user name that cannot be a file name got a greeting of its own");
	}
	CU_ASSERT_EQUAL(length_for(&x, name), samples(300));
	/* A name of 4 KiB: no path is made of it. */
	{
		char *huge = malloc(4097);

		CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
		memset(huge, 'u', 4096);
		huge[4096] = '\0';
		CU_ASSERT_EQUAL(length_for(&x, huge), samples(300));
		free(huge);
	}
	fx_close(&x);
}

static void
test_user_invalid(void)
{
	struct fx x;
	static const char junk[] = "RIFF\x24\x00\x00\x00WAVEjunk that is not a fmt chunk";

	fx_open(&x, 300);
	tu_write_file(at(&x, "1001.wav"), junk, sizeof(junk) - 1, 0600);
	write_tone_wav(at(&x, "1002.wav"), 700, 200, 44100, 1);
	write_tone_wav(at(&x, "1003.wav"), 700, 200, 8000, 2);
	tu_write_file(at(&x, "1004.wav"), "", 0, 0600);
	CU_ASSERT_EQUAL_FATAL(mkdir(at(&x, "1005.wav"), 0700), 0);
	CU_ASSERT_EQUAL_FATAL(um_greetings_new(x.def, x.log, &x.gs), UM_OK);
	CU_ASSERT_EQUAL(length_for(&x, "1001"), samples(300));
	CU_ASSERT_EQUAL(length_for(&x, "1002"), samples(300));
	CU_ASSERT_EQUAL(length_for(&x, "1003"), samples(300));
	CU_ASSERT_EQUAL(length_for(&x, "1004"), samples(300));
	CU_ASSERT_EQUAL(length_for(&x, "1005"), samples(300));
	/* Each is logged, naming the file and what is wrong, and that the default is played. */
	CU_ASSERT_EQUAL(logged(&x, "1001.wav"), 1);
	CU_ASSERT_EQUAL(logged(&x, "1002.wav: 44100 Hz"), 1);
	CU_ASSERT_EQUAL(logged(&x, "1003.wav"), 1);
	CU_ASSERT_EQUAL(logged(&x, "1004.wav"), 1);
	CU_ASSERT_EQUAL(logged(&x, "1005.wav"), 1);
	CU_ASSERT_EQUAL(logged(&x, "playing the default greeting"), 5);
	/* Fixed in place: the user's greeting is played from the next call on. */
	write_tone_wav(at(&x, "1002.wav"), 700, 200, 8000, 1);
	CU_ASSERT_EQUAL(length_for(&x, "1002"), samples(200));
	fx_close(&x);
}

static void
test_default_missing(void)
{
	struct fx x;
	struct um_greeting *g;
	const struct um_audio *a;
	size_t i, loud = 0;

	fx_open(&x, 0);
	write_tone_wav(at(&x, "1001.wav"), 700, 200, 8000, 1);
	CU_ASSERT_EQUAL_FATAL(um_greetings_new(x.def, x.log, &x.gs), UM_OK);
	g = um_greetings_for(x.gs, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	a = um_greeting_audio(g);
	/* One second of silence. */
	CU_ASSERT_EQUAL(a->n, 8000);
	for (i = 0; i < a->n; i++)
		loud += a->samples[i] != 0;
	CU_ASSERT_EQUAL(loud, 0);
	um_greeting_unref(g);
	CU_ASSERT_EQUAL(length_for(&x, "1002"), 8000);
	CU_ASSERT_EQUAL(length_for(&x, NULL), 8000);
	/* A user's own greeting still wins. */
	CU_ASSERT_EQUAL(length_for(&x, "1001"), samples(200));
	/* Logged once, naming the file, however many calls come. */
	CU_ASSERT_EQUAL(logged(&x, "warning"), 1);
	CU_ASSERT_EQUAL(logged(&x, "default.wav does not exist"), 1);
	/* Once the default appears, it is played. */
	write_tone_wav(x.def, 900, 300, 8000, 1);
	CU_ASSERT_EQUAL(length_for(&x, NULL), samples(300));
	fx_close(&x);

	/* A default whose folder does not exist is missing too. */
	fx_open(&x, 0);
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/nowhere/default.wav", x.top);
		CU_ASSERT_EQUAL_FATAL(um_greetings_new(path, x.log, &x.gs), UM_OK);
	}
	CU_ASSERT_EQUAL(length_for(&x, NULL), 8000);
	CU_ASSERT_EQUAL(length_for(&x, "1001"), 8000);
	CU_ASSERT_EQUAL(logged(&x, "does not exist"), 1);
	fx_close(&x);
}

/*
 * A default that exists and does not load: um_greetings_new fails, naming the file, whatever
 * errno held when it was called (`stale`: what an earlier, unrelated call left there).
 *
 * Found by this test (fixed): "missing" was decided from errno after the load, which only a
 * failed stat() had set: a directory or FIFO in the default's place, with an earlier call's
 * ENOENT left in errno, was taken for a missing default.
 */
static void
refused_with(const char *what, struct fx *x, enum um_err want, int stale)
{
	const char *detail;

	x->gs = (struct um_greetings *)&x->gs; /* set: it must come back NULL */
	errno = stale;
	CU_ASSERT_EQUAL(um_greetings_new(x->def, x->log, &x->gs), want);
	if (x->gs != (struct um_greetings *)&x->gs && x->gs != NULL) {
		fprintf(stderr, "\n%s (errno %d on entry): um_greetings_new succeeded\n", what,
		        stale);
		um_greetings_free(x->gs);
		x->gs = (struct um_greetings *)&x->gs;
		return;
	}
	CU_ASSERT_PTR_NULL(x->gs);
	detail = um_errdetail();
	if (strstr(detail, x->def) == NULL) {
		fprintf(stderr, "\n%s: the error does not name %s: %s\n", what, x->def, detail);
		CU_FAIL("the error does not name the default greeting's file");
	}
}

static void
refused(const char *what, struct fx *x, enum um_err want)
{
	refused_with(what, x, want, 0);
	refused_with(what, x, want, ENOENT);
	x->gs = NULL;
}

static void
test_default_invalid(void)
{
	struct fx x;
	static const char junk[] = "not a WAV file at all";

	fx_open(&x, 0);
	tu_write_file(x.def, junk, sizeof(junk) - 1, 0600);
	refused("junk", &x, UM_ERR_AUDIO);
	write_tone_wav(x.def, 700, 200, 16000, 1);
	refused("16 kHz", &x, UM_ERR_AUDIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "16000 Hz"));
	write_tone_wav(x.def, 700, 200, 8000, 2);
	refused("stereo", &x, UM_ERR_AUDIO);
	tu_write_file(x.def, "", 0, 0600);
	refused("empty", &x, UM_ERR_AUDIO);
	unlink(x.def);
	CU_ASSERT_EQUAL_FATAL(mkdir(x.def, 0700), 0);
	refused("a directory", &x, UM_ERR_IO);
	rmdir(x.def);
	CU_ASSERT_EQUAL_FATAL(mkfifo(x.def, 0600), 0);
	refused("a FIFO", &x, UM_ERR_IO);
	unlink(x.def);
	if (geteuid() != 0) {
		/* Root reads a file of mode 0 all the same. */
		write_tone_wav(x.def, 700, 200, 8000, 1);
		CU_ASSERT_EQUAL(chmod(x.def, 0), 0);
		refused("unreadable", &x, UM_ERR_IO);
	}
	CU_ASSERT_EQUAL(logged(&x, "does not exist"), 0);
	fx_close(&x);
}

static void
test_reload(void)
{
	struct fx x;
	struct um_greeting *old, *cur;
	struct um_audio *tone = NULL;

	fx_open(&x, 300);
	write_tone_wav(at(&x, "1001.wav"), 700, 500, 8000, 1);
	CU_ASSERT_EQUAL_FATAL(um_greetings_new(x.def, x.log, &x.gs), UM_OK);
	old = um_greetings_for(x.gs, "1001");
	CU_ASSERT_PTR_NOT_NULL_FATAL(old);
	CU_ASSERT_EQUAL(um_greeting_audio(old)->n, samples(500));

	/* A new size: reloaded; the greeting held before is still whole. */
	write_tone_wav(at(&x, "1001.wav"), 700, 600, 8000, 1);
	cur = um_greetings_for(x.gs, "1001");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cur);
	CU_ASSERT_PTR_NOT_EQUAL(cur, old);
	CU_ASSERT_EQUAL(um_greeting_audio(cur)->n, samples(600));
	CU_ASSERT_EQUAL(um_greeting_audio(old)->n, samples(500));
	um_greeting_unref(old);
	um_greeting_unref(cur);

	/* The same size, other samples, a new modification time: reloaded. */
	old = um_greetings_for(x.gs, "1001");
	write_tone_wav(at(&x, "1001.wav"), 1300, 600, 8000, 1);
	set_mtime(at(&x, "1001.wav"), -3600);
	cur = um_greetings_for(x.gs, "1001");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cur);
	CU_ASSERT_PTR_NOT_EQUAL(cur, old);
	CU_ASSERT_EQUAL_FATAL(um_audio_tone(1300, 600, 8000, &tone), UM_OK);
	CU_ASSERT_EQUAL_FATAL(um_greeting_audio(cur)->n, tone->n);
	CU_ASSERT_EQUAL(
	        memcmp(um_greeting_audio(cur)->samples, tone->samples, tone->n * sizeof(int16_t)),
	        0);
	um_audio_free(tone);
	um_greeting_unref(old);
	um_greeting_unref(cur);

	/* Unchanged: the cached greeting, not a new load. */
	old = um_greetings_for(x.gs, "1001");
	cur = um_greetings_for(x.gs, "1001");
	CU_ASSERT_PTR_EQUAL(cur, old);
	um_greeting_unref(old);
	um_greeting_unref(cur);

	/* The default changes too. */
	old = um_greetings_for(x.gs, NULL);
	write_tone_wav(x.def, 900, 400, 8000, 1);
	CU_ASSERT_EQUAL(length_for(&x, NULL), samples(400));
	CU_ASSERT_EQUAL(um_greeting_audio(old)->n, samples(300));
	um_greeting_unref(old);

	/* A default broken after the start: the one loaded before is played, and that is logged. */
	tu_write_file(x.def, "RIFF", 4, 0600);
	CU_ASSERT_EQUAL(length_for(&x, NULL), samples(400));
	CU_ASSERT(logged(&x, "playing the greeting loaded before") >= 1);
	/* A default removed after the start: the one loaded before, logged as missing once. */
	unlink(x.def);
	CU_ASSERT_EQUAL(length_for(&x, NULL), samples(400));
	CU_ASSERT_EQUAL(length_for(&x, "1002"), samples(400));
	CU_ASSERT_EQUAL(logged(&x, "does not exist"), 1);

	/* A user greeting removed: the default from then on, no greeting left cached. */
	unlink(at(&x, "1001.wav"));
	CU_ASSERT_EQUAL(length_for(&x, "1001"), samples(400));
	CU_ASSERT_EQUAL(length_for(&x, "1001"), samples(400));
	fx_close(&x);
}

static void
test_refs_outlive(void)
{
	struct fx x;
	struct um_greeting *user, *def, *extra;
	struct um_audio *want = NULL;

	fx_open(&x, 300);
	write_tone_wav(at(&x, "1001.wav"), 700, 500, 8000, 1);
	CU_ASSERT_EQUAL_FATAL(um_greetings_new(x.def, x.log, &x.gs), UM_OK);
	user = um_greetings_for(x.gs, "1001");
	def = um_greetings_for(x.gs, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(user);
	CU_ASSERT_PTR_NOT_NULL_FATAL(def);
	extra = um_greeting_ref(user);
	CU_ASSERT_PTR_EQUAL(extra, user);
	um_greetings_free(x.gs);
	x.gs = NULL;
	/* The cache is gone; what the calls hold is not (ASan would see a use after free). */
	CU_ASSERT_EQUAL_FATAL(um_audio_tone(700, 500, 8000, &want), UM_OK);
	CU_ASSERT_EQUAL_FATAL(um_greeting_audio(user)->n, want->n);
	CU_ASSERT_EQUAL(
	        memcmp(um_greeting_audio(user)->samples, want->samples, want->n * sizeof(int16_t)),
	        0);
	CU_ASSERT_EQUAL(um_greeting_audio(def)->n, samples(300));
	um_greeting_unref(user);
	CU_ASSERT_EQUAL(um_greeting_audio(extra)->samples[want->n / 2], want->samples[want->n / 2]);
	um_greeting_unref(extra);
	um_greeting_unref(def);
	um_audio_free(want);
	/* NULL is a no-op for both. */
	um_greeting_unref(NULL);
	CU_ASSERT_PTR_NULL(um_greeting_ref(NULL));
	um_greetings_free(NULL);
	fx_close(&x);
}

/* More users than the cache keeps: the oldest are dropped, a greeting held still plays. */
static void
test_many_users(void)
{
	struct fx x;
	struct um_greeting *first;
	char name[32], file[48];
	int i;

	fx_open(&x, 300);
	for (i = 0; i < 300; i++) {
		snprintf(file, sizeof(file), "%d.wav", 2000 + i);
		write_tone_wav(at(&x, file), 700, 1 + i % 7, 8000, 1);
	}
	CU_ASSERT_EQUAL_FATAL(um_greetings_new(x.def, x.log, &x.gs), UM_OK);
	first = um_greetings_for(x.gs, "2000");
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "%d", 2000 + i);
		if (length_for(&x, name) != samples(1 + i % 7))
			CU_FAIL("a user greeting of the wrong length");
	}
	/* Round again: those dropped are loaded anew. */
	for (i = 0; i < 300; i += 37) {
		snprintf(name, sizeof(name), "%d", 2000 + i);
		CU_ASSERT_EQUAL(length_for(&x, name), samples(1 + i % 7));
	}
	CU_ASSERT_EQUAL(um_greeting_audio(first)->n, samples(1));
	um_greeting_unref(first);
	CU_ASSERT_EQUAL(logged(&x, "warning"), 0);
	fx_close(&x);
}

static CU_TestInfo tests[] = {
        {"the default greeting loads", test_default},
        {"USER.wav beside the default wins for that user", test_user_wins},
        {"a user that cannot be a file name gets the default", test_unsafe_names},
        {"a user greeting that does not load: logged, the default", test_user_invalid},
        {"a missing default: a second of silence, logged once", test_default_missing},
        {"an invalid default: um_greetings_new fails naming it", test_default_invalid},
        {"a changed file is reloaded", test_reload},
        {"references outlive the cache", test_refs_outlive},
        {"more users than the cache keeps", test_many_users},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_greetings", tests);
}

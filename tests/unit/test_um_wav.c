/*
 * Greetings read with libsndfile, and tones (um/src/media/wav.c). The files are written here
 * with libsndfile itself; the truncated ones are good files cut short, and the tests say what
 * libsndfile 1.2 does with each (wav.h relies on it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "media/wav.h"
#include "testutil.h"

static char *dir; /* every file of the suite, removed at the end */

/* A path in the test directory; static buffers, four in turn (two per call at most). */
static const char *
at(const char *name)
{
	static char path[4][4096];
	static unsigned next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	return p;
}

/* Sample i of the test signal: a ramp through the whole 16-bit range. */
static int16_t
signal_at(size_t i)
{
	return (int16_t)((i * 997) % 65536 - 32768);
}

/* Writes `frames` frames of the test signal (each channel the same) with libsndfile. */
static void
write_wav(const char *path, int format, int rate, int channels, size_t frames)
{
	SF_INFO info;
	SNDFILE *sf;
	short *buf;
	size_t i;
	int c;

	memset(&info, 0, sizeof(info));
	info.samplerate = rate;
	info.channels = channels;
	info.format = format;
	sf = sf_open(path, SFM_WRITE, &info);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
	buf = calloc(frames * (size_t)channels + 1, sizeof(*buf));
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (i = 0; i < frames; i++)
		for (c = 0; c < channels; c++)
			buf[i * (size_t)channels + (size_t)c] = signal_at(i);
	CU_ASSERT_EQUAL(sf_writef_short(sf, buf, (sf_count_t)frames), (sf_count_t)frames);
	CU_ASSERT_EQUAL(sf_close(sf), 0);
	free(buf);
}

/* The first `len` bytes of `from` as the file `to`. */
static void
cut(const char *from, const char *to, size_t len)
{
	char *data;
	size_t have;

	data = tu_read_file(from, &have);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_FATAL(len <= have);
	tu_write_file(to, data, len, 0600);
	free(data);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	return st.st_size;
}

/* Loading `path` is refused with `code`, and the detail names the file and holds `why`. */
static void
assert_refused(const char *path, enum um_err code, const char *why)
{
	struct um_audio *a = (struct um_audio *)1;
	enum um_err r;

	r = um_audio_load(path, &a);
	CU_ASSERT_EQUAL(r, code);
	CU_ASSERT_PTR_NULL(a);
	if (strstr(um_errdetail(), path) == NULL || strstr(um_errdetail(), why) == NULL)
		fprintf(stderr, "\n%s: detail \"%s\", expected \"%s\"\n", path, um_errdetail(),
		        why);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), path));
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), why));
}

static void
test_pcm16(void)
{
	struct um_audio *a = NULL;
	size_t i, bad = 0;

	write_wav(at("pcm16.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 12345);
	CU_ASSERT_EQUAL_FATAL(um_audio_load(at("pcm16.wav"), &a), UM_OK);
	CU_ASSERT_EQUAL_FATAL(a->n, 12345);
	for (i = 0; i < a->n; i++)
		bad += a->samples[i] != signal_at(i);
	CU_ASSERT_EQUAL(bad, 0);
	um_audio_free(a);
	um_audio_free(NULL);
}

/* G.711 loses precision: each sample within its quantisation step (under 1/16 of it, plus a bit).
 */
static void
check_g711(const char *name, int sub)
{
	struct um_audio *a = NULL;
	size_t i, bad = 0;
	long err;

	write_wav(at(name), SF_FORMAT_WAV | sub, 8000, 1, 8000);
	CU_ASSERT_EQUAL_FATAL(um_audio_load(at(name), &a), UM_OK);
	CU_ASSERT_EQUAL_FATAL(a->n, 8000);
	for (i = 0; i < a->n; i++) {
		err = labs((long)a->samples[i] - signal_at(i));
		bad += err > labs(signal_at(i)) / 16 + 64;
	}
	CU_ASSERT_EQUAL(bad, 0);
	um_audio_free(a);
}

static void
test_ulaw(void)
{
	check_g711("ulaw.wav", SF_FORMAT_ULAW);
}

static void
test_alaw(void)
{
	check_g711("alaw.wav", SF_FORMAT_ALAW);
}

/* WAVE_FORMAT_EXTENSIBLE, as some editors write even for mono: still RIFF WAVE, accepted. */
static void
test_wavex(void)
{
	struct um_audio *a = NULL;

	write_wav(at("wavex.wav"), SF_FORMAT_WAVEX | SF_FORMAT_PCM_16, 8000, 1, 800);
	CU_ASSERT_EQUAL_FATAL(um_audio_load(at("wavex.wav"), &a), UM_OK);
	CU_ASSERT_EQUAL(a->n, 800);
	CU_ASSERT_EQUAL(a->samples[799], signal_at(799));
	um_audio_free(a);
}

static void
test_refused_formats(void)
{
	write_wav(at("cd.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, 4410);
	assert_refused(at("cd.wav"), UM_ERR_AUDIO, "44100 Hz, umd plays 8000 Hz mono");
	write_wav(at("stereo.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, 800);
	assert_refused(at("stereo.wav"), UM_ERR_AUDIO, "2 channels, umd plays 8000 Hz mono");
	write_wav(at("both.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, 800);
	assert_refused(at("both.wav"), UM_ERR_AUDIO, "16000 Hz, 2 channels");
	write_wav(at("u8.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 8000, 1, 800);
	assert_refused(at("u8.wav"), UM_ERR_AUDIO,
	               "Unsigned 8 bit PCM, umd plays 16-bit PCM, u-law or A-law");
	write_wav(at("float.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, 800);
	assert_refused(at("float.wav"), UM_ERR_AUDIO, "32 bit float, umd plays 16-bit PCM");
	write_wav(at("pcm24.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_24, 8000, 1, 800);
	assert_refused(at("pcm24.wav"), UM_ERR_AUDIO, "24 bit PCM");
	write_wav(at("adpcm.wav"), SF_FORMAT_WAV | SF_FORMAT_IMA_ADPCM, 8000, 1, 8000);
	assert_refused(at("adpcm.wav"), UM_ERR_AUDIO, "IMA ADPCM");
	/* Audio libsndfile reads well, but not WAV: refused before libsndfile sees it. */
	write_wav(at("greeting.aiff"), SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 8000, 1, 800);
	assert_refused(at("greeting.aiff"), UM_ERR_AUDIO, "not a WAV file");
	write_wav(at("greeting.au"), SF_FORMAT_AU | SF_FORMAT_ULAW, 8000, 1, 800);
	assert_refused(at("greeting.au"), UM_ERR_AUDIO, "not a WAV file");
	tu_write_file(at("text.wav"), "hello, this is not audio\n", 25, 0600);
	assert_refused(at("text.wav"), UM_ERR_AUDIO, "not a WAV file");
	/* RIFF/WAVE magic and nothing libsndfile accepts after it: libsndfile's reason. */
	tu_write_file(at("magic.wav"), "RIFF\x04\0\0\0WAVEjunkjunkjunk", 24, 0600);
	assert_refused(at("magic.wav"), UM_ERR_AUDIO, "not a WAV file umd can read: ");
}

static void
test_empty_and_missing(void)
{
	tu_write_file(at("empty.wav"), "", 0, 0600);
	assert_refused(at("empty.wav"), UM_ERR_AUDIO, "empty file");
	/* A header and no samples. */
	write_wav(at("silent.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 0);
	CU_ASSERT_EQUAL(file_size(at("silent.wav")), 44);
	assert_refused(at("silent.wav"), UM_ERR_AUDIO, "no audio (0 samples)");
	assert_refused(at("missing.wav"), UM_ERR_IO, "No such file or directory");
	/* A directory and a FIFO in the greeting's place: refused, the FIFO not waited on. */
	CU_ASSERT_EQUAL_FATAL(mkdir(at("dir.wav"), 0700), 0);
	assert_refused(at("dir.wav"), UM_ERR_IO, "not a regular file");
	CU_ASSERT_EQUAL_FATAL(mkfifo(at("fifo.wav"), 0600), 0);
	assert_refused(at("fifo.wav"), UM_ERR_IO, "not a regular file");
}

/*
 * Cut in the header: refused (libsndfile alone says "Malformed 'fmt ' chunk", "No 'data' chunk
 * marker"; umd's chunk walk says the same before it). Cut in the data: what is there is played,
 * an odd last byte dropped (libsndfile 1.2 alone does the same: "Data length in header too big",
 * the length taken from the file's size).
 */
static void
test_truncated(void)
{
	struct um_audio *a = NULL;
	size_t i, bad = 0;

	write_wav(at("whole.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 8000);
	CU_ASSERT_EQUAL_FATAL(file_size(at("whole.wav")), 44 + 16000);
	cut(at("whole.wav"), at("cut20.wav"), 20);
	assert_refused(at("cut20.wav"), UM_ERR_AUDIO, "not a WAV file umd can read: ");
	assert_refused(at("cut20.wav"), UM_ERR_AUDIO, "fmt ");
	cut(at("whole.wav"), at("cut40.wav"), 40);
	assert_refused(at("cut40.wav"), UM_ERR_AUDIO, "data");
	cut(at("whole.wav"), at("cut8.wav"), 8);
	assert_refused(at("cut8.wav"), UM_ERR_AUDIO, "not a WAV file");
	cut(at("whole.wav"), at("cut44.wav"), 44);
	assert_refused(at("cut44.wav"), UM_ERR_AUDIO, "no audio (0 samples)");

	cut(at("whole.wav"), at("cutdata.wav"), 44 + 6000);
	CU_ASSERT_EQUAL_FATAL(um_audio_load(at("cutdata.wav"), &a), UM_OK);
	CU_ASSERT_EQUAL_FATAL(a->n, 3000);
	for (i = 0; i < a->n; i++)
		bad += a->samples[i] != signal_at(i);
	CU_ASSERT_EQUAL(bad, 0);
	um_audio_free(a);
	a = NULL;

	cut(at("whole.wav"), at("cutodd.wav"), 44 + 6001);
	CU_ASSERT_EQUAL_FATAL(um_audio_load(at("cutodd.wav"), &a), UM_OK);
	CU_ASSERT_EQUAL(a->n, 3000);
	um_audio_free(a);
	a = NULL;

	/* u-law cut in the data: one byte a sample, every whole one kept. */
	write_wav(at("ulawwhole.wav"), SF_FORMAT_WAV | SF_FORMAT_ULAW, 8000, 1, 8000);
	cut(at("ulawwhole.wav"), at("ulawcut.wav"), (size_t)file_size(at("ulawwhole.wav")) - 4321);
	CU_ASSERT_EQUAL_FATAL(um_audio_load(at("ulawcut.wav"), &a), UM_OK);
	CU_ASSERT_EQUAL(a->n, 8000 - 4321);
	um_audio_free(a);
}

/*
 * A WAV whose writer died before closing it (RIFF size 8, data size 0, samples after): libsndfile
 * 1.2 alone would "fix" it ("Looks like a WAV file which wasn't closed properly"); umd takes the
 * data chunk at its word and refuses a greeting that says it holds nothing.
 */
static void
test_unclosed(void)
{
	char *data;
	size_t len;

	write_wav(at("closed.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 2000);
	data = tu_read_file(at("closed.wav"), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_EQUAL_FATAL(len, 44 + 4000);
	memcpy(data + 4, "\x08\0\0\0", 4);
	memcpy(data + 40, "\0\0\0\0", 4);
	tu_write_file(at("unclosed.wav"), data, len, 0600);
	assert_refused(at("unclosed.wav"), UM_ERR_AUDIO, "no audio (0 samples)");
	free(data);
}

/* Appends a chunk (ID, little-endian length, body, pad byte) to buf at *off. */
static void
chunk(unsigned char *buf, size_t *off, const char *id, uint32_t len, const void *body, size_t n)
{
	memcpy(buf + *off, id, 4);
	buf[*off + 4] = (unsigned char)len;
	buf[*off + 5] = (unsigned char)(len >> 8);
	buf[*off + 6] = (unsigned char)(len >> 16);
	buf[*off + 7] = (unsigned char)(len >> 24);
	memcpy(buf + *off + 8, body, n);
	*off += 8 + n + (n & 1);
}

/*
 * Chunks other than fmt and data: skipped, whatever they hold. The LIST chunk here holds a
 * sub-chunk of length 0xfffffff8: libsndfile 1.2's own parser of it loops for ever (what
 * fuzz_wav found; tests/fuzz/regress/wav/). Then: data before fmt, no data, an odd fmt size.
 */
static void
test_other_chunks(void)
{
	static const unsigned char fmt[16] = {1,    0,    1, 0, 0x40, 0x1f, 0,  0,
	                                      0x80, 0x3e, 0, 0, 2,    0,    16, 0};
	static const unsigned char list[] = {'I',  'N',  'F',  'O',  0xff, 0xff, 0xff, 0xff,
	                                     0xf8, 0xff, 0xff, 0xff, 'x',  'y',  'z',  'w'};
	static const unsigned char big[600];
	unsigned char buf[1024], pcm[200];
	struct um_audio *a = NULL;
	size_t off, i;

	for (i = 0; i < sizeof(pcm); i++)
		pcm[i] = (unsigned char)i;
	memcpy(buf, "RIFF\0\0\0\0WAVE", 12);
	off = 12;
	chunk(buf, &off, "fmt ", 16, fmt, 16);
	chunk(buf, &off, "LIST", sizeof(list), list, sizeof(list));
	chunk(buf, &off, "junk", 3, "abc", 3);
	chunk(buf, &off, "data", sizeof(pcm), pcm, sizeof(pcm));
	chunk(buf, &off, "LIST", 0xffffffff, list, sizeof(list));
	CU_ASSERT_EQUAL_FATAL(um_audio_load_mem("list.wav", buf, off, &a), UM_OK);
	CU_ASSERT_EQUAL(a->n, 100);
	CU_ASSERT_EQUAL(a->samples[1], 0x0302);
	um_audio_free(a);
	a = NULL;

	off = 12;
	chunk(buf, &off, "data", sizeof(pcm), pcm, sizeof(pcm));
	chunk(buf, &off, "fmt ", 16, fmt, 16);
	CU_ASSERT_EQUAL(um_audio_load_mem("order.wav", buf, off, &a), UM_ERR_AUDIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "data before the fmt chunk"));
	off = 12;
	chunk(buf, &off, "fmt ", 16, fmt, 16);
	chunk(buf, &off, "LIST", sizeof(list), list, sizeof(list));
	CU_ASSERT_EQUAL(um_audio_load_mem("nodata.wav", buf, off, &a), UM_ERR_AUDIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "no data chunk"));
	off = 12;
	chunk(buf, &off, "fmt ", 600, big, 600);
	chunk(buf, &off, "data", sizeof(pcm), pcm, sizeof(pcm));
	CU_ASSERT_EQUAL(um_audio_load_mem("bigfmt.wav", buf, off, &a), UM_ERR_AUDIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "an fmt chunk of 600 bytes"));
	off = 12;
	chunk(buf, &off, "fmt ", 8, fmt, 8);
	chunk(buf, &off, "data", sizeof(pcm), pcm, sizeof(pcm));
	CU_ASSERT_EQUAL(um_audio_load_mem("smallfmt.wav", buf, off, &a), UM_ERR_AUDIO);
	CU_ASSERT_PTR_NULL(a);
}

static void
test_ten_minutes(void)
{
	struct um_audio *a = NULL;

	write_wav(at("ten.wav"), SF_FORMAT_WAV | SF_FORMAT_ULAW, 8000, 1, 600 * 8000);
	CU_ASSERT_EQUAL_FATAL(um_audio_load(at("ten.wav"), &a), UM_OK);
	CU_ASSERT_EQUAL(a->n, 600 * 8000);
	um_audio_free(a);
	write_wav(at("long.wav"), SF_FORMAT_WAV | SF_FORMAT_ULAW, 8000, 1, 600 * 8000 + 8000);
	assert_refused(at("long.wav"), UM_ERR_AUDIO, "601 seconds, umd plays at most 600");
	/* Larger than any ten-minute greeting: refused before it is read. */
	CU_ASSERT_EQUAL_FATAL(truncate(at("long.wav"), 17 * 1024 * 1024), 0);
	assert_refused(at("long.wav"), UM_ERR_AUDIO, "larger than 16 MiB");
}

static void
test_mem(void)
{
	struct um_audio *a = (struct um_audio *)1;
	char *data;
	size_t len;

	write_wav(at("mem.wav"), SF_FORMAT_WAV | SF_FORMAT_ALAW, 8000, 1, 1234);
	data = tu_read_file(at("mem.wav"), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_EQUAL_FATAL(um_audio_load_mem("greetings/1001.wav", data, len, &a), UM_OK);
	CU_ASSERT_EQUAL(a->n, 1234);
	um_audio_free(a);
	a = (struct um_audio *)1;
	CU_ASSERT_EQUAL(um_audio_load_mem("greetings/1001.wav", data, 30, &a), UM_ERR_AUDIO);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "greeting greetings/1001.wav: "));
	CU_ASSERT_EQUAL(um_audio_load_mem("x", NULL, 0, &a), UM_ERR_AUDIO);
	CU_ASSERT_EQUAL(um_audio_load_mem("x", NULL, 5, &a), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_audio_load_mem(NULL, data, len, &a), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_audio_load(NULL, &a), UM_ERR_INVAL);
	free(data);
}

static void
test_tone(void)
{
	struct um_audio *a = (struct um_audio *)1;
	size_t i, crossings = 0;
	int peak = 0;

	CU_ASSERT_EQUAL_FATAL(um_audio_tone(1000, 250, 8000, &a), UM_OK);
	CU_ASSERT_EQUAL_FATAL(a->n, 2000);
	CU_ASSERT_EQUAL(a->samples[0], 0);
	CU_ASSERT_EQUAL(a->samples[a->n - 1], 0);
	for (i = 0; i < a->n; i++) {
		if (abs(a->samples[i]) > peak)
			peak = abs(a->samples[i]);
		if (i > 0 && (a->samples[i - 1] < 0) != (a->samples[i] < 0))
			crossings++;
	}
	CU_ASSERT(peak >= 7990 && peak <= 8000);
	/* 1000 Hz for 250 ms: 250 periods, two sign changes each. */
	CU_ASSERT(crossings >= 498 && crossings <= 502);
	/* The fade: 5 ms (40 samples) up from 0, nothing near the peak before. */
	for (i = 0; i < 20; i++)
		CU_ASSERT(abs(a->samples[i]) <= 8000 * 20 / 40);
	um_audio_free(a);

	CU_ASSERT_EQUAL_FATAL(um_audio_tone(440, 1, 32767, &a), UM_OK);
	CU_ASSERT_EQUAL(a->n, 8);
	CU_ASSERT_EQUAL(a->samples[0], 0);
	CU_ASSERT_EQUAL(a->samples[7], 0);
	um_audio_free(a);
	CU_ASSERT_EQUAL_FATAL(um_audio_tone(400, 100, 0, &a), UM_OK);
	for (i = 0; i < a->n; i++)
		CU_ASSERT_EQUAL(a->samples[i], 0);
	um_audio_free(a);

	a = (struct um_audio *)1;
	CU_ASSERT_EQUAL(um_audio_tone(4000, 100, 1000, &a), UM_ERR_INVAL);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_EQUAL(um_audio_tone(0, 100, 1000, &a), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_audio_tone(400, 0, 1000, &a), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_audio_tone(400, 600001, 1000, &a), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_audio_tone(400, 100, 32768, &a), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_audio_tone(400, 100, -1, &a), UM_ERR_INVAL);
}

static CU_TestInfo tests[] = {
        {"16-bit PCM, every sample", test_pcm16},
        {"G.711 u-law", test_ulaw},
        {"G.711 A-law", test_alaw},
        {"WAVE_FORMAT_EXTENSIBLE mono", test_wavex},
        {"other rates, channels, encodings and formats refused", test_refused_formats},
        {"empty, silent, missing, not a file", test_empty_and_missing},
        {"cut in the header refused, cut in the data loads what is there", test_truncated},
        {"a WAV never closed by its writer", test_unclosed},
        {"chunks other than fmt and data skipped", test_other_chunks},
        {"ten minutes at most", test_ten_minutes},
        {"from memory", test_mem},
        {"tones", test_tone},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	int r;

	dir = tu_tmpdir();
	r = tu_run("um_wav", tests);
	tu_rmrf(dir);
	free(dir);
	return r;
}

/* Greetings read with libsndfile and tones made (wav.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "certcore/fileio.h"
#include "media/wav.h"

/*
 * Ten minutes of 16-bit PCM at 8 kHz is 9.6 MB; a larger file is not a greeting umd plays, and
 * reading it whole would only cost memory.
 */
#define MAX_FILE (16 * 1024 * 1024)
#define FADE_MS  5
#define MAX_FMT  256 /* bytes of an fmt chunk: 16 for PCM, 18 for G.711, 40 for EXTENSIBLE */

/*
 * The WAV libsndfile reads through its virtual I/O (sf_open_virtual): a header made here
 * (RIFF, WAVE, the file's "fmt " chunk, a "data" chunk header), then the file's audio bytes.
 */
struct memfile {
	const unsigned char *head, *data;
	sf_count_t headlen, len, pos; /* len: head and data */
};

static sf_count_t
mem_len(void *user)
{
	return ((struct memfile *)user)->len;
}

/* As lseek: a position past the end is allowed (reads there return nothing), a negative one not. */
static sf_count_t
mem_seek(sf_count_t off, int whence, void *user)
{
	struct memfile *m = user;
	sf_count_t base;

	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = m->pos;
		break;
	case SEEK_END:
		base = m->len;
		break;
	default:
		return -1;
	}
	/* Offsets come from the file's header: no overflow, whatever they say. */
	if (off < -base || off > INT64_MAX - base)
		return -1;
	m->pos = base + off;
	return m->pos;
}

static sf_count_t
mem_read(void *ptr, sf_count_t count, void *user)
{
	struct memfile *m = user;
	unsigned char *out = ptr;
	sf_count_t n, done = 0;

	if (count <= 0 || m->pos >= m->len)
		return 0;
	if (count > m->len - m->pos)
		count = m->len - m->pos;
	if (m->pos < m->headlen) {
		n = m->headlen - m->pos < count ? m->headlen - m->pos : count;
		memcpy(out, m->head + m->pos, (size_t)n);
		done = n;
	}
	if (done < count)
		memcpy(out + done, m->data + (m->pos + done - m->headlen), (size_t)(count - done));
	m->pos += count;
	return count;
}

static sf_count_t
mem_write(const void *ptr, sf_count_t count, void *user)
{
	(void)ptr;
	(void)count;
	(void)user;
	return 0; /* opened for reading only */
}

static sf_count_t
mem_tell(void *user)
{
	return ((struct memfile *)user)->pos;
}

static enum um_err refuse(const char *name, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* UM_ERR_AUDIO with "greeting NAME: what is wrong". */
static enum um_err
refuse(const char *name, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return um_seterr(UM_ERR_AUDIO, "greeting %s: %s", name, why);
}

/* libsndfile's name of a major format or an encoding ("32 bit float"). */
static const char *
format_name(int format, char *buf, size_t len)
{
	SF_FORMAT_INFO fi;

	memset(&fi, 0, sizeof(fi));
	fi.format = format;
	if (sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof(fi)) == 0 && fi.name != NULL)
		snprintf(buf, len, "%s", fi.name);
	else
		snprintf(buf, len, "format 0x%x", (unsigned)format);
	return buf;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/*
 * The two chunks of a WAV that umd plays from: "fmt " and "data". libsndfile 1.2 also parses
 * every other chunk a WAV may carry (LIST/INFO, cue, smpl, bext, ...), and its LIST parser loops
 * for ever, without reading, on a sub-chunk whose size wraps its 32-bit count (fuzz_wav found
 * it; libsndfile issue #1118, still open for 1.2.2): a greeting holding one would hang umd. So
 * the file is walked here at RIFF's level only, each chunk an ID and a length (RIFF's layout:
 * little-endian, padded to even), no field inside any chunk read; libsndfile is given a WAV of
 * these two chunks and decodes them as before. A data chunk longer than the file holds is what
 * the file holds (a copy cut short); one of length 0 has no audio.
 */
static enum um_err
find_chunks(const char *name, const unsigned char *p, size_t len, struct memfile *m,
            unsigned char *head, size_t headmax)
{
	const unsigned char *fmt = NULL;
	size_t off = 12, size, fmtlen = 0, pad, datalen;

	while (off + 8 <= len) {
		size = le32(p + off + 4);
		if (memcmp(p + off, "fmt ", 4) == 0 && fmt == NULL) {
			if (size > len - off - 8)
				return refuse(name, "not a WAV file umd can read: the fmt chunk is "
				                    "cut short");
			if (size < 16 || size + 29 > headmax)
				return refuse(name,
				              "not a WAV file umd can read: an fmt chunk of %zu "
				              "bytes",
				              size);
			fmt = p + off + 8;
			fmtlen = size;
		} else if (memcmp(p + off, "data", 4) == 0) {
			if (fmt == NULL)
				return refuse(name,
				              "not a WAV file umd can read: data before the fmt "
				              "chunk");
			datalen = size < len - off - 8 ? size : len - off - 8;
			pad = fmtlen & 1;
			memcpy(head, "RIFF", 4);
			put_le32(head + 4, (uint32_t)(4 + 8 + fmtlen + pad + 8 + datalen));
			memcpy(head + 8, "WAVEfmt ", 8);
			put_le32(head + 16, (uint32_t)fmtlen);
			memcpy(head + 20, fmt, fmtlen);
			head[20 + fmtlen] = 0;
			memcpy(head + 20 + fmtlen + pad, "data", 4);
			put_le32(head + 24 + fmtlen + pad, (uint32_t)datalen);
			m->head = head;
			m->headlen = (sf_count_t)(28 + fmtlen + pad);
			m->data = p + off + 8;
			m->len = m->headlen + (sf_count_t)datalen;
			m->pos = 0;
			return UM_OK;
		}
		if (size > len - off - 8)
			break;
		off += 8 + size + (size & 1);
	}
	return refuse(name, "not a WAV file umd can read: %s",
	              fmt == NULL ? "no fmt chunk" : "no data chunk");
}

/* UM_OK when umd plays what the header describes, else UM_ERR_AUDIO saying what is wrong. */
static enum um_err
check_info(const char *name, const SF_INFO *info)
{
	int major = info->format & SF_FORMAT_TYPEMASK, sub = info->format & SF_FORMAT_SUBMASK;
	char fmt[64];

	if (major != SF_FORMAT_WAV && major != SF_FORMAT_WAVEX)
		return refuse(name, "%s file, umd plays WAV", format_name(major, fmt, sizeof(fmt)));
	if (info->samplerate != UM_AUDIO_RATE && info->channels != 1)
		return refuse(name, "%d Hz, %d channels, umd plays %d Hz mono", info->samplerate,
		              info->channels, UM_AUDIO_RATE);
	if (info->samplerate != UM_AUDIO_RATE)
		return refuse(name, "%d Hz, umd plays %d Hz mono", info->samplerate, UM_AUDIO_RATE);
	if (info->channels != 1)
		return refuse(name, "%d channels, umd plays %d Hz mono", info->channels,
		              UM_AUDIO_RATE);
	if (sub != SF_FORMAT_PCM_16 && sub != SF_FORMAT_ULAW && sub != SF_FORMAT_ALAW)
		return refuse(name, "%s, umd plays 16-bit PCM, u-law or A-law",
		              format_name(sub, fmt, sizeof(fmt)));
	if (info->frames <= 0)
		return refuse(name, "no audio (0 samples)");
	if (info->frames > (sf_count_t)UM_AUDIO_MAX_SECONDS * UM_AUDIO_RATE)
		return refuse(name, "%lld seconds, umd plays at most %d",
		              (long long)(info->frames / UM_AUDIO_RATE), UM_AUDIO_MAX_SECONDS);
	return UM_OK;
}

enum um_err
um_audio_load_mem(const char *name, const void *data, size_t len, struct um_audio **out)
{
	SF_VIRTUAL_IO io = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
	unsigned char head[MAX_FMT + 29];
	struct memfile mf;
	struct um_audio *a = NULL;
	SF_INFO info;
	SNDFILE *sf = NULL;
	sf_count_t got;
	enum um_err r = UM_ERR_AUDIO;

	*out = NULL;
	if (name == NULL || (data == NULL && len > 0)) {
		r = um_seterr(UM_ERR_INVAL, "um_audio_load_mem: no name or no data");
		goto out;
	}
	if (len == 0) {
		r = refuse(name, "empty file");
		goto out;
	}
	/*
	 * libsndfile guesses the format from the content and reads some twenty (AIFF, FLAC, MP3,
	 * ...): only a RIFF WAVE reaches it, so its other readers never see a greeting.
	 */
	if (len < 12 || memcmp(data, "RIFF", 4) != 0 ||
	    memcmp((const char *)data + 8, "WAVE", 4) != 0) {
		r = refuse(name, "not a WAV file (no RIFF/WAVE header)");
		goto out;
	}
	if (len > MAX_FILE) {
		r = refuse(name, "larger than %d MiB, umd plays at most %d seconds",
		           MAX_FILE / (1024 * 1024), UM_AUDIO_MAX_SECONDS);
		goto out;
	}
	if ((r = find_chunks(name, data, len, &mf, head, sizeof(head))) != UM_OK)
		goto out;
	memset(&info, 0, sizeof(info));
	/* sf_strerror(NULL) is libsndfile's last open error, process-wide: read at once. */
	if ((sf = sf_open_virtual(&io, SFM_READ, &info, &mf)) == NULL) {
		r = refuse(name, "not a WAV file umd can read: %s", sf_strerror(NULL));
		goto out;
	}
	if ((r = check_info(name, &info)) != UM_OK)
		goto out;
	/* frames is at most the data the file holds (libsndfile cuts a longer claim to it). */
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->samples = calloc((size_t)info.frames, sizeof(*a->samples))) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "greeting %s: %lld samples", name,
		              (long long)info.frames);
		goto out;
	}
	if ((got = sf_read_short(sf, a->samples, info.frames)) <= 0) {
		r = refuse(name, "no audio could be read: %s", sf_strerror(sf));
		goto out;
	}
	a->n = (size_t)got; /* fewer than the header said: what is there */
	*out = a;
	a = NULL;
	r = UM_OK;
out:
	if (sf != NULL)
		sf_close(sf);
	um_audio_free(a);
	return r;
}

enum um_err
um_audio_load(const char *path, struct um_audio **out)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	enum cc_err cr;
	enum um_err r = UM_ERR_IO;

	*out = NULL;
	if (path == NULL) {
		r = um_seterr(UM_ERR_INVAL, "um_audio_load: no path");
		goto out;
	}
	/* Bounded, and a FIFO or a device in the greeting's place is refused, not waited on. */
	if ((cr = cc_file_read(path, MAX_FILE, &buf, &len, NULL)) != CC_OK) {
		if (cr == CC_ERR_PARSE)
			r = refuse(path, "larger than %d MiB, umd plays at most %d seconds",
			           MAX_FILE / (1024 * 1024), UM_AUDIO_MAX_SECONDS);
		else
			r = um_seterr(UM_ERR_IO, "greeting: %s", cc_errdetail());
		goto out;
	}
	r = um_audio_load_mem(path, buf, len, out);
out:
	free(buf);
	return r;
}

void
um_audio_free(struct um_audio *a)
{
	if (a == NULL)
		return;
	free(a->samples);
	free(a);
}

enum um_err
um_audio_tone(int hz, int ms, int amp, struct um_audio **out)
{
	struct um_audio *a = NULL;
	size_t i, n, fade;
	double env;
	enum um_err r = UM_ERR_NOMEM;

	*out = NULL;
	if (hz < 1 || hz >= UM_AUDIO_RATE / 2 || ms < 1 || ms > UM_AUDIO_MAX_SECONDS * 1000 ||
	    amp < 0 || amp > 32767) {
		r = um_seterr(UM_ERR_INVAL, "tone of %d Hz, %d ms, amplitude %d", hz, ms, amp);
		goto out;
	}
	n = (size_t)ms * (UM_AUDIO_RATE / 1000);
	fade = (size_t)FADE_MS * (UM_AUDIO_RATE / 1000);
	if (fade > n / 2)
		fade = n / 2;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->samples = calloc(n, sizeof(*a->samples))) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "tone of %d ms", ms);
		goto out;
	}
	a->n = n;
	/* A linear ramp at each end: the first and the last sample are 0, no click. */
	for (i = 0; i < n; i++) {
		env = 1.0;
		if (i < fade)
			env = (double)i / (double)fade;
		else if (i >= n - fade)
			env = (double)(n - 1 - i) / (double)fade;
		a->samples[i] = (int16_t)lrint(amp * env *
		                               sin(2.0 * M_PI * hz * (double)i / UM_AUDIO_RATE));
	}
	*out = a;
	a = NULL;
	r = UM_OK;
out:
	um_audio_free(a);
	return r;
}

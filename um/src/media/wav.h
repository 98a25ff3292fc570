/*
 * Audio umd plays: greetings read from WAV files (with libsndfile, no RIFF code of our own) and
 * the tones it makes (the beep before recording, the end tone).
 *
 * umd's media runs at 8 kHz mono (G.711), so that is what a greeting must be: a WAV (RIFF,
 * "RIFF"/"WAVE" magic; WAVE_FORMAT_EXTENSIBLE accepted) of 8000 Hz, one channel, holding 16-bit
 * PCM, G.711 u-law or G.711 A-law, of at least one sample and at most UM_AUDIO_MAX_SECONDS.
 * Anything else is refused, UM_ERR_AUDIO, with a detail that names the file and what is wrong:
 * "greeting /x.wav: 44100 Hz, umd plays 8000 Hz mono". Nothing is resampled or mixed down: an
 * administrator converts once (sox in.wav -r 8000 -c 1 -b 16 out.wav), umd does not guess.
 *
 * A file whose data chunk is shorter than its header says (a copy cut short) loads what is
 * there; a header cut short is refused, and so is a data chunk whose length says 0 (a writer that
 * never closed the file). Of the file's chunks only "fmt " and "data" reach libsndfile: its
 * parsers of the others (LIST/INFO, ...) can loop for ever on a malformed one (wav.c).
 */
#ifndef UM_MEDIA_WAV_H
#define UM_MEDIA_WAV_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define UM_AUDIO_RATE        8000 /* samples per second */
#define UM_AUDIO_MAX_SECONDS 600  /* a greeting longer than ten minutes is refused */

/* 8 kHz mono 16-bit linear samples; `samples` is owned by the struct (um_audio_free). */
struct um_audio {
	int16_t *samples;
	size_t n;
};

/*
 * Loads the greeting at `path` (read whole, at most 16 MiB; not a FIFO or a device). A file
 * that cannot be read is UM_ERR_IO with the system's reason; one whose content umd does not play
 * is UM_ERR_AUDIO. *out is NULL on entry, owned by the caller on success.
 */
enum um_err um_audio_load(const char *path, struct um_audio **out) UM_WUR;

/*
 * The same from `len` bytes at `data` (borrowed, only read during the call); `name` stands for
 * the file in messages. For the fuzz target and the tests; um_audio_load ends here.
 */
enum um_err um_audio_load_mem(const char *name, const void *data, size_t len,
                              struct um_audio **out) UM_WUR;

/* Frees the samples and the struct. NULL: no-op. */
void um_audio_free(struct um_audio *a);

/*
 * A sine tone: `ms` milliseconds (1 .. UM_AUDIO_MAX_SECONDS * 1000) of `hz` (1 .. 3999, below
 * the Nyquist frequency of 8 kHz) at peak amplitude `amp` (0 .. 32767), faded in and out over
 * 5 ms each (half the tone when it is shorter than 10 ms) so that it starts and stops without a
 * click. UM_ERR_INVAL outside those ranges. *out owned by the caller.
 */
enum um_err um_audio_tone(int hz, int ms, int amp, struct um_audio **out) UM_WUR;

#endif

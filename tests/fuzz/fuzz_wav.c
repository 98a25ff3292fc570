/*
 * Greetings (um_audio_load_mem: umd's RIFF/WAVE check, libsndfile's WAV reader behind it, then
 * umd's rules on rate, channels, encoding and length). What loads must be samples umd can play,
 * every one of them readable.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/wav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct um_audio *a = NULL;
	long sum = 0;
	size_t i;

	if (um_audio_load_mem("fuzz.wav", data, size, &a) == UM_OK) {
		if (a == NULL || a->samples == NULL || a->n == 0 ||
		    a->n > (size_t)UM_AUDIO_MAX_SECONDS * UM_AUDIO_RATE)
			abort();
		for (i = 0; i < a->n; i++)
			sum += a->samples[i];
		if (sum == LONG_MIN) /* never: the sum only makes every sample read */
			abort();
		um_audio_free(a);
	} else if (a != NULL) {
		abort();
	} else if (strstr(um_errdetail(), "fuzz.wav") == NULL) {
		abort(); /* every refusal names the file */
	}
	return 0;
}

/*
 * The subscription file an edge hands to the internal side (`edgesync subscription import
 * FILE`): JSON with the edge's URL, DNs, certificate (PEM) and bootstrap credential, read by
 * es_subfile_parse. What parses is checked against a fixed clock and written back as JSON, and
 * what is written back must parse again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgesync/secret.h"
#include "edgesync/subfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1790000000)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_subfile *sf = NULL, *again = NULL;
	char *json = NULL;

	if (es_subfile_parse((const char *)data, size, &sf) != ES_OK) {
		if (sf != NULL)
			abort(); /* out-params are NULL on failure */
		return 0;
	}
	(void)es_subfile_check_time(sf, NOW);
	if (es_subfile_to_json(sf, &json) == ES_OK) {
		if (es_subfile_parse(json, strlen(json), &again) != ES_OK)
			abort(); /* what we write, we read */
		es_subfile_free(again);
		es_secret_free(json); /* it holds the bootstrap password */
	}
	es_subfile_free(sf);
	return 0;
}

/*
 * The state `edgesync seed export` writes beside its LDIF and `edgesync seed commit` reads back
 * (JSON: edge, lease holder, per area the rule identity, the source's cookie in base64, the
 * number of entries and a digest of their keys), parsed by es_seed_parse. What parses is written
 * back as JSON, which must parse again to the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgesync/seed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_seed *sd = NULL, *again = NULL;
	char *json = NULL, *json2 = NULL;

	if (es_seed_parse((const char *)data, size, "fuzz", &sd) != ES_OK) {
		if (sd != NULL)
			abort(); /* out-params are NULL on failure */
		return 0;
	}
	if (es_seed_to_json(sd, &json) == ES_OK) {
		if (es_seed_parse(json, strlen(json), "again", &again) != ES_OK)
			abort(); /* what we write, we read */
		if (es_seed_to_json(again, &json2) == ES_OK && strcmp(json, json2) != 0)
			abort(); /* and it says the same */
		free(json2);
		es_seed_free(again);
		free(json);
	}
	es_seed_free(sd);
	return 0;
}

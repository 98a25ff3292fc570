/*
 * meta/THUMB.ini and requests/ID.ini of the store: services, exportable flag, friendly name
 * (percent-escaped). The store is the admin's, but the files are text that another tool or a
 * half-written copy may have left. What parses and renders must parse back to the same values.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meta_file m, again;
	struct cc_meta cm;
	char *text, *out = NULL;

	/* The store reads a file into a NUL-terminated buffer. */
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cc_meta_parse(text, &m) != CC_OK) {
		if (m.friendly_name != NULL)
			abort(); /* cleared on failure */
		free(text);
		return 0;
	}
	cm.services = m.services;
	cm.exportable = m.exportable;
	cm.friendly_name = m.friendly_name;
	cm.made_by = m.made_by;
	if (cc_meta_render(&cm, &out) == CC_OK) {
		if (cc_meta_parse(out, &again) != CC_OK)
			abort(); /* what we write, we read */
		/* ... and read the same (no name and an empty one are alike) */
		if (again.services != m.services || again.exportable != m.exportable ||
		    strcmp(again.friendly_name ? again.friendly_name : "",
		           m.friendly_name ? m.friendly_name : "") != 0)
			abort();
		cc_meta_clear(&again);
		free(out);
	}
	cc_meta_clear(&m);
	free(text);
	return 0;
}

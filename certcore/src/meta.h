/* meta/THUMB.ini: properties kept beside a certificate (private to certcore). */
#ifndef CERTCORE_META_H
#define CERTCORE_META_H

#include <stddef.h>

#include "certcore/cert.h"

#define CC_FRIENDLY_NAME_MAX 64

/* Parsed meta; friendly_name owned (free()). */
struct meta_file {
	unsigned services;
	bool exportable;
	char *friendly_name;
	char *made_by; /* NULL when none */
};

/*
 * Reads meta text. A line that does not parse fails with CC_ERR_PARSE naming the line. Missing
 * keys keep their defaults (no services, not exportable, no name).
 */
enum cc_err cc_meta_parse(const char *text, struct meta_file *out) CC_WUR;
void cc_meta_clear(struct meta_file *m);

/* Renders meta text (owned, free()). A friendly name with control characters or longer than
 * CC_FRIENDLY_NAME_MAX fails with CC_ERR_INVAL. */
enum cc_err cc_meta_render(const struct cc_meta *m, char **out) CC_WUR;

/* Checks a made_by value: 1 to 32 of [a-z0-9-] (a daemon's name), or NULL/"" for none. */
enum cc_err cc_meta_check_made_by(const char *who) CC_WUR;

/* Checks a friendly name (printable UTF-8, no control characters, at most 64 bytes). */
enum cc_err cc_meta_check_friendly_name(const char *name) CC_WUR;

#endif

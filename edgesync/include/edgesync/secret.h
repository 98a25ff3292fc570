/*
 * Passwords: read from a file (never from argv or the configuration), made at random, wiped.
 */
#ifndef EDGESYNC_SECRET_H
#define EDGESYNC_SECRET_H

#include <stddef.h>

#include "edgesync/error.h"

#define ES_PASSWORD_LEN 32 /* characters of a password edgesync makes: about 190 bits */

/*
 * The first line of a password file (without its line end), by certcore's rule
 * (cc_secret_read_file): a regular file that neither its group nor others can read (0600 or
 * 0400), a first line that is not empty. ES_ERR_IO otherwise, with certcore's reason. Owned;
 * release with es_secret_free.
 */
enum es_err es_secret_read_file(const char *path, char **out) ES_WUR;

/* ES_PASSWORD_LEN random characters from A-Z, a-z and 0-9 (RAND_bytes). Owned. */
enum es_err es_secret_random(char **out) ES_WUR;

/* Wipes (OPENSSL_cleanse) and frees a NUL-terminated secret; NULL is a no-op. */
void es_secret_free(char *s);

#endif

/*
 * Passwords kept in files, never on a command line: one rule for every umedge program that reads
 * one (certctl's --password-file, edgesync's bind_password_file and admin_password_file).
 */
#ifndef CERTCORE_SECRET_H
#define CERTCORE_SECRET_H

#include "certcore/error.h"

/*
 * The first line of a password file, without its line end (what `openssl ... -passin file:`
 * reads). The file must be a regular file, not a symbolic link, that neither its group nor
 * others may read, write or run (0600 or 0400, as ssh refuses a key file others can read):
 * CC_ERR_PERM otherwise, naming the file and its mode. An empty first line, or one holding a
 * NUL byte, is CC_ERR_PARSE. `out` is owned; release it with cc_secret_free.
 */
enum cc_err cc_secret_read_file(const char *path, char **out) CC_WUR;

/* Wipes (OPENSSL_cleanse) and frees a NUL-terminated secret; NULL is a no-op. */
void cc_secret_free(char *s);

#endif

/* Crash-safe file writes and bounded reads, for certcore and the daemons built on it. */
#ifndef CERTCORE_FILEIO_H
#define CERTCORE_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "certcore/error.h"

/*
 * Writes `len` bytes to `path` atomically: a temporary file in the same directory created with
 * `mode`, written, fsync'd, renamed over `path`, and the directory fsync'd. A crash leaves the
 * old file or the new one, never a mix.
 */
enum cc_err cc_file_write_atomic(const char *path, const void *data, size_t len,
                                 mode_t mode) CC_WUR;

/*
 * Reads a whole regular file of at most `max` bytes. The buffer is NUL-terminated (not counted
 * in *len) and owned by the caller; callers holding secrets wipe it with OPENSSL_cleanse.
 * `mode_out` (may be NULL) receives st_mode. A missing file is CC_ERR_NOT_FOUND.
 */
enum cc_err cc_file_read(const char *path, size_t max, unsigned char **buf, size_t *len,
                         mode_t *mode_out) CC_WUR;

/* Removes `path` and fsyncs its directory; a missing file is not an error. */
enum cc_err cc_file_remove(const char *path) CC_WUR;

/*
 * The same for the file `name` (one path component) of the directory open as `dirfd`, the
 * directory fsync'd through it. A store opens its folders without following links and works in
 * them through these, so a folder replaced by a link afterwards redirects nothing. `dir` is the
 * directory's path for messages only (NULL: messages show `name` alone).
 */
enum cc_err cc_file_write_atomic_at(int dirfd, const char *dir, const char *name, const void *data,
                                    size_t len, mode_t mode) CC_WUR;
enum cc_err cc_file_read_at(int dirfd, const char *dir, const char *name, size_t max,
                            unsigned char **buf, size_t *len, mode_t *mode_out) CC_WUR;
enum cc_err cc_file_remove_at(int dirfd, const char *dir, const char *name) CC_WUR;

#endif

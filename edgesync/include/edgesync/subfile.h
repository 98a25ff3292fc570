/*
 * The subscription file (New-EdgeSubscription's file): what an edge hands to the internal side,
 * as JSON, written 0600 by `edgesync subscription new` and read by `subscription import`:
 *
 *   {"version": 1, "edge_name": "edge1", "fqdn": "edge1.example.test",
 *    "url": "ldaps://192.0.2.1:636", "base": "dc=edge1,dc=test",
 *    "certificate": "-----BEGIN CERTIFICATE-----...", (the edge's LDAPS certificate, PEM)
 *    "bind_dn": "cn=edgesync,dc=edge1,dc=test", "bind_password": "...",
 *    "effective": "2026-11-28T11:00:00Z", "duration_minutes": 1440}
 *
 * It holds a password: it is written atomically with mode 0600, and every buffer that held it is
 * wiped before it is freed.
 */
#ifndef EDGESYNC_SUBFILE_H
#define EDGESYNC_SUBFILE_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "edgesync/error.h"

#define ES_SUBFILE_MAX_MINUTES (7 * 1440)
#define ES_SUBFILE_SKEW        300 /* seconds a file may be dated in the future (clock skew) */

struct es_subfile {
	char *edge_name, *fqdn, *url, *base, *bind_dn;
	char *bind_password; /* secret */
	X509 *cert;          /* owned */
	time_t effective;
	int minutes;
};

void es_subfile_free(struct es_subfile *sf);

/*
 * Parses and checks a file's content: every key present with the right type (and no other),
 * version 1, an edge name, URL and DNs that parse, a certificate that parses, 1 to
 * ES_SUBFILE_MAX_MINUTES minutes. ES_ERR_PARSE names the first problem.
 */
enum es_err es_subfile_parse(const char *buf, size_t len, struct es_subfile **out) ES_WUR;
enum es_err es_subfile_read(const char *path, struct es_subfile **out) ES_WUR;

/* ES_ERR_EXPIRED when `now` is past effective + duration or more than ES_SUBFILE_SKEW before
 * effective (the detail says which). */
enum es_err es_subfile_check_time(const struct es_subfile *sf, time_t now) ES_WUR;

/* JSON text (owned; wipe it with es_secret_free). */
enum es_err es_subfile_to_json(const struct es_subfile *sf, char **out) ES_WUR;
/* Writes the file: 0600, atomically (cc_file_write_atomic). */
enum es_err es_subfile_write(const char *path, const struct es_subfile *sf) ES_WUR;

/*
 * Makes jansson wipe every buffer it frees (json_set_alloc_funcs with a free that clears
 * malloc_usable_size bytes): JSON that held a password leaves nothing behind. Idempotent; the
 * allocator stays malloc, so memory jansson handed out may still be released with free().
 */
void es_json_wipe_on_free(void);

#endif

/* edgesync private helpers shared by its source files; not installed. */
#ifndef EDGESYNC_INTERNAL_H
#define EDGESYNC_INTERNAL_H

#include <stddef.h>

#include <ldap.h>

#include "certcore/error.h"
#include "edgesync/error.h"
/* struct es_replicator's fields: every library file that works with a replicator sees them */
#include "replicator_impl.h"

/* Records a detail for es_errdetail() and returns `e`. */
enum es_err es_seterr(enum es_err e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As es_seterr, appending ": " and OpenSSL's queued reasons (the queue is drained). */
enum es_err es_seterr_ssl(enum es_err e, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* As es_seterr, appending ": " and strerror(errno). */
enum es_err es_seterr_errno(enum es_err e, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* As es_seterr, appending ": " and libldap's text for `rc` and the server's diagnostic. */
enum es_err es_seterr_ldap(enum es_err e, LDAP *ld, int rc, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* As es_seterr, appending ": " and certcore's error and detail. */
enum es_err es_seterr_cc(enum es_err e, enum cc_err ce, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* asprintf that returns NULL on failure. */
char *es_aprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Frees a NULL-terminated array of strings and the array. */
void es_strv_free(char **v);

/*
 * Test builds only (testhook.c, UMEDGE_TEST_HOOKS as testhook.h's): a sandboxed process says
 * which paths of EDGESYNC_TEST_OPEN it can open; `who` names it. Nothing in a build without them.
 */
#ifdef UMEDGE_TEST_HOOKS
void es_testhook_open(const char *who);
#else
static inline void
es_testhook_open(const char *who)
{
	(void)who;
}
#endif

#define ES_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A small LDAPMod array built on the stack for the few fixed-shape writes edgesync makes
 * (mods.c). Values are borrowed: they must live until the operation is sent.
 */
#define ES_MODS_MAX  16
#define ES_MODS_VALS 4
struct es_mods {
	LDAPMod m[ES_MODS_MAX];
	LDAPMod *p[ES_MODS_MAX + 1];
	struct berval bv[ES_MODS_MAX][ES_MODS_VALS];
	struct berval *bvp[ES_MODS_MAX][ES_MODS_VALS + 1];
	size_t n;
};
void es_mods_init(struct es_mods *ms);
/* `n` values (0: none, which for a delete or replace means the whole attribute), joined to the
 * previous modification when it has the same operation and attribute; aborts the
 * program when a fixed limit is exceeded, which is a programming error. */
void es_mods_addv(struct es_mods *ms, int op, const char *attr, const struct berval *vals,
                  size_t n);
/* One value (NULL: none). */
void es_mods_add1(struct es_mods *ms, int op, const char *attr, const void *val, size_t len);
/* One string value (NULL: none). */
void es_mods_adds(struct es_mods *ms, int op, const char *attr, const char *s);
LDAPMod **es_mods_get(struct es_mods *ms);

#endif

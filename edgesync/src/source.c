/*
 * The source side of a cycle: RFC 4533 refreshOnly through libldap's ldap_sync_* API, or a full
 * search.
 *
 * libldap 2.5.13's ldap_sync_init() hands each of its callbacks the first message of the chain
 * ldap_result() returned rather than the message being dispatched (ldap_sync.c, the loop after
 * ldap_result(..., LDAP_MSG_RECEIVED, ...)). With slapd it gets one message per call, as the
 * tests show, but if a chain ever held several, one entry would be seen twice and another not
 * at all. The callbacks therefore refuse a key they have already seen in the same refresh, and a
 * refresh with a duplicate fails as a whole: the cookie does not move and nothing is deleted.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "edgesync/source.h"
#include "edgesync/progress.h"
#include "internal.h"

void
es_keyset_init(struct es_keyset *k)
{
	memset(k, 0, sizeof(*k));
	k->sorted = true;
}

void
es_keyset_clear(struct es_keyset *k)
{
	free(k->v);
	es_keyset_init(k);
}

enum es_err
es_keyset_add(struct es_keyset *k, const char *key)
{
	size_t cap;
	char(*nv)[40];

	if (strlen(key) >= sizeof(k->v[0]))
		return es_seterr(ES_ERR_PARSE, "key \"%.60s\" is too long", key);
	if (k->n == k->cap) {
		cap = k->cap ? k->cap * 2 : 256;
		if ((nv = realloc(k->v, cap * sizeof(*nv))) == NULL)
			return es_seterr(ES_ERR_NOMEM, "key set");
		k->v = nv;
		k->cap = cap;
	}
	if (k->n > 0 && strcmp(k->v[k->n - 1], key) >= 0)
		k->sorted = false;
	memcpy(k->v[k->n++], key, strlen(key) + 1);
	return ES_OK;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(a, b);
}

bool
es_keyset_has(struct es_keyset *k, const char *key)
{
	size_t i, o;

	if (!k->sorted) {
		qsort(k->v, k->n, sizeof(k->v[0]), cmp_key);
		for (i = 0, o = 0; i < k->n; i++)
			if (o == 0 || strcmp(k->v[o - 1], k->v[i]) != 0)
				memmove(k->v[o++], k->v[i], sizeof(k->v[0]));
		k->n = o;
		k->sorted = true;
	}
	return k->n > 0 && bsearch(key, k->v, k->n, sizeof(k->v[0]), cmp_key) != NULL;
}

void
es_changes_init(struct es_changes *ch)
{
	memset(ch, 0, sizeof(*ch));
	es_entryset_init(&ch->changed);
	es_keyset_init(&ch->present);
	es_keyset_init(&ch->deleted);
}

void
es_changes_clear(struct es_changes *ch)
{
	size_t i;

	for (i = 0; i < ch->nrejected; i++)
		free(ch->rejected[i]);
	free(ch->rejected);
	es_entryset_clear(&ch->changed);
	es_keyset_clear(&ch->present);
	es_keyset_clear(&ch->deleted);
	free(ch->cookie.bv_val);
	es_changes_init(ch);
}

enum es_err
es_source_key(const struct es_entry *e, char buf[40])
{
	static const char hex[] = "0123456789abcdef";
	const struct es_attr *a = es_entry_attr(e, "entryUUID");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char *low;
	size_t k, n;

	if (a == NULL && (a = es_entry_attr(e, "objectGUID")) != NULL) {
		/* Active Directory: no entryUUID; objectGUID is as stable (renames, moves) */
		if (a->nvals != 1 || !es_guid_format(&a->vals[0], buf))
			return es_seterr(ES_ERR_SOURCE, "%s: objectGUID is not 16 bytes", e->dn);
		return ES_OK;
	}
	if (a != NULL && a->nvals == 1 && a->vals[0].bv_len > 0 && a->vals[0].bv_len < 40) {
		for (k = 0; k < a->vals[0].bv_len; k++) {
			unsigned char ch = (unsigned char)a->vals[0].bv_val[k];

			if (!isxdigit(ch) && ch != '-')
				return es_seterr(ES_ERR_PARSE, "%s: entryUUID is not a UUID",
				                 e->dn);
			buf[k] = (char)tolower(ch);
		}
		buf[k] = '\0';
		return ES_OK;
	}
	n = strlen(e->dn);
	if ((low = malloc(n + 1)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "key");
	for (k = 0; k < n; k++)
		low[k] = (char)tolower((unsigned char)e->dn[k]);
	if (EVP_Digest(low, n, md, &mdlen, EVP_sha256(), NULL) != 1) {
		free(low);
		return es_seterr_ssl(ES_ERR_CRYPTO, "SHA-256");
	}
	free(low);
	memcpy(buf, "dn-", 3);
	for (i = 0; i < 16; i++) {
		buf[3 + 2 * i] = hex[md[i] >> 4];
		buf[3 + 2 * i + 1] = hex[md[i] & 0xf];
	}
	buf[35] = '\0';
	return ES_OK;
}

bool
es_source_text_ok(const struct berval *v, size_t *at)
{
	iconv_t cd;
	char buf[256], *in = v->bv_val, *o;
	size_t left = v->bv_len, room, n;
	const char *nul;
	bool ok = true;

	*at = 0;
	if (v->bv_len == 0)
		return true;
	if ((nul = memchr(v->bv_val, '\0', v->bv_len)) != NULL) {
		*at = (size_t)(nul - v->bv_val);
		return false;
	}
	/* glibc converts through UCS-4 and refuses (EILSEQ, EINVAL at the end) overlong forms,
	 * surrogates and truncated sequences; the output is thrown away */
	if ((cd = iconv_open("UTF-8", "UTF-8")) == (iconv_t)-1)
		return false;
	while (left > 0) {
		o = buf;
		room = sizeof(buf);
		n = iconv(cd, &in, &left, &o, &room);
		if (n == (size_t)-1 && errno != E2BIG) {
			ok = false;
			*at = (size_t)(in - v->bv_val);
			break;
		}
	}
	iconv_close(cd);
	return ok;
}

static enum es_err
reject(struct es_changes *ch, const char *why)
{
	char **nv;

	if ((nv = realloc(ch->rejected, (ch->nrejected + 1) * sizeof(*nv))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "rejected entries");
	ch->rejected = nv;
	if ((nv[ch->nrejected] = strdup(why)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "rejected entries");
	ch->nrejected++;
	return ES_OK;
}

/* Why the entry's rule attributes cannot go to the edge, or NULL (owned). */
static char *
bad_text(const struct es_rule *r, const struct es_entry *e)
{
	const struct es_attr *a;
	size_t i, k, at;

	for (i = 0; r->attrs[i] != NULL; i++) {
		if ((a = es_entry_attr(e, r->attrs[i])) == NULL)
			continue;
		for (k = 0; k < a->nvals; k++)
			if (!es_source_text_ok(&a->vals[k], &at))
				return es_aprintf(
				        "rule %s: %s: %s value %zu of %zu %s at byte %zu; the "
				        "entry "
				        "is left as it is on the edge until it is corrected at the "
				        "source",
				        r->name, e->dn, a->name, k + 1, a->nvals,
				        at < a->vals[k].bv_len && a->vals[k].bv_val[at] == '\0'
				                ? "holds a NUL"
				                : "is not UTF-8",
				        at);
	}
	return NULL;
}

enum es_err
es_source_screen(const struct es_rule *r, bool need_guid, struct es_changes *ch)
{
	const struct es_attr *g;
	struct es_entry *e;
	char *why = NULL;
	enum es_err rr = ES_OK;
	size_t i, o;

	for (i = 0, o = 0; i < ch->changed.n; i++) {
		e = ch->changed.v[i];
		g = es_entry_attr(e, "objectGUID");
		if (need_guid && (g == NULL || g->nvals != 1 || g->vals[0].bv_len != 16)) {
			rr = es_seterr(
			        ES_ERR_SOURCE,
			        "rule %s: %s has %s: the area is not synced (nothing is deleted "
			        "on the edge) until the replicator's account can read it",
			        r->name, e->dn,
			        g == NULL ? "no objectGUID" : "an objectGUID that is not 16 bytes");
			goto out;
		}
		if ((why = bad_text(r, e)) != NULL) {
			if (e->key == NULL) {
				rr = es_seterr(ES_ERR_SOURCE, "rule %s: %s has no key", r->name,
				               e->dn);
				goto out;
			}
			if ((rr = reject(ch, why)) != ES_OK ||
			    (rr = es_keyset_add(&ch->present, e->key)) != ES_OK)
				goto out;
			free(why);
			why = NULL;
			es_entry_free(e);
			ch->changed.v[i] = NULL;
			continue;
		}
		ch->changed.v[o++] = e;
	}
	ch->changed.n = o;
	rr = ES_OK;
out:
	if (rr != ES_OK) {
		/* entries already taken out were freed; close the gap */
		for (; i < ch->changed.n; i++)
			ch->changed.v[o++] = ch->changed.v[i];
		ch->changed.n = o;
	}
	free(why);
	return rr;
}

char **
es_source_attrs(const struct es_rule *r, bool with_keys)
{
	size_t n = 0, i;
	char **v;

	while (r->attrs[n] != NULL)
		n++;
	if ((v = calloc(n + 3, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = r->attrs[i];
	if (with_keys) {
		v[n] = "entryUUID";
		v[n + 1] = "objectGUID";
	}
	return v;
}

struct full_ctx {
	struct es_changes *out;
};

static enum es_err
full_entry(LDAP *ld, LDAPMessage *m, void *arg)
{
	struct full_ctx *x = arg;
	struct es_entry *e = NULL;
	enum es_err rr;
	char key[40];

	if ((rr = es_entry_from_ldap(ld, m, NULL, &e)) != ES_OK ||
	    (rr = es_source_key(e, key)) != ES_OK)
		goto out;
	if ((e->key = strdup(key)) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "key");
		goto out;
	}
	rr = es_entryset_add(&x->out->changed, e);
	e = NULL;
out:
	es_entry_free(e);
	return rr;
}

enum es_err
es_source_full(struct es_conn *c, const struct es_rule *r, const char *base, struct es_changes *out)
{
	struct full_ctx x = {out};
	enum es_err rr;
	char **attrs = NULL, why[1024];

	es_changes_init(out);
	if ((attrs = es_source_attrs(r, true)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "attributes");
	rr = es_conn_search_each(c, base, LDAP_SCOPE_SUBTREE, r->filter, attrs, NULL, full_entry,
	                         &x);
	if (rr == ES_ERR_NOT_FOUND)
		rr = es_seterr(ES_ERR_SOURCE, "rule %s: the source base %s does not exist", r->name,
		               base);
	else if (rr == ES_ERR_LDAP) {
		/* a size or time limit, a page refused: the read is incomplete */
		snprintf(why, sizeof(why), "%s", es_errdetail());
		rr = es_seterr(ES_ERR_SOURCE, "rule %s: incomplete read of the source: %s", r->name,
		               why);
	}
	if (rr != ES_OK)
		goto out;
	if ((rr = es_entryset_sort(&out->changed)) != ES_OK)
		goto out;
	out->complete = true;
	out->present_phase = true;
	rr = ES_OK;
out:
	free(attrs);
	if (rr != ES_OK)
		es_changes_clear(out);
	return rr;
}

struct sync_ctx {
	struct es_changes *ch;
	struct es_progress *progress; /* the connection's; may be NULL */
	enum es_err err;
	char errbuf[512];
	bool done;
	int refresh_deletes;
};

static void
sync_fail(struct sync_ctx *x, enum es_err e)
{
	if (x->err == ES_OK) {
		x->err = e;
		snprintf(x->errbuf, sizeof(x->errbuf), "%s", es_errdetail());
	}
}

static int
on_entry(ldap_sync_t *ls, LDAPMessage *msg, struct berval *uuid, ldap_sync_refresh_t phase)
{
	struct sync_ctx *x = ls->ls_private;
	struct es_entry *e = NULL;
	enum es_err r;
	char key[40];

	if (x->err != ES_OK)
		return LDAP_OTHER;
	if (!es_uuid_format(uuid, key)) {
		sync_fail(x, es_seterr(ES_ERR_SOURCE, "sync state with a %zu-byte entryUUID",
		                       (size_t)uuid->bv_len));
		return LDAP_OTHER;
	}
	switch (phase) {
	case LDAP_SYNC_CAPI_PRESENT:
		r = es_keyset_add(&x->ch->present, key);
		break;
	case LDAP_SYNC_CAPI_DELETE:
		r = es_keyset_add(&x->ch->deleted, key);
		break;
	case LDAP_SYNC_CAPI_ADD:
	case LDAP_SYNC_CAPI_MODIFY:
		if ((r = es_entry_from_ldap(ls->ls_ld, msg, key, &e)) == ES_OK)
			r = es_entryset_add(&x->ch->changed, e);
		break;
	default:
		r = es_seterr(ES_ERR_SOURCE, "unexpected sync state %d", (int)phase);
		break;
	}
	if (r != ES_OK) {
		sync_fail(x, r);
		return LDAP_OTHER;
	}
	es_progress_read(x->progress, 1);
	return LDAP_SUCCESS;
}

static int
on_intermediate(ldap_sync_t *ls, LDAPMessage *msg, BerVarray uuids, ldap_sync_refresh_t phase)
{
	struct sync_ctx *x = ls->ls_private;
	struct es_keyset *into;
	enum es_err r;
	char key[40];
	size_t i;

	(void)msg;
	if (x->err != ES_OK || uuids == NULL)
		return x->err == ES_OK ? LDAP_SUCCESS : LDAP_OTHER;
	if (phase == LDAP_SYNC_CAPI_PRESENTS_IDSET)
		into = &x->ch->present;
	else if (phase == LDAP_SYNC_CAPI_DELETES_IDSET)
		into = &x->ch->deleted;
	else
		return LDAP_SUCCESS;
	for (i = 0; uuids[i].bv_val != NULL; i++) {
		if (!es_uuid_format(&uuids[i], key)) {
			sync_fail(x, es_seterr(ES_ERR_SOURCE, "syncIdSet with a malformed UUID"));
			return LDAP_OTHER;
		}
		if ((r = es_keyset_add(into, key)) != ES_OK) {
			sync_fail(x, r);
			return LDAP_OTHER;
		}
	}
	return LDAP_SUCCESS;
}

static int
on_result(ldap_sync_t *ls, LDAPMessage *msg, int refresh_deletes)
{
	struct sync_ctx *x = ls->ls_private;

	(void)msg;
	x->done = true;
	x->refresh_deletes = refresh_deletes;
	return LDAP_SUCCESS;
}

/* One refreshOnly round trip. *rc_out receives the result code (LDAP_SYNC_REFRESH_REQUIRED...). */
static enum es_err
refresh(struct es_conn *c, const struct es_rule *r, const char *base, const struct berval *cookie,
        struct es_changes *out, int *rc_out)
{
	ldap_sync_t ls;
	struct sync_ctx x;
	enum es_err rr = ES_ERR_SOURCE;
	char **attrs = NULL;
	int rc;

	es_changes_init(out);
	memset(&x, 0, sizeof(x));
	x.ch = out;
	x.progress = es_conn_progress(c);
	x.refresh_deletes = -1;
	*rc_out = LDAP_OTHER;
	if (ldap_sync_initialize(&ls) == NULL)
		return es_seterr(ES_ERR_NOMEM, "sync");
	if ((attrs = es_source_attrs(r, false)) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "attributes");
		goto out;
	}
	/* the strings stay ours: they are taken back before ldap_sync_destroy, which would
	 * ldap_memfree them (and unbind the connection) */
	ls.ls_base = (char *)base;
	ls.ls_scope = LDAP_SCOPE_SUBTREE;
	ls.ls_filter = r->filter;
	ls.ls_attrs = attrs;
	/* the server's time limit for the whole refresh, as for any whole-content search */
	ls.ls_timelimit = es_conn_timeout(c) * ES_CONN_CONTENT_FACTOR;
	ls.ls_timeout = es_conn_timeout(c);
	ls.ls_search_entry = on_entry;
	ls.ls_intermediate = on_intermediate;
	ls.ls_search_result = on_result;
	ls.ls_private = &x;
	ls.ls_ld = es_conn_ld(c);
	if (cookie != NULL && cookie->bv_len > 0 &&
	    ber_dupbv(&ls.ls_cookie, (struct berval *)cookie) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "cookie");
		goto out;
	}
	rc = ldap_sync_init(&ls, LDAP_SYNC_REFRESH_ONLY);
	*rc_out = rc;
	if (x.err != ES_OK) {
		rr = es_seterr(x.err, "rule %s: %s", r->name, x.errbuf);
		goto out;
	}
	if (rc == LDAP_SYNC_REFRESH_REQUIRED) {
		rr = es_seterr(ES_ERR_SOURCE, "rule %s: the source wants a full refresh", r->name);
		goto out;
	}
	if (rc == LDAP_SIZELIMIT_EXCEEDED || rc == LDAP_ADMINLIMIT_EXCEEDED) {
		/* RFC 4533 does not page (slapd answers a sync search with the paging control
		 * with one page and no cookie: the rest would be lost silently) */
		rr = es_seterr_ldap(ES_ERR_LIMIT, es_conn_ld(c), rc,
		                    "rule %s: RFC 4533 refresh of %s", r->name, base);
		goto out;
	}
	if (rc != LDAP_SUCCESS || !x.done) {
		rr = es_seterr_ldap(rc == LDAP_SERVER_DOWN || rc == -1 ? ES_ERR_CONNECT
		                                                       : ES_ERR_SOURCE,
		                    es_conn_ld(c), rc == -1 ? LDAP_SERVER_DOWN : rc,
		                    "rule %s: RFC 4533 refresh of %s", r->name, base);
		goto out;
	}
	if ((rr = es_entryset_sort(&out->changed)) != ES_OK) {
		char why[1024];

		snprintf(why, sizeof(why), "%s", es_errdetail());
		rr = es_seterr(ES_ERR_SOURCE,
		               "rule %s: one entry was delivered twice in a refresh "
		               "(%s); nothing is applied",
		               r->name, why);
		goto out;
	}
	out->synced = true;
	/* Without a cookie the server sent the whole content (RFC 4533 section 3.3.1): whatever
	 * the edge holds besides it is gone, whatever refreshDeletes says. */
	out->complete = cookie == NULL || cookie->bv_len == 0;
	out->present_phase = out->complete || x.refresh_deletes == 0;
	if (ls.ls_cookie.bv_val != NULL) {
		if ((out->cookie.bv_val = malloc(ls.ls_cookie.bv_len + 1)) == NULL) {
			rr = es_seterr(ES_ERR_NOMEM, "cookie");
			goto out;
		}
		memcpy(out->cookie.bv_val, ls.ls_cookie.bv_val, ls.ls_cookie.bv_len);
		out->cookie.bv_val[ls.ls_cookie.bv_len] = '\0';
		out->cookie.bv_len = ls.ls_cookie.bv_len;
	} else if (cookie != NULL) {
		/* nothing new: the old cookie stays valid */
		if ((out->cookie.bv_val = malloc(cookie->bv_len + 1)) == NULL) {
			rr = es_seterr(ES_ERR_NOMEM, "cookie");
			goto out;
		}
		memcpy(out->cookie.bv_val, cookie->bv_val, cookie->bv_len);
		out->cookie.bv_val[cookie->bv_len] = '\0';
		out->cookie.bv_len = cookie->bv_len;
	}
	rr = ES_OK;
out:
	ber_memfree(ls.ls_cookie.bv_val);
	ls.ls_cookie.bv_val = NULL;
	ls.ls_base = NULL;
	ls.ls_filter = NULL;
	ls.ls_attrs = NULL;
	ls.ls_ld = NULL;
	ldap_sync_destroy(&ls, 0);
	free(attrs);
	if (rr != ES_OK)
		es_changes_clear(out);
	return rr;
}

enum es_err
es_source_sync(struct es_conn *c, const struct es_rule *r, const char *base,
               const struct berval *cookie, struct es_changes *out)
{
	enum es_err rr;
	int rc = LDAP_SUCCESS;

	rr = refresh(c, r, base, cookie, out, &rc);
	if (rr != ES_OK && rc == LDAP_SYNC_REFRESH_REQUIRED && cookie != NULL)
		/* e-syncRefreshRequired (RFC 4533 section 3.4.2): start again without a cookie */
		rr = refresh(c, r, base, NULL, out, &rc);
	return rr;
}

/*
 * The source side of a cycle: an RFC 4533 refreshOnly refresh read by edgesync's own loop (see
 * refresh() below), or a full search.
 *
 * A refresh in which one entry comes twice is refused as a whole: the cookie does not move and
 * nothing is deleted.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "edgesync/source.h"
#include "edgesync/progress.h"
#include "edgesync/syncmsg.h"
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

/*
 * An RFC 4533 refreshOnly refresh, read by edgesync itself: the search goes out with
 * ldap_search_ext and the Sync Request control, every answer is taken from ldap_result one
 * message at a time, and every control and syncInfo message is parsed by syncmsg.c. libldap
 * 2.5.13's ldap_sync_init is not used: it asserts (ends the process) on a Sync State control
 * without a value, or one past an entry shorter than its message, leaks a message of a type a
 * search never receives, and calls ldap_parse_intermediate, which asserts on an empty
 * responseName. Anything malformed fails the area, naming the message and what was wrong.
 */
enum phase { PHASE_NONE, PHASE_PRESENT_DONE, PHASE_DELETE_DONE };

struct refresh_st {
	LDAP *ld;
	struct es_changes *out;
	struct es_progress *progress; /* the connection's; may be NULL */
	struct berval cookie;         /* the last the server sent; owned; bv_val NULL: none */
	enum phase phase;
	bool done;            /* searchResultDone read */
	int result;           /* its resultCode */
	bool refresh_deletes; /* its Sync Done control's */
	size_t n;             /* messages read */
};

static const char *
msg_name(int type)
{
	switch (type) {
	case LDAP_RES_SEARCH_ENTRY:
		return "searchResultEntry";
	case LDAP_RES_SEARCH_REFERENCE:
		return "searchResultReference";
	case LDAP_RES_SEARCH_RESULT:
		return "searchResultDone";
	case LDAP_RES_INTERMEDIATE:
		return "intermediateResponse";
	default:
		return "a message a search never receives";
	}
}

/* A cookie a message carried replaces the one before (RFC 4533 section 3.5); `c` is taken. */
static void
keep_cookie(struct refresh_st *st, struct berval *c)
{
	if (c->bv_val == NULL)
		return;
	free(st->cookie.bv_val);
	st->cookie = *c;
	c->bv_val = NULL;
	c->bv_len = 0;
}

static enum es_err
take_entry(struct refresh_st *st, LDAPMessage *m)
{
	LDAPControl **ctrls = NULL, *ctl;
	struct berval cookie = {0, NULL};
	struct es_entry *e = NULL;
	enum es_err r;
	int state = -1, rc;
	char key[40];

	if ((rc = ldap_get_entry_controls(st->ld, m, &ctrls)) != LDAP_SUCCESS) {
		r = es_seterr_ldap(ES_ERR_SOURCE, st->ld, rc, "its controls cannot be read");
		goto out;
	}
	/* libldap's reader skipped such an entry: in a present phase its copy would be deleted */
	if ((ctl = ldap_control_find(LDAP_CONTROL_SYNC_STATE, ctrls, NULL)) == NULL) {
		r = es_seterr(ES_ERR_SOURCE, "no Sync State control");
		goto out;
	}
	if ((r = es_sync_state_parse(&ctl->ldctl_value, &state, key, &cookie)) != ES_OK)
		goto out;
	keep_cookie(st, &cookie);
	switch (state) {
	case LDAP_SYNC_PRESENT:
		r = es_keyset_add(&st->out->present, key);
		break;
	case LDAP_SYNC_DELETE:
		r = es_keyset_add(&st->out->deleted, key);
		break;
	default: /* add, modify */
		if ((r = es_entry_from_ldap(st->ld, m, key, &e)) == ES_OK)
			r = es_entryset_add(&st->out->changed, e); /* takes e */
		break;
	}
	if (r != ES_OK)
		goto out;
	es_progress_read(st->progress, 1);
	r = ES_OK;
out:
	free(cookie.bv_val);
	ldap_controls_free(ctrls);
	return r;
}

static enum es_err
take_info(struct refresh_st *st, LDAPMessage *m)
{
	struct es_sync_info i;
	struct es_keyset *into;
	struct berval op;
	enum es_err r;
	size_t k;

	memset(&i, 0, sizeof(i));
	es_keyset_init(&i.ids);
	if ((r = es_sync_message_op(m, &op)) != ES_OK || (r = es_sync_info_parse(&op, &i)) != ES_OK)
		goto out;
	keep_cookie(st, &i.cookie);
	switch (i.kind) {
	case ES_SYNC_INFO_NEW_COOKIE:
		break;
	case ES_SYNC_INFO_REFRESH_PRESENT:
	case ES_SYNC_INFO_REFRESH_DELETE:
		/* refreshDone TRUE ends the refresh stage of refreshAndPersist; refreshOnly ends
		 * with searchResultDone (RFC 4533 sections 3.3.1, 3.4) */
		if (i.refresh_done) {
			r = es_seterr(
			        ES_ERR_SOURCE,
			        "syncInfo %s with refreshDone TRUE, but a refreshOnly refresh "
			        "ends with searchResultDone",
			        i.kind == ES_SYNC_INFO_REFRESH_PRESENT ? "refreshPresent"
			                                               : "refreshDelete");
			goto out;
		}
		/* a present phase may be followed by a delete phase, never the other way */
		if (st->phase == PHASE_DELETE_DONE ||
		    (i.kind == ES_SYNC_INFO_REFRESH_PRESENT && st->phase != PHASE_NONE)) {
			r = es_seterr(ES_ERR_SOURCE, "syncInfo %s after the end of a %s phase",
			              i.kind == ES_SYNC_INFO_REFRESH_PRESENT ? "refreshPresent"
			                                                     : "refreshDelete",
			              st->phase == PHASE_DELETE_DONE ? "delete" : "present");
			goto out;
		}
		st->phase = i.kind == ES_SYNC_INFO_REFRESH_PRESENT ? PHASE_PRESENT_DONE
		                                                   : PHASE_DELETE_DONE;
		break;
	case ES_SYNC_INFO_ID_SET:
		into = i.refresh_deletes ? &st->out->deleted : &st->out->present;
		for (k = 0; k < i.ids.n; k++)
			if ((r = es_keyset_add(into, i.ids.v[k])) != ES_OK)
				goto out;
		break;
	}
	r = ES_OK;
out:
	es_sync_info_clear(&i);
	return r;
}

static enum es_err
take_done(struct refresh_st *st, LDAPMessage *m)
{
	LDAPControl **ctrls = NULL, *ctl;
	struct berval cookie = {0, NULL};
	enum es_err r;
	int rc, err = LDAP_OTHER;

	if ((rc = ldap_parse_result(st->ld, m, &err, NULL, NULL, NULL, &ctrls, 0)) !=
	    LDAP_SUCCESS) {
		r = es_seterr_ldap(ES_ERR_SOURCE, st->ld, rc, "it cannot be read");
		goto out;
	}
	st->done = true;
	st->result = err;
	if (err != LDAP_SUCCESS) { /* the caller names the result */
		r = ES_OK;
		goto out;
	}
	if ((ctl = ldap_control_find(LDAP_CONTROL_SYNC_DONE, ctrls, NULL)) == NULL) {
		r = es_seterr(ES_ERR_SOURCE, "success without a Sync Done control");
		goto out;
	}
	if ((r = es_sync_done_parse(&ctl->ldctl_value, &cookie, &st->refresh_deletes)) != ES_OK)
		goto out;
	keep_cookie(st, &cookie);
	r = ES_OK;
out:
	free(cookie.bv_val);
	ldap_controls_free(ctrls);
	return r;
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One refreshOnly round trip. *rc_out receives the result code (LDAP_SYNC_REFRESH_REQUIRED...). */
static enum es_err
refresh(struct es_conn *c, const struct es_rule *r, const char *base, const struct berval *cookie,
        struct es_changes *out, int *rc_out)
{
	struct refresh_st st;
	LDAPControl *ctrl = NULL, *sctrls[2];
	LDAPMessage *m = NULL;
	struct berval val = {0, NULL};
	struct timeval tv;
	LDAP *ld = es_conn_ld(c);
	char **attrs = NULL, why[1024];
	enum es_err rr;
	/* the server's time limit for the whole refresh, as for any whole-content search */
	int limit = es_conn_timeout(c) * ES_CONN_CONTENT_FACTOR, rc, msgid = -1, type = -1;
	double deadline, left;

	es_changes_init(out);
	memset(&st, 0, sizeof(st));
	st.ld = ld;
	st.out = out;
	st.progress = es_conn_progress(c);
	st.phase = PHASE_NONE;
	st.result = LDAP_OTHER;
	*rc_out = LDAP_OTHER;
	if ((attrs = es_source_attrs(r, false)) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "attributes");
		goto out;
	}
	if ((rr = es_sync_request_encode(LDAP_SYNC_REFRESH_ONLY,
	                                 cookie != NULL && cookie->bv_len > 0 ? cookie : NULL,
	                                 &val)) != ES_OK)
		goto out;
	/* critical: a server without RFC 4533 refuses rather than answering a plain search */
	if ((rc = ldap_control_create(LDAP_CONTROL_SYNC, 1, &val, 1, &ctrl)) != LDAP_SUCCESS) {
		rr = es_seterr_ldap(ES_ERR_NOMEM, ld, rc, "Sync Request control");
		goto out;
	}
	sctrls[0] = ctrl;
	sctrls[1] = NULL;
	tv.tv_sec = limit;
	tv.tv_usec = 0;
	rc = ldap_search_ext(ld, base, LDAP_SCOPE_SUBTREE, r->filter, attrs, 0, sctrls, NULL, &tv,
	                     LDAP_NO_LIMIT, &msgid);
	if (rc != LDAP_SUCCESS) {
		*rc_out = rc;
		rr = es_seterr_ldap(rc == LDAP_SERVER_DOWN ? ES_ERR_CONNECT : ES_ERR_SOURCE, ld, rc,
		                    "rule %s: RFC 4533 refresh of %s", r->name, base);
		msgid = -1;
		goto out;
	}
	/* the answer may take the server's limit, and one operation timeout more to arrive */
	deadline = mono_now() + limit + es_conn_timeout(c);
	while (!st.done) {
		if ((left = deadline - mono_now()) <= 0) {
			rr = es_seterr(
			        ES_ERR_CONNECT,
			        "rule %s: RFC 4533 refresh of %s: no searchResultDone within "
			        "%d s (%zu messages read)",
			        r->name, base, limit + es_conn_timeout(c), st.n);
			goto out;
		}
		tv.tv_sec = (time_t)left + 1;
		tv.tv_usec = 0;
		m = NULL;
		type = ldap_result(ld, msgid, LDAP_MSG_ONE, &tv, &m);
		/* 0 is a timeout, or a message whose protocolOp has tag 0: libldap returns its
		 * tag, so only the message tells them apart */
		if (type == 0 && m == NULL)
			continue;
		if (type == -1) {
			int err = LDAP_SERVER_DOWN;

			m = NULL;
			(void)ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &err);
			*rc_out = err;
			rr = es_seterr_ldap(ES_ERR_CONNECT, ld, err,
			                    "rule %s: RFC 4533 refresh of %s: the connection ended "
			                    "before searchResultDone, after %zu messages",
			                    r->name, base, st.n);
			goto out;
		}
		st.n++;
		switch (type) {
		case LDAP_RES_SEARCH_ENTRY:
			rr = take_entry(&st, m);
			break;
		case LDAP_RES_SEARCH_REFERENCE: /* referrals are not followed */
			rr = ES_OK;
			break;
		case LDAP_RES_INTERMEDIATE:
			rr = take_info(&st, m);
			break;
		case LDAP_RES_SEARCH_RESULT:
			rr = take_done(&st, m);
			break;
		default:
			rr = es_seterr(ES_ERR_SOURCE, "type 0x%x", (unsigned)type);
			break;
		}
		ldap_msgfree(m);
		m = NULL;
		if (rr != ES_OK) {
			snprintf(why, sizeof(why), "%s", es_errdetail());
			rr = es_seterr(rr, "rule %s: RFC 4533 refresh of %s: message %zu (%s): %s",
			               r->name, base, st.n, msg_name(type), why);
			goto out;
		}
	}
	*rc_out = st.result;
	if (st.result == LDAP_SYNC_REFRESH_REQUIRED) {
		rr = es_seterr(ES_ERR_SOURCE, "rule %s: the source wants a full refresh", r->name);
		goto out;
	}
	if (st.result == LDAP_SIZELIMIT_EXCEEDED || st.result == LDAP_ADMINLIMIT_EXCEEDED) {
		/* RFC 4533 does not page (slapd answers a sync search with the paging control
		 * with one page and no cookie: the rest would be lost silently) */
		rr = es_seterr_ldap(ES_ERR_LIMIT, ld, st.result, "rule %s: RFC 4533 refresh of %s",
		                    r->name, base);
		goto out;
	}
	if (st.result != LDAP_SUCCESS) {
		rr = es_seterr_ldap(st.result == LDAP_SERVER_DOWN ? ES_ERR_CONNECT : ES_ERR_SOURCE,
		                    ld, st.result, "rule %s: RFC 4533 refresh of %s", r->name,
		                    base);
		goto out;
	}
	if ((rr = es_entryset_sort(&out->changed)) != ES_OK) {
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
	out->present_phase = out->complete || !st.refresh_deletes;
	if (st.cookie.bv_val != NULL) {
		out->cookie = st.cookie;
		st.cookie.bv_val = NULL;
		st.cookie.bv_len = 0;
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
	/* stopped before the end: the server may drop the rest (RFC 4511 section 4.11) */
	if (msgid >= 0 && !st.done)
		(void)ldap_abandon_ext(ld, msgid, NULL, NULL);
	ldap_msgfree(m);
	free(st.cookie.bv_val);
	ldap_control_free(ctrl);
	ber_memfree(val.bv_val);
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

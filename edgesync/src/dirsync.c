/* Active Directory's DirSync control: the incremental read of an AD source (dirsync.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edgesync/dirsync.h"
#include "internal.h"

/* the show-deleted control, so tombstones (isDeleted) are seen ([MS-ADTS] 3.1.1.3.4.1.14) */
#define SHOW_DELETED LDAP_CONTROL_X_SHOW_DELETED
#define GUID_BATCH   100

enum es_err
es_dirsync_encode(int flags, int max_bytes, const struct berval *cookie, struct berval *out)
{
	BerElement *ber;
	struct berval empty = {0, ""};
	enum es_err r = ES_OK;

	out->bv_val = NULL;
	out->bv_len = 0;
	if ((ber = ber_alloc_t(LBER_USE_DER)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "DirSync control");
	if (ber_printf(ber, "{iiO}", (ber_int_t)flags, (ber_int_t)max_bytes,
	               cookie != NULL && cookie->bv_len > 0 ? cookie : &empty) == -1 ||
	    ber_flatten2(ber, out, 1) == -1)
		r = es_seterr(ES_ERR_NOMEM, "DirSync control: BER encoding failed");
	ber_free(ber, 1);
	return r;
}

enum es_err
es_dirsync_parse(const struct berval *value, bool *more, struct berval *cookie)
{
	BerElement *ber;
	ber_int_t flag = 0, unused = 0;
	enum es_err r = ES_OK;

	*more = false;
	cookie->bv_val = NULL;
	cookie->bv_len = 0;
	/* liblber 2.5 reads through a NULL buffer when ber_init is given an empty value */
	if (value == NULL || value->bv_val == NULL || value->bv_len == 0 ||
	    (ber = ber_init((struct berval *)value)) == NULL)
		return es_seterr(ES_ERR_SOURCE, "DirSync response control without a value");
	if (ber_scanf(ber, "{iio}", &flag, &unused, cookie) == LBER_ERROR) {
		ber_memfree(cookie->bv_val);
		cookie->bv_val = NULL;
		cookie->bv_len = 0;
		r = es_seterr(ES_ERR_SOURCE, "DirSync response control: malformed BER");
	} else {
		*more = flag != 0;
	}
	ber_free(ber, 1);
	return r;
}

/* True when `dn` is `base` or under it (RFC 4514 forms compared without regard to case). */
static bool
under(const char *dn, const char *base)
{
	LDAPDN d = NULL, b = NULL;
	char *ds = NULL, *bs = NULL;
	size_t dl, bl;
	bool yes = false;

	if (ldap_str2dn(dn, &d, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldap_str2dn(base, &b, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldap_dn2str(d, &ds, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldap_dn2str(b, &bs, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || ds == NULL || bs == NULL)
		goto out;
	dl = strlen(ds);
	bl = strlen(bs);
	if (bl == 0)
		yes = true;
	else if (dl == bl)
		yes = strcasecmp(ds, bs) == 0;
	else if (dl > bl)
		yes = ds[dl - bl - 1] == ',' && strcasecmp(ds + dl - bl, bs) == 0;
out:
	ldap_dnfree(d);
	ldap_dnfree(b);
	ldap_memfree(ds);
	ldap_memfree(bs);
	return yes;
}

static bool
is_deleted(const struct es_entry *e)
{
	const struct es_attr *a = es_entry_attr(e, "isDeleted");

	return a != NULL && a->nvals == 1 && a->vals[0].bv_len == 4 &&
	       strncasecmp(a->vals[0].bv_val, "TRUE", 4) == 0;
}

struct round {
	struct es_changes *out;
	const struct es_rule *r;
	const char *base;
	struct es_keyset candidates; /* changed objects still under the base (incremental) */
};

/* One object of a DirSync answer: a tombstone or an object outside the base is a deleted key,
 * any other a candidate to read again whole. */
static enum es_err
take(struct round *x, const struct es_entry *e)
{
	char key[40];
	const struct es_attr *g = es_entry_attr(e, "objectGUID");

	if (g == NULL)
		return es_seterr(ES_ERR_SOURCE, "rule %s: %s has no objectGUID", x->r->name, e->dn);
	if (g->nvals != 1 || !es_guid_format(&g->vals[0], key))
		return es_seterr(ES_ERR_SOURCE, "rule %s: %s: objectGUID is not 16 bytes",
		                 x->r->name, e->dn);
	if (is_deleted(e) || !under(e->dn, x->base))
		return es_keyset_add(&x->out->deleted, key);
	return es_keyset_add(&x->candidates, key);
}

/* One DirSync request; *next receives the server's cookie, *more its "more data". */
static enum es_err
dirsync_once(struct es_conn *c, struct round *x, const char *nc, const char *filter, char **attrs,
             const struct berval *cookie, int flags, struct berval *next, bool *more, int *rc_out)
{
	LDAPControl *ctrl = NULL, *show = NULL, *sctrls[3], **rctrls = NULL, *resp;
	LDAPMessage *res = NULL, *m;
	struct berval val = {0, NULL};
	struct timeval tv = {es_conn_timeout(c) * ES_CONN_CONTENT_FACTOR, 0};
	struct es_entry *e = NULL;
	LDAP *ld = es_conn_ld(c);
	enum es_err rr;
	int rc, err = LDAP_OTHER;

	next->bv_val = NULL;
	next->bv_len = 0;
	*more = false;
	*rc_out = LDAP_SUCCESS;
	if ((rr = es_dirsync_encode(flags, ES_DIRSYNC_MAX_BYTES, cookie, &val)) != ES_OK)
		goto out;
	/* critical: a server that ignored it would answer with everything and no cookie */
	if ((rc = ldap_control_create(LDAP_CONTROL_X_DIRSYNC, 1, &val, 1, &ctrl)) != LDAP_SUCCESS ||
	    (rc = ldap_control_create(SHOW_DELETED, 1, NULL, 0, &show)) != LDAP_SUCCESS) {
		rr = es_seterr_ldap(ES_ERR_NOMEM, ld, rc, "DirSync control");
		goto out;
	}
	sctrls[0] = ctrl;
	sctrls[1] = show;
	sctrls[2] = NULL;
	rc = ldap_search_ext_s(ld, nc, LDAP_SCOPE_SUBTREE, filter, attrs, 0, sctrls, NULL, &tv,
	                       LDAP_NO_LIMIT, &res);
	*rc_out = rc;
	if (rc != LDAP_SUCCESS) {
		rr = es_seterr_ldap(rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ? ES_ERR_CONNECT
		                                                                 : ES_ERR_SOURCE,
		                    ld, rc, "rule %s: DirSync search of %s", x->r->name, nc);
		goto out;
	}
	rc = ldap_parse_result(ld, res, &err, NULL, NULL, NULL, &rctrls, 0);
	if (rc != LDAP_SUCCESS || err != LDAP_SUCCESS) {
		*rc_out = rc != LDAP_SUCCESS ? rc : err;
		rr = es_seterr_ldap(ES_ERR_SOURCE, ld, *rc_out, "rule %s: DirSync search of %s",
		                    x->r->name, nc);
		goto out;
	}
	if ((resp = ldap_control_find(LDAP_CONTROL_X_DIRSYNC, rctrls, NULL)) == NULL) {
		rr = es_seterr(ES_ERR_SOURCE, "rule %s: the DirSync answer has no DirSync control",
		               x->r->name);
		goto out;
	}
	if ((rr = es_dirsync_parse(&resp->ldctl_value, more, next)) != ES_OK)
		goto out;
	for (m = ldap_first_entry(ld, res); m != NULL; m = ldap_next_entry(ld, m)) {
		if ((rr = es_entry_from_ldap(ld, m, NULL, &e)) != ES_OK ||
		    (rr = take(x, e)) != ES_OK)
			goto out;
		es_entry_free(e);
		e = NULL;
	}
	rr = ES_OK;
out:
	es_entry_free(e);
	ldap_controls_free(rctrls);
	ldap_msgfree(res);
	ldap_control_free(ctrl);
	ldap_control_free(show);
	ber_memfree(val.bv_val);
	if (rr != ES_OK) {
		ber_memfree(next->bv_val);
		next->bv_val = NULL;
		next->bv_len = 0;
	}
	return rr;
}

/* Reads again, whole and with the rule's filter, the candidates keys[0..n) under the base: those
 * found are changed entries, the others deleted keys. */
static enum es_err
reread(struct es_conn *c, struct round *x, char (*keys)[40], size_t n)
{
	LDAPMessage *res = NULL, *m;
	struct es_entryset found;
	struct es_entry *e = NULL;
	char **attrs = NULL, *filter = NULL, *next, esc[16 * 3 + 1], key[40];
	unsigned char raw[16];
	unsigned int b;
	enum es_err rr = ES_OK;
	size_t i, k;
	static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

	es_entryset_init(&found);
	if ((attrs = es_source_attrs(x->r, true)) == NULL ||
	    (filter = es_aprintf("(&%s(|", x->r->filter)) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "filter");
		goto out;
	}
	for (i = 0; i < n; i++) {
		/* the key back to the 16 bytes of objectGUID, each escaped (RFC 4515 \XX) */
		for (k = 0; k < 16; k++) {
			if (sscanf(keys[i] + 2 * k + (k >= 4) + (k >= 6) + (k >= 8) + (k >= 10),
			           "%2x", &b) != 1) {
				rr = es_seterr(ES_ERR_PARSE, "key %s is not a GUID", keys[i]);
				goto out;
			}
			raw[order[k]] = (unsigned char)b;
		}
		for (k = 0; k < 16; k++)
			snprintf(esc + 3 * k, 4, "\\%02x", raw[k]);
		next = es_aprintf("%s(objectGUID=%s)", filter, esc);
		free(filter);
		if ((filter = next) == NULL) {
			rr = es_seterr(ES_ERR_NOMEM, "filter");
			goto out;
		}
	}
	next = es_aprintf("%s))", filter);
	free(filter);
	if ((filter = next) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "filter");
		goto out;
	}
	rr = es_conn_search(c, x->base, LDAP_SCOPE_SUBTREE, filter, attrs, &res);
	if (rr != ES_OK)
		goto out;
	for (m = ldap_first_entry(es_conn_ld(c), res); m != NULL;
	     m = ldap_next_entry(es_conn_ld(c), m)) {
		if ((rr = es_entry_from_ldap(es_conn_ld(c), m, NULL, &e)) != ES_OK ||
		    (rr = es_source_key(e, key)) != ES_OK)
			goto out;
		if ((e->key = strdup(key)) == NULL) {
			rr = es_seterr(ES_ERR_NOMEM, "key");
			goto out;
		}
		rr = es_entryset_add(&found, e);
		e = NULL;
		if (rr != ES_OK)
			goto out;
	}
	if ((rr = es_entryset_sort(&found)) != ES_OK)
		goto out;
	for (i = 0; i < n; i++)
		if (es_entryset_find(&found, keys[i]) == NULL &&
		    (rr = es_keyset_add(&x->out->deleted, keys[i])) != ES_OK)
			goto out;
	/* the found entries move to the changes */
	for (i = 0; i < found.n; i++) {
		rr = es_entryset_add(&x->out->changed, found.v[i]);
		found.v[i] = NULL;
		if (rr != ES_OK)
			goto out;
	}
	found.n = 0;
	rr = ES_OK;
out:
	es_entry_free(e);
	es_entryset_clear(&found);
	ldap_msgfree(res);
	free(filter);
	free(attrs);
	return rr;
}

/* One key of the area (present-phase read). */
static enum es_err
present_key(LDAP *ld, LDAPMessage *m, void *arg)
{
	struct es_keyset *present = arg;
	struct berval **v = ldap_get_values_len(ld, m, "objectGUID");
	enum es_err rr;
	char key[40];

	if (v == NULL || v[0] == NULL || v[1] != NULL || !es_guid_format(v[0], key))
		rr = es_seterr(ES_ERR_SOURCE, "an entry of the area without a 16-byte objectGUID");
	else
		rr = es_keyset_add(present, key);
	ldap_value_free_len(v);
	return rr;
}

/* The attributes a DirSync request asks for: the rule's, the key, and what tells a tombstone or
 * a move (name changes on a rename or move). */
static char **
dirsync_attrs(const struct es_rule *r)
{
	size_t n = 0, i;
	char **v;

	while (r->attrs[n] != NULL)
		n++;
	if ((v = calloc(n + 4, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = r->attrs[i];
	v[n] = "objectGUID";
	v[n + 1] = "isDeleted";
	v[n + 2] = "name";
	return v;
}

static enum es_err
run(struct es_conn *c, const struct es_rule *r, const char *base, const char *nc,
    const struct berval *cookie, int *flags, struct es_changes *out, int *rc_out)
{
	struct round x;
	struct berval cur = {0, NULL}, next = {0, NULL};
	char **attrs = NULL;
	enum es_err rr;
	bool more = true, retried = false, initial = cookie == NULL || cookie->bv_len == 0;
	size_t i;

	es_changes_init(out);
	memset(&x, 0, sizeof(x));
	x.out = out;
	x.r = r;
	x.base = base;
	es_keyset_init(&x.candidates);
	if ((attrs = dirsync_attrs(r)) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "attributes");
		goto out;
	}
	if (!initial && ber_dupbv(&cur, (struct berval *)cookie) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "cookie");
		goto out;
	}
	/*
	 * The "more data" loop: each answer's cookie asks for the next. The first cycle of an area
	 * only takes the server's cookie here (a filter nothing matches: no object is sent) and
	 * reads the content by a paged search afterwards: DirSync answers carry only some
	 * attributes (AD leaves out the RDN attribute, cn), and a change made in between is seen
	 * again by the next cycle rather than lost.
	 */
	while (more) {
		rr = dirsync_once(c, &x, nc, initial ? "(!(objectClass=*))" : "(objectClass=*)",
		                  attrs, &cur, *flags, &next, &more, rc_out);
		if (rr != ES_OK && *rc_out == LDAP_INSUFFICIENT_ACCESS && !retried &&
		    !(*flags & LDAP_CONTROL_X_DIRSYNC_OBJECT_SECURITY)) {
			/* not a domain administrator: what the account may read, no more */
			*flags |= LDAP_CONTROL_X_DIRSYNC_OBJECT_SECURITY;
			retried = true;
			more = true;
			continue;
		}
		if (rr != ES_OK)
			goto out;
		ber_memfree(cur.bv_val);
		cur = next;
		next.bv_val = NULL;
		next.bv_len = 0;
	}
	if (initial) {
		/* what a server sent anyway to the filter that matches nothing is dropped: the
		 * paged read below is the content (es_source_full starts `out` afresh) */
		es_changes_clear(out);
		if ((rr = es_source_full(c, r, base, out)) != ES_OK)
			goto out;
	} else if (x.candidates.n > 0) {
		/* the objects that changed, read again whole: GUID_BATCH a search */
		(void)es_keyset_has(&x.candidates, ""); /* sorts and drops duplicates */
		for (i = 0; i < x.candidates.n; i += GUID_BATCH)
			if ((rr = reread(c, &x, x.candidates.v + i,
			                 x.candidates.n - i < GUID_BATCH ? x.candidates.n - i
			                                                 : GUID_BATCH)) != ES_OK)
				goto out;
	}
	if ((rr = es_entryset_sort(&out->changed)) != ES_OK)
		goto out;
	out->synced = true;
	out->complete = initial;
	out->present_phase = initial;
	if (!initial && (*flags & LDAP_CONTROL_X_DIRSYNC_OBJECT_SECURITY)) {
		/*
		 * With object security AD sends only what the account may read, and an ordinary
		 * account may not read tombstones (CN=Deleted Objects): a delete would go unseen.
		 * The keys of the area (objectGUID only, paged) are read as a present phase:
		 * whatever the edge holds besides them is gone.
		 */
		char *keyattr[] = {"objectGUID", NULL};

		if ((rr = es_conn_search_each(c, base, LDAP_SCOPE_SUBTREE, r->filter, keyattr, NULL,
		                              present_key, &out->present)) != ES_OK)
			goto out;
		out->present_phase = true;
	}
	if (cur.bv_len == 0) {
		rr = es_seterr(ES_ERR_SOURCE, "rule %s: the DirSync answer has an empty cookie",
		               r->name);
		goto out;
	}
	/* NUL-terminated like the RFC 4533 cookie (es_changes owns it with malloc) */
	if ((out->cookie.bv_val = malloc(cur.bv_len + 1)) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "cookie");
		goto out;
	}
	memcpy(out->cookie.bv_val, cur.bv_val, cur.bv_len);
	out->cookie.bv_val[cur.bv_len] = '\0';
	out->cookie.bv_len = cur.bv_len;
	rr = ES_OK;
out:
	ber_memfree(cur.bv_val);
	ber_memfree(next.bv_val);
	es_keyset_clear(&x.candidates);
	free(attrs);
	if (rr != ES_OK)
		es_changes_clear(out);
	return rr;
}

enum es_err
es_source_dirsync(struct es_conn *c, const struct es_rule *r, const char *base, const char *nc,
                  const struct berval *cookie, int *flags, struct es_changes *out)
{
	enum es_err rr;
	int rc = LDAP_SUCCESS;
	char why[1024];

	rr = run(c, r, base, nc, cookie, flags, out, &rc);
	if (rr == ES_ERR_SOURCE && cookie != NULL && cookie->bv_len > 0 && rc != LDAP_SUCCESS &&
	    rc != LDAP_INSUFFICIENT_ACCESS && rc != LDAP_SERVER_DOWN && rc != LDAP_TIMEOUT &&
	    rc != LDAP_BUSY && rc != LDAP_UNAVAILABLE) {
		/* the server refused the request that carried our cookie */
		snprintf(why, sizeof(why), "%s", es_errdetail());
		rr = es_seterr(ES_ERR_COOKIE, "%s", why);
	}
	return rr;
}

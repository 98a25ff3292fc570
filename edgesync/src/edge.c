/* The edge side of an area: load the replicator's entries, plan the writes, make containers. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edgesync/edge.h"
#include "internal.h"

/* Adds one entry to `out`, keyed by its umedgeSourceUUID (lower case); an entry without one, or
 * with a key in `skip` (sorted; may be NULL), is left out. */
static enum es_err
add_entry(LDAP *ld, LDAPMessage *m, const struct es_entryset *skip, struct es_entryset *out)
{
	struct es_entry *e = NULL;
	const struct es_attr *a;
	char key[40];
	enum es_err rr;
	size_t k;

	if ((rr = es_entry_from_ldap(ld, m, NULL, &e)) != ES_OK)
		goto out;
	a = es_entry_attr(e, "umedgeSourceUUID");
	if (a == NULL || a->nvals != 1 || a->vals[0].bv_len >= sizeof(key))
		goto out;
	for (k = 0; k < a->vals[0].bv_len; k++)
		key[k] = (char)tolower((unsigned char)a->vals[0].bv_val[k]);
	key[k] = '\0';
	if (skip != NULL && es_entryset_find(skip, key) != NULL)
		goto out;
	if ((e->key = strdup(key)) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "key");
		goto out;
	}
	rr = es_entryset_add(out, e);
	e = NULL;
out:
	es_entry_free(e);
	return rr;
}

/* add_entry for each entry of one search result. */
static enum es_err
add_results(struct es_conn *c, LDAPMessage *res, const struct es_entryset *skip,
            struct es_entryset *out)
{
	LDAPMessage *m;
	enum es_err rr = ES_OK;

	for (m = ldap_first_entry(es_conn_ld(c), res); m != NULL && rr == ES_OK;
	     m = ldap_next_entry(es_conn_ld(c), m))
		rr = add_entry(es_conn_ld(c), m, skip, out);
	return rr;
}

struct load_ctx {
	const struct es_entryset *skip;
	struct es_entryset *out;
};

/* One edge entry of a paged search, as add_results does for a whole result. */
static enum es_err
load_entry(LDAP *ld, LDAPMessage *m, void *arg)
{
	struct load_ctx *x = arg;

	return add_entry(ld, m, x->skip, x->out);
}

enum es_err
es_edge_load(struct es_conn *c, const struct es_rule *r, const char *edge_base,
             struct es_entryset *out)
{
	struct load_ctx x = {NULL, out};
	char *filter = NULL, *attrs[] = {"*", NULL};
	enum es_err rr;

	es_entryset_init(out);
	/* area names are [a-z0-9-]: nothing to escape in the filter */
	if ((filter = es_aprintf("(&(objectClass=umedgeReplicated)(umedgeArea=%s)"
	                         "(umedgeSourceUUID=*))",
	                         r->name)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "filter");
	rr = es_conn_search_each(c, edge_base, LDAP_SCOPE_SUBTREE, filter, attrs, NULL, load_entry,
	                         &x);
	if (rr == ES_ERR_NOT_FOUND) {
		rr = ES_OK;
		goto out;
	}
	if (rr == ES_OK)
		rr = es_entryset_sort(out);
out:
	free(filter);
	if (rr != ES_OK)
		es_entryset_clear(out);
	return rr;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One search for the area's entries whose umedgeSourceUUID is one of keys[0..n). */
static enum es_err
load_batch(struct es_conn *c, const struct es_rule *r, const char *edge_base,
           const char *const *keys, size_t n, struct es_entryset *out)
{
	LDAPMessage *res = NULL;
	struct berval bv, escbv;
	char *filter = NULL, *next, *esc = NULL, *attrs[] = {"*", NULL};
	enum es_err rr = ES_OK;
	size_t i;

	if ((filter = es_aprintf("(&(objectClass=umedgeReplicated)(umedgeArea=%s)(|", r->name)) ==
	    NULL)
		return es_seterr(ES_ERR_NOMEM, "filter");
	for (i = 0; i < n; i++) {
		bv.bv_val = (char *)keys[i];
		bv.bv_len = strlen(keys[i]);
		if (ldap_bv2escaped_filter_value(&bv, &escbv) != 0) {
			rr = es_seterr(ES_ERR_NOMEM, "filter");
			goto out;
		}
		esc = escbv.bv_val;
		next = es_aprintf("%s(umedgeSourceUUID=%s)", filter, esc);
		ldap_memfree(esc);
		esc = NULL;
		if (next == NULL) {
			rr = es_seterr(ES_ERR_NOMEM, "filter");
			goto out;
		}
		free(filter);
		filter = next;
	}
	if ((next = es_aprintf("%s))", filter)) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "filter");
		goto out;
	}
	free(filter);
	filter = next;
	rr = es_conn_search(c, edge_base, LDAP_SCOPE_SUBTREE, filter, attrs, &res);
	if (rr == ES_ERR_NOT_FOUND)
		rr = ES_OK;
	else if (rr == ES_OK)
		rr = add_results(c, res, NULL, out);
out:
	free(filter);
	ldap_msgfree(res);
	return rr;
}

/* The area's entries with their DN and key only (what a delete needs), leaving out the keys of
 * `skip` (sorted). */
static enum es_err
load_keys_only(struct es_conn *c, const struct es_rule *r, const char *edge_base,
               const struct es_entryset *skip, struct es_entryset *out)
{
	struct load_ctx x = {skip, out};
	char *filter = NULL, *attrs[] = {"umedgeSourceUUID", NULL};
	enum es_err rr;

	if ((filter = es_aprintf("(&(objectClass=umedgeReplicated)(umedgeArea=%s)"
	                         "(umedgeSourceUUID=*))",
	                         r->name)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "filter");
	rr = es_conn_search_each(c, edge_base, LDAP_SCOPE_SUBTREE, filter, attrs, NULL, load_entry,
	                         &x);
	if (rr == ES_ERR_NOT_FOUND)
		rr = ES_OK;
	free(filter);
	return rr;
}

enum es_err
es_edge_load_changes(struct es_conn *c, const struct es_rule *r, const char *edge_base,
                     const struct es_changes *ch, struct es_entryset *out)
{
	const char **keys = NULL;
	enum es_err rr = ES_OK;
	size_t n = 0, u = 0, i, max;

	es_entryset_init(out);
	max = ch->changed.n + (ch->present_phase ? 0 : ch->deleted.n);
	if (ch->complete || max > ES_EDGE_KEYED_MAX)
		return es_edge_load(c, r, edge_base, out);
	/* a present phase: what is gone is found among every entry of the area, by key */
	if (ch->present_phase && (rr = load_keys_only(c, r, edge_base, &ch->changed, out)) != ES_OK)
		goto out;
	if (max == 0)
		goto out;
	if ((keys = calloc(max, sizeof(*keys))) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "keys");
		goto out;
	}
	for (i = 0; i < ch->changed.n; i++)
		if (ch->changed.v[i]->key != NULL)
			keys[n++] = ch->changed.v[i]->key;
	for (i = 0; !ch->present_phase && i < ch->deleted.n; i++)
		keys[n++] = ch->deleted.v[i];
	/* a key in both lists is asked for once: es_entryset_sort refuses duplicates */
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++)
		if (u == 0 || strcmp(keys[u - 1], keys[i]) != 0)
			keys[u++] = keys[i];
	for (i = 0; i < u && rr == ES_OK; i += ES_EDGE_KEY_BATCH)
		rr = load_batch(c, r, edge_base, keys + i,
		                u - i < ES_EDGE_KEY_BATCH ? u - i : ES_EDGE_KEY_BATCH, out);
out:
	if (rr == ES_OK)
		rr = es_entryset_sort(out);
	free(keys);
	if (rr != ES_OK)
		es_entryset_clear(out);
	return rr;
}

enum es_err
es_edge_ensure_target(struct es_conn *c, const struct es_rule *r, const char *edge_base)
{
	LDAPDN dn = NULL;
	LDAPMessage *res = NULL;
	struct es_mods ms;
	char *attrs[] = {"1.1", NULL}, *cur = NULL, *next = NULL, *ou = NULL, *rdn = NULL;
	enum es_err rr = ES_OK;
	int n = 0, i, rc;

	if (ldap_str2dn(r->target, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || dn == NULL)
		return es_seterr(ES_ERR_CONFIG, "rule %s: target \"%s\"", r->name, r->target);
	while (dn[n] != NULL)
		n++;
	if ((cur = strdup(edge_base)) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "target");
		goto out;
	}
	/* the last RDN of the target is the one nearest the base */
	for (i = n - 1; i >= 0; i--) {
		if (ldap_rdn2str(dn[i], &rdn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
			rr = es_seterr(ES_ERR_CONFIG, "rule %s: target \"%s\"", r->name, r->target);
			goto out;
		}
		next = es_aprintf("%s,%s", rdn, cur);
		ldap_memfree(rdn);
		rdn = NULL;
		if (next == NULL) {
			rr = es_seterr(ES_ERR_NOMEM, "target");
			goto out;
		}
		free(cur);
		cur = next;
		next = NULL;
		rr = es_conn_search(c, cur, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res);
		ldap_msgfree(res);
		res = NULL;
		if (rr == ES_OK)
			continue;
		if (rr != ES_ERR_NOT_FOUND)
			goto out;
		free(ou);
		if ((ou = strndup(dn[i][0]->la_value.bv_val, dn[i][0]->la_value.bv_len)) == NULL) {
			rr = es_seterr(ES_ERR_NOMEM, "target");
			goto out;
		}
		es_mods_init(&ms);
		es_mods_adds(&ms, LDAP_MOD_ADD, "objectClass", "organizationalUnit");
		es_mods_adds(&ms, LDAP_MOD_ADD, "objectClass", "umedgeReplicated");
		es_mods_adds(&ms, LDAP_MOD_ADD, "ou", ou);
		es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeArea", r->name);
		rr = es_conn_add(c, cur, es_mods_get(&ms), &rc);
		if (rr != ES_OK && rc == LDAP_ALREADY_EXISTS)
			rr = ES_OK; /* another replicator made it in between */
		if (rr != ES_OK)
			goto out;
	}
	rr = ES_OK;
out:
	free(ou);
	free(cur);
	free(next);
	ldap_memfree(rdn);
	ldap_dnfree(dn);
	return rr;
}

void
es_plan_init(struct es_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void
es_plan_clear(struct es_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		es_entry_free(p->v[i].want);
	free(p->v);
	es_plan_init(p);
}

static enum es_err
push(struct es_plan *p, enum es_op_kind kind, struct es_entry *want, const struct es_entry *have)
{
	struct es_op *nv;
	size_t cap;

	if (p->n == p->cap) {
		cap = p->cap ? p->cap * 2 : 64;
		if ((nv = realloc(p->v, cap * sizeof(*nv))) == NULL) {
			es_entry_free(want);
			return es_seterr(ES_ERR_NOMEM, "plan");
		}
		p->v = nv;
		p->cap = cap;
	}
	p->v[p->n].kind = kind;
	p->v[p->n].want = want;
	p->v[p->n].have = have;
	p->n++;
	if (kind == ES_OP_ADD)
		p->adds++;
	else if (kind == ES_OP_MODIFY)
		p->modifies++;
	else
		p->deletes++;
	return ES_OK;
}

enum es_err
es_edge_plan(const struct es_rule *r, const char *target_dn, struct es_changes *ch,
             const struct es_entryset *edge, struct es_plan *out)
{
	struct es_entry *want = NULL, *have;
	enum es_err rr;
	size_t i;

	es_plan_init(out);
	if ((rr = es_entryset_sort(&ch->changed)) != ES_OK)
		goto fail;
	for (i = 0; i < ch->changed.n; i++) {
		if ((rr = es_rule_edge_entry(r, target_dn, ch->changed.v[i], &want)) != ES_OK)
			goto fail;
		have = es_entryset_find(edge, want->key);
		if (have == NULL) {
			rr = push(out, ES_OP_ADD, want, NULL);
		} else if (!es_dn_equal(want->dn, have->dn)) {
			/* a copy under an earlier target: replaced by one where the rule puts it */
			if ((rr = push(out, ES_OP_DELETE, NULL, have)) == ES_OK)
				rr = push(out, ES_OP_ADD, want, NULL);
			else
				es_entry_free(want);
		} else if (!es_entry_same_content(want, have)) {
			rr = push(out, ES_OP_MODIFY, want, have);
		} else {
			out->unchanged++;
			es_entry_free(want);
			rr = ES_OK;
		}
		want = NULL;
		if (rr != ES_OK)
			goto fail;
	}
	for (i = 0; i < edge->n; i++) {
		const char *key = edge->v[i]->key;
		bool gone;

		if (es_entryset_find(&ch->changed, key) != NULL)
			continue;
		if (ch->present_phase)
			gone = !es_keyset_has(&ch->present, key);
		else
			gone = es_keyset_has(&ch->deleted, key);
		if (gone && (rr = push(out, ES_OP_DELETE, NULL, edge->v[i])) != ES_OK)
			goto fail;
		if (!gone && ch->present_phase)
			out->unchanged++;
	}
	return ES_OK;
fail:
	es_entry_free(want);
	es_plan_clear(out);
	return rr;
}

enum es_err
es_edge_apply(struct es_writer *w, const struct es_plan *p)
{
	LDAPMod **mods = NULL;
	enum es_err r = ES_OK;
	size_t i;

	/* deletes first: an entry that left one area's scope may come back in another */
	for (i = 0; i < p->n && r == ES_OK; i++)
		if (p->v[i].kind == ES_OP_DELETE)
			r = es_writer_delete(w, p->v[i].have->dn);
	for (i = 0; i < p->n && r == ES_OK; i++) {
		switch (p->v[i].kind) {
		case ES_OP_ADD:
			r = es_writer_add(w, p->v[i].want);
			break;
		case ES_OP_MODIFY:
			if ((r = es_entry_diff_mods(p->v[i].want, p->v[i].have, &mods, NULL)) ==
			    ES_OK)
				r = es_writer_modify(w, p->v[i].want->dn, mods);
			es_mods_free(mods);
			mods = NULL;
			break;
		case ES_OP_DELETE:
			break;
		}
	}
	return r;
}

enum es_err
es_edge_compare(const struct es_rule *r, const char *target_dn, const struct es_changes *full,
                const struct es_entryset *edge, struct es_compare *out)
{
	struct es_entry *want = NULL, *have;
	enum es_err rr;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < full->changed.n; i++) {
		if ((rr = es_rule_edge_entry(r, target_dn, full->changed.v[i], &want)) != ES_OK)
			return rr;
		have = es_entryset_find(edge, want->key);
		if (have == NULL)
			out->source_only++;
		else if (es_entry_same_content(want, have) && es_dn_equal(want->dn, have->dn))
			out->synchronized++;
		else
			out->conflicting++;
		es_entry_free(want);
		want = NULL;
	}
	for (i = 0; i < edge->n; i++)
		if (es_entryset_find(&full->changed, edge->v[i]->key) == NULL)
			out->edge_only++;
	return ES_OK;
}

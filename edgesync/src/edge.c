/* The edge side of an area: load the replicator's entries, plan the writes, make containers. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edgesync/edge.h"
#include "internal.h"

enum es_err
es_edge_load(struct es_conn *c, const struct es_rule *r, const char *edge_base,
             struct es_entryset *out)
{
	LDAPMessage *res = NULL, *m;
	struct es_entry *e = NULL;
	const struct es_attr *a;
	char *filter = NULL, *attrs[] = {"*", NULL}, key[40];
	enum es_err rr;
	size_t k;

	es_entryset_init(out);
	/* area names are [a-z0-9-]: nothing to escape in the filter */
	if ((filter = es_aprintf("(&(objectClass=umedgeReplicated)(umedgeArea=%s)"
	                         "(umedgeSourceUUID=*))",
	                         r->name)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "filter");
	rr = es_conn_search_content(c, edge_base, LDAP_SCOPE_SUBTREE, filter, attrs, &res);
	if (rr == ES_ERR_NOT_FOUND) {
		rr = ES_OK;
		goto out;
	}
	if (rr != ES_OK)
		goto out;
	for (m = ldap_first_entry(es_conn_ld(c), res); m != NULL;
	     m = ldap_next_entry(es_conn_ld(c), m)) {
		if ((rr = es_entry_from_ldap(es_conn_ld(c), m, NULL, &e)) != ES_OK)
			goto out;
		a = es_entry_attr(e, "umedgeSourceUUID");
		if (a == NULL || a->nvals != 1 || a->vals[0].bv_len >= sizeof(key)) {
			es_entry_free(e);
			e = NULL;
			continue;
		}
		for (k = 0; k < a->vals[0].bv_len; k++)
			key[k] = (char)tolower((unsigned char)a->vals[0].bv_val[k]);
		key[k] = '\0';
		if ((e->key = strdup(key)) == NULL) {
			rr = es_seterr(ES_ERR_NOMEM, "key");
			goto out;
		}
		rr = es_entryset_add(out, e);
		e = NULL;
		if (rr != ES_OK)
			goto out;
	}
	rr = es_entryset_sort(out);
out:
	es_entry_free(e);
	free(filter);
	ldap_msgfree(res);
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

/* struct es_entry and struct es_entryset: directory entries in memory, compared and diffed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edgesync/entry.h"
#include "internal.h"

enum es_err
es_entry_new(const char *dn, const char *key, struct es_entry **out)
{
	struct es_entry *e;

	*out = NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "entry");
	if ((e->dn = strdup(dn != NULL ? dn : "")) == NULL ||
	    (key != NULL && (e->key = strdup(key)) == NULL)) {
		es_entry_free(e);
		return es_seterr(ES_ERR_NOMEM, "entry");
	}
	*out = e;
	return ES_OK;
}

void
es_entry_free(struct es_entry *e)
{
	size_t i, j;

	if (e == NULL)
		return;
	for (i = 0; i < e->nattrs; i++) {
		for (j = 0; j < e->attrs[i].nvals; j++)
			free(e->attrs[i].vals[j].bv_val);
		free(e->attrs[i].vals);
		free(e->attrs[i].name);
	}
	free(e->attrs);
	free(e->dn);
	free(e->key);
	free(e);
}

const struct es_attr *
es_entry_attr(const struct es_entry *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nattrs; i++)
		if (strcasecmp(e->attrs[i].name, name) == 0)
			return &e->attrs[i];
	return NULL;
}

enum es_err
es_entry_add_value(struct es_entry *e, const char *name, const void *val, size_t len)
{
	struct es_attr *a = (struct es_attr *)es_entry_attr(e, name), *na;
	struct berval *nv;
	char *copy;

	if (a == NULL) {
		if ((na = realloc(e->attrs, (e->nattrs + 1) * sizeof(*na))) == NULL)
			return es_seterr(ES_ERR_NOMEM, "entry attribute");
		e->attrs = na;
		a = &e->attrs[e->nattrs];
		memset(a, 0, sizeof(*a));
		if ((a->name = strdup(name)) == NULL)
			return es_seterr(ES_ERR_NOMEM, "entry attribute");
		e->nattrs++;
	}
	if ((nv = realloc(a->vals, (a->nvals + 1) * sizeof(*nv))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "entry value");
	a->vals = nv;
	/* one byte more, so that text values are also C strings */
	if ((copy = malloc(len + 1)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "entry value");
	if (len > 0)
		memcpy(copy, val, len);
	copy[len] = '\0';
	a->vals[a->nvals].bv_val = copy;
	a->vals[a->nvals].bv_len = len;
	a->nvals++;
	return ES_OK;
}

static int
cmp_attr(const void *x, const void *y)
{
	return strcasecmp(((const struct es_attr *)x)->name, ((const struct es_attr *)y)->name);
}

static int
cmp_bv(const struct berval *a, const struct berval *b)
{
	size_t n = a->bv_len < b->bv_len ? a->bv_len : b->bv_len;
	int c = n > 0 ? memcmp(a->bv_val, b->bv_val, n) : 0;

	if (c != 0)
		return c;
	return a->bv_len < b->bv_len ? -1 : a->bv_len > b->bv_len;
}

static int
cmp_val(const void *x, const void *y)
{
	return cmp_bv(x, y);
}

void
es_entry_normalize(struct es_entry *e)
{
	size_t i, j, k;
	struct es_attr *a;

	/* qsort's array must not be NULL, even when empty (C11 7.22.5) */
	if (e->nattrs > 1)
		qsort(e->attrs, e->nattrs, sizeof(*e->attrs), cmp_attr);
	for (i = 0; i < e->nattrs; i++) {
		a = &e->attrs[i];
		if (a->nvals > 1)
			qsort(a->vals, a->nvals, sizeof(*a->vals), cmp_val);
		for (j = 0, k = 0; j < a->nvals; j++) {
			if (k > 0 && cmp_bv(&a->vals[k - 1], &a->vals[j]) == 0) {
				free(a->vals[j].bv_val);
				continue;
			}
			a->vals[k++] = a->vals[j];
		}
		a->nvals = k;
	}
}

enum es_err
es_entry_from_ldap(LDAP *ld, LDAPMessage *msg, const char *key, struct es_entry **out)
{
	enum es_err r = ES_ERR_LDAP;
	struct es_entry *e = NULL;
	BerElement *ber = NULL;
	struct berval **vals = NULL;
	char *dn = NULL, *name;
	size_t i;

	*out = NULL;
	if ((dn = ldap_get_dn(ld, msg)) == NULL) {
		r = es_seterr_ldap(ES_ERR_LDAP, ld, LDAP_DECODING_ERROR, "entry without a DN");
		goto out;
	}
	if ((r = es_entry_new(dn, key, &e)) != ES_OK)
		goto out;
	for (name = ldap_first_attribute(ld, msg, &ber); name != NULL;
	     name = ldap_next_attribute(ld, msg, ber)) {
		vals = ldap_get_values_len(ld, msg, name);
		for (i = 0; vals != NULL && vals[i] != NULL; i++) {
			if ((r = es_entry_add_value(e, name, vals[i]->bv_val, vals[i]->bv_len)) !=
			    ES_OK) {
				ldap_memfree(name);
				goto out;
			}
		}
		ldap_value_free_len(vals);
		vals = NULL;
		ldap_memfree(name);
	}
	es_entry_normalize(e);
	*out = e;
	e = NULL;
	r = ES_OK;
out:
	ldap_value_free_len(vals);
	if (ber != NULL)
		ber_free(ber, 0);
	ldap_memfree(dn);
	es_entry_free(e);
	return r;
}

static bool
same_values(const struct es_attr *a, const struct es_attr *b)
{
	size_t i;

	if (a->nvals != b->nvals)
		return false;
	for (i = 0; i < a->nvals; i++)
		if (cmp_bv(&a->vals[i], &b->vals[i]) != 0)
			return false;
	return true;
}

bool
es_entry_same_content(const struct es_entry *a, const struct es_entry *b)
{
	size_t i;

	if (a->nattrs != b->nattrs)
		return false;
	for (i = 0; i < a->nattrs; i++)
		if (strcasecmp(a->attrs[i].name, b->attrs[i].name) != 0 ||
		    !same_values(&a->attrs[i], &b->attrs[i]))
			return false;
	return true;
}

void
es_mods_free(LDAPMod **mods)
{
	size_t i;

	if (mods == NULL)
		return;
	for (i = 0; mods[i] != NULL; i++) {
		free(mods[i]->mod_bvalues);
		free(mods[i]);
	}
	free(mods);
}

/* One LDAPMod for attribute `a` (NULL: no values), pointing into its values. */
static LDAPMod *
make_mod(int op, const char *name, const struct es_attr *a)
{
	LDAPMod *m;
	size_t i;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->mod_op = op | LDAP_MOD_BVALUES;
	m->mod_type = (char *)name;
	if (a == NULL || a->nvals == 0)
		return m;
	if ((m->mod_bvalues = calloc(a->nvals + 1, sizeof(*m->mod_bvalues))) == NULL) {
		free(m);
		return NULL;
	}
	for (i = 0; i < a->nvals; i++)
		m->mod_bvalues[i] = &a->vals[i];
	return m;
}

enum es_err
es_entry_add_mods(const struct es_entry *e, LDAPMod ***out)
{
	LDAPMod **mods;
	size_t i;

	*out = NULL;
	if ((mods = calloc(e->nattrs + 1, sizeof(*mods))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "modifications");
	for (i = 0; i < e->nattrs; i++) {
		if ((mods[i] = make_mod(LDAP_MOD_ADD, e->attrs[i].name, &e->attrs[i])) == NULL) {
			es_mods_free(mods);
			return es_seterr(ES_ERR_NOMEM, "modifications");
		}
	}
	*out = mods;
	return ES_OK;
}

enum es_err
es_entry_diff_mods(const struct es_entry *want, const struct es_entry *have, LDAPMod ***out,
                   size_t *n_out)
{
	LDAPMod **mods, *m;
	size_t i = 0, j = 0, n = 0;
	int c;

	*out = NULL;
	if (n_out != NULL)
		*n_out = 0;
	if ((mods = calloc(want->nattrs + have->nattrs + 1, sizeof(*mods))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "modifications");
	while (i < want->nattrs || j < have->nattrs) {
		if (i >= want->nattrs)
			c = 1;
		else if (j >= have->nattrs)
			c = -1;
		else
			c = strcasecmp(want->attrs[i].name, have->attrs[j].name);
		m = NULL;
		if (c < 0) {
			m = make_mod(LDAP_MOD_REPLACE, want->attrs[i].name, &want->attrs[i]);
			i++;
		} else if (c > 0) {
			m = make_mod(LDAP_MOD_REPLACE, have->attrs[j].name, NULL);
			j++;
		} else {
			if (!same_values(&want->attrs[i], &have->attrs[j]))
				m = make_mod(LDAP_MOD_REPLACE, want->attrs[i].name,
				             &want->attrs[i]);
			else {
				i++;
				j++;
				continue;
			}
			i++;
			j++;
		}
		if (m == NULL) {
			es_mods_free(mods);
			return es_seterr(ES_ERR_NOMEM, "modifications");
		}
		mods[n++] = m;
	}
	*out = mods;
	if (n_out != NULL)
		*n_out = n;
	return ES_OK;
}

static char *
dn_canonical(const char *s)
{
	LDAPDN dn = NULL;
	char *out = NULL;

	if (ldap_str2dn(s, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return NULL;
	if (ldap_dn2str(dn, &out, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		out = NULL;
	ldap_dnfree(dn);
	return out;
}

bool
es_dn_equal(const char *a, const char *b)
{
	char *ca, *cb;
	bool eq;

	if (strcasecmp(a, b) == 0)
		return true;
	ca = dn_canonical(a);
	cb = dn_canonical(b);
	eq = ca != NULL && cb != NULL && strcasecmp(ca, cb) == 0;
	ldap_memfree(ca);
	ldap_memfree(cb);
	return eq;
}

bool
es_uuid_format(const struct berval *raw, char buf[37])
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)raw->bv_val;
	size_t i, o = 0;

	if (raw->bv_len != 16)
		return false;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[o++] = '-';
		buf[o++] = hex[p[i] >> 4];
		buf[o++] = hex[p[i] & 0xf];
	}
	buf[o] = '\0';
	return true;
}

bool
es_guid_format(const struct berval *raw, char buf[37])
{
	/* Data1 (4 bytes), Data2 (2), Data3 (2) little-endian, then Data4 (8) as stored */
	static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	unsigned char be[16];
	struct berval v = {16, (char *)be};
	size_t i;

	if (raw->bv_len != 16)
		return false;
	for (i = 0; i < 16; i++)
		be[i] = (unsigned char)raw->bv_val[order[i]];
	return es_uuid_format(&v, buf);
}

void
es_entryset_init(struct es_entryset *s)
{
	memset(s, 0, sizeof(*s));
	s->sorted = true;
}

void
es_entryset_clear(struct es_entryset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		es_entry_free(s->v[i]);
	free(s->v);
	es_entryset_init(s);
}

enum es_err
es_entryset_add(struct es_entryset *s, struct es_entry *e)
{
	struct es_entry **nv;
	size_t cap;

	if (e->key == NULL) {
		es_entry_free(e);
		return es_seterr(ES_ERR_INVAL, "entry without a key");
	}
	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 64;
		if ((nv = realloc(s->v, cap * sizeof(*nv))) == NULL) {
			es_entry_free(e);
			return es_seterr(ES_ERR_NOMEM, "entry set");
		}
		s->v = nv;
		s->cap = cap;
	}
	if (s->n > 0 && s->sorted && strcmp(s->v[s->n - 1]->key, e->key) >= 0)
		s->sorted = false;
	s->v[s->n++] = e;
	return ES_OK;
}

static int
cmp_entry(const void *x, const void *y)
{
	return strcmp((*(struct es_entry *const *)x)->key, (*(struct es_entry *const *)y)->key);
}

enum es_err
es_entryset_sort(struct es_entryset *s)
{
	size_t i;

	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
		s->sorted = true;
	}
	for (i = 1; i < s->n; i++)
		if (strcmp(s->v[i - 1]->key, s->v[i]->key) == 0)
			return es_seterr(ES_ERR_PARSE, "two entries with the key %s (%s, %s)",
			                 s->v[i]->key, s->v[i - 1]->dn, s->v[i]->dn);
	return ES_OK;
}

struct es_entry *
es_entryset_find(const struct es_entryset *s, const char *key)
{
	size_t lo = 0, hi = s->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(key, s->v[mid]->key);
		if (c == 0)
			return s->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Subscription objects in the source directory (edgesync-subscription.schema). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#include "edgesync/config.h"
#include "edgesync/gtime.h"
#include "edgesync/subscription.h"
#include "internal.h"

#define OC "umedgeEdgeSubscription"

static char *sub_attrs[] = {"cn",
                            "umedgeEdgeName",
                            "umedgeEdgeFQDN",
                            "umedgeEdgeURL",
                            "umedgeEdgeBaseDN",
                            "umedgeBindDN",
                            "umedgePinnedCertificate",
                            "umedgeEncryptedCredential",
                            "umedgeLeaseHolder",
                            "umedgeLeaseExpiry",
                            "umedgeSyncCookie",
                            "umedgeLastSyncTime",
                            "umedgeLastFailure",
                            "umedgeSubscriptionStart",
                            "umedgeSubscriptionMinutes",
                            "umedgePendingCredential",
                            "umedgeCredentialTime",
                            NULL};

void
es_cookie_clear(struct es_cookie *c)
{
	free(c->area);
	free(c->raw.bv_val);
	memset(c, 0, sizeof(*c));
}

void
es_subscription_free(struct es_subscription *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->dn);
	free(s->name);
	free(s->fqdn);
	free(s->url);
	free(s->base);
	free(s->bind_dn);
	for (i = 0; i < s->ncerts; i++)
		free(s->certs[i].bv_val);
	free(s->certs);
	free(s->pins);
	free(s->cred);
	free(s->pending);
	free(s->lease_holder);
	free(s->lease_expiry_raw);
	for (i = 0; i < s->ncookies; i++)
		es_cookie_clear(&s->cookies[i]);
	free(s->cookies);
	free(s->last_failure);
	free(s);
}

void
es_subscription_list_free(struct es_subscription **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		es_subscription_free(v[i]);
	free(v);
}

enum es_err
es_subscription_dn(const char *base, const char *name, char **out)
{
	*out = NULL;
	/* valid names need no RFC 4514 escaping: letters, digits, '.', '_', '-' */
	if (!es_edge_name_valid(name))
		return es_seterr(ES_ERR_INVAL, "edge name \"%.64s\" is not valid", name);
	if ((*out = es_aprintf("cn=%s,%s", name, base)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "subscription DN");
	return ES_OK;
}

enum es_err
es_cookie_parse(const struct berval *raw, struct es_cookie *out)
{
	const char *p = raw->bv_val, *end = raw->bv_val + raw->bv_len, *sp1, *sp2;

	memset(out, 0, sizeof(*out));
	sp1 = memchr(p, ' ', raw->bv_len);
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp2 - sp1 - 1 != ES_RULE_HASH_LEN || sp1 == p)
		return es_seterr(ES_ERR_PARSE,
		                 "umedgeSyncCookie value is not \"AREA RULE COOKIE\"");
	if ((out->area = strndup(p, (size_t)(sp1 - p))) == NULL ||
	    (out->raw.bv_val = malloc(raw->bv_len + 1)) == NULL) {
		es_cookie_clear(out);
		return es_seterr(ES_ERR_NOMEM, "cookie");
	}
	memcpy(out->rule, sp1 + 1, ES_RULE_HASH_LEN);
	out->rule[ES_RULE_HASH_LEN] = '\0';
	memcpy(out->raw.bv_val, raw->bv_val, raw->bv_len);
	out->raw.bv_val[raw->bv_len] = '\0';
	out->raw.bv_len = raw->bv_len;
	out->value.bv_val = out->raw.bv_val + (sp2 + 1 - p);
	out->value.bv_len = (size_t)(end - sp2 - 1);
	return ES_OK;
}

static enum es_err
first_str(LDAP *ld, LDAPMessage *e, const char *attr, bool required, char **out)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	enum es_err r = ES_OK;

	*out = NULL;
	if (v == NULL || v[0] == NULL) {
		if (required)
			r = es_seterr(ES_ERR_PARSE, "subscription has no %s", attr);
	} else if ((*out = strndup(v[0]->bv_val, v[0]->bv_len)) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "subscription");
	}
	ldap_value_free_len(v);
	return r;
}

enum es_err
es_subscription_from_entry(LDAP *ld, LDAPMessage *e, struct es_subscription **out)
{
	enum es_err r = ES_ERR_NOMEM;
	struct es_subscription *s = NULL;
	struct berval **v = NULL;
	char *dn = NULL, *tmp = NULL;
	size_t i, n;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto nomem;
	if ((dn = ldap_get_dn(ld, e)) == NULL || (s->dn = strdup(dn)) == NULL)
		goto nomem;
	if ((r = first_str(ld, e, "umedgeEdgeName", true, &s->name)) != ES_OK ||
	    (r = first_str(ld, e, "umedgeEdgeFQDN", false, &s->fqdn)) != ES_OK ||
	    (r = first_str(ld, e, "umedgeEdgeURL", true, &s->url)) != ES_OK ||
	    (r = first_str(ld, e, "umedgeEdgeBaseDN", true, &s->base)) != ES_OK ||
	    (r = first_str(ld, e, "umedgeBindDN", true, &s->bind_dn)) != ES_OK ||
	    (r = first_str(ld, e, "umedgeLeaseHolder", false, &s->lease_holder)) != ES_OK ||
	    (r = first_str(ld, e, "umedgeLeaseExpiry", false, &s->lease_expiry_raw)) != ES_OK ||
	    (r = first_str(ld, e, "umedgeLastFailure", false, &s->last_failure)) != ES_OK)
		goto out;
	if (s->lease_expiry_raw != NULL &&
	    (r = es_gtime_parse(s->lease_expiry_raw, &s->lease_expiry)) != ES_OK)
		goto out;
	if ((r = first_str(ld, e, "umedgeLastSyncTime", false, &tmp)) != ES_OK ||
	    (tmp != NULL && (r = es_gtime_parse(tmp, &s->last_sync)) != ES_OK))
		goto out;
	free(tmp);
	tmp = NULL;
	if ((r = first_str(ld, e, "umedgeSubscriptionStart", false, &tmp)) != ES_OK ||
	    (tmp != NULL && (r = es_gtime_parse(tmp, &s->start)) != ES_OK))
		goto out;
	free(tmp);
	tmp = NULL;
	if ((r = first_str(ld, e, "umedgeSubscriptionMinutes", false, &tmp)) != ES_OK)
		goto out;
	s->minutes = tmp != NULL ? atoi(tmp) : 0;
	free(tmp);
	tmp = NULL;
	if ((r = first_str(ld, e, "umedgeCredentialTime", false, &tmp)) != ES_OK ||
	    (tmp != NULL && (r = es_gtime_parse(tmp, &s->cred_time)) != ES_OK))
		goto out;
	free(tmp);
	tmp = NULL;

	v = ldap_get_values_len(ld, e, "umedgePinnedCertificate");
	n = v != NULL ? (size_t)ldap_count_values_len(v) : 0;
	if (n == 0) {
		r = es_seterr(ES_ERR_PARSE, "subscription %s pins no certificate", s->dn);
		goto out;
	}
	if ((s->certs = calloc(n, sizeof(*s->certs))) == NULL ||
	    (s->pins = calloc(n, sizeof(*s->pins))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if ((s->certs[i].bv_val = malloc(v[i]->bv_len)) == NULL)
			goto nomem;
		memcpy(s->certs[i].bv_val, v[i]->bv_val, v[i]->bv_len);
		s->certs[i].bv_len = v[i]->bv_len;
		s->ncerts++;
		if ((r = es_pin_from_der((unsigned char *)v[i]->bv_val, v[i]->bv_len,
		                         &s->pins[i])) != ES_OK)
			goto out;
	}
	ldap_value_free_len(v);

	v = ldap_get_values_len(ld, e, "umedgeEncryptedCredential");
	if (v == NULL || v[0] == NULL) {
		r = es_seterr(ES_ERR_PARSE, "subscription %s has no credential", s->dn);
		goto out;
	}
	if ((s->cred = malloc(v[0]->bv_len)) == NULL)
		goto nomem;
	memcpy(s->cred, v[0]->bv_val, v[0]->bv_len);
	s->cred_len = v[0]->bv_len;
	ldap_value_free_len(v);

	v = ldap_get_values_len(ld, e, "umedgePendingCredential");
	if (v != NULL && v[0] != NULL) {
		if ((s->pending = malloc(v[0]->bv_len)) == NULL)
			goto nomem;
		memcpy(s->pending, v[0]->bv_val, v[0]->bv_len);
		s->pending_len = v[0]->bv_len;
	}
	ldap_value_free_len(v);

	v = ldap_get_values_len(ld, e, "umedgeSyncCookie");
	n = v != NULL ? (size_t)ldap_count_values_len(v) : 0;
	if (n > 0 && (s->cookies = calloc(n, sizeof(*s->cookies))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		/* a value that does not parse is skipped: that area starts afresh */
		if (es_cookie_parse(v[i], &s->cookies[s->ncookies]) == ES_OK)
			s->ncookies++;
	}
	*out = s;
	s = NULL;
	r = ES_OK;
	goto out;
nomem:
	r = es_seterr(ES_ERR_NOMEM, "subscription");
out:
	ldap_value_free_len(v);
	ldap_memfree(dn);
	free(tmp);
	es_subscription_free(s);
	return r;
}

enum es_err
es_subscription_load(struct es_conn *c, const char *dn, struct es_subscription **out)
{
	LDAPMessage *res = NULL, *e;
	enum es_err r;

	*out = NULL;
	if ((r = es_conn_search(c, dn, LDAP_SCOPE_BASE, "(objectClass=" OC ")", sub_attrs, &res)) !=
	    ES_OK)
		return r;
	if ((e = ldap_first_entry(es_conn_ld(c), res)) == NULL)
		r = es_seterr(ES_ERR_NOT_FOUND, "%s is not a subscription", dn);
	else
		r = es_subscription_from_entry(es_conn_ld(c), e, out);
	ldap_msgfree(res);
	return r;
}

static int
cmp_sub(const void *a, const void *b)
{
	return strcmp((*(struct es_subscription *const *)a)->name,
	              (*(struct es_subscription *const *)b)->name);
}

enum es_err
es_subscription_list(struct es_conn *c, const char *base, struct es_subscription ***out, size_t *n)
{
	LDAPMessage *res = NULL, *e;
	struct es_subscription **v = NULL, *s;
	enum es_err r;
	int count;

	*out = NULL;
	*n = 0;
	r = es_conn_search(c, base, LDAP_SCOPE_ONELEVEL, "(objectClass=" OC ")", sub_attrs, &res);
	if (r == ES_ERR_NOT_FOUND)
		return ES_OK;
	if (r != ES_OK)
		return r;
	count = ldap_count_entries(es_conn_ld(c), res);
	if (count > 0 && (v = calloc((size_t)count, sizeof(*v))) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "subscriptions");
		goto out;
	}
	for (e = ldap_first_entry(es_conn_ld(c), res); e != NULL;
	     e = ldap_next_entry(es_conn_ld(c), e)) {
		if ((r = es_subscription_from_entry(es_conn_ld(c), e, &s)) != ES_OK)
			goto out;
		v[(*n)++] = s;
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_sub);
	*out = v;
	v = NULL;
	r = ES_OK;
out:
	if (v != NULL) {
		es_subscription_list_free(v, *n);
		*n = 0;
	}
	ldap_msgfree(res);
	return r;
}

/* The container cn=...,PARENT, made when missing. */
static enum es_err
ensure_container(struct es_conn *c, const char *base)
{
	LDAPMessage *res = NULL;
	LDAPDN dn = NULL;
	struct es_mods ms;
	char *attrs[] = {"1.1", NULL}, *cn = NULL;
	enum es_err r;
	int rc;

	r = es_conn_search(c, base, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res);
	ldap_msgfree(res);
	if (r != ES_ERR_NOT_FOUND)
		return r;
	if (ldap_str2dn(base, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || dn == NULL ||
	    dn[0] == NULL || dn[0][1] != NULL || dn[0][0]->la_attr.bv_len != 2 ||
	    strncasecmp(dn[0][0]->la_attr.bv_val, "cn", 2) != 0) {
		r = es_seterr(ES_ERR_CONFIG,
		              "%s does not exist, and edgesync only makes a cn= container", base);
		goto out;
	}
	if ((cn = strndup(dn[0][0]->la_value.bv_val, dn[0][0]->la_value.bv_len)) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "container");
		goto out;
	}
	es_mods_init(&ms);
	es_mods_adds(&ms, LDAP_MOD_ADD, "objectClass", "umedgeContainer");
	es_mods_adds(&ms, LDAP_MOD_ADD, "cn", cn);
	r = es_conn_add(c, base, es_mods_get(&ms), &rc);
	if (rc == LDAP_ALREADY_EXISTS)
		r = ES_OK;
out:
	free(cn);
	if (dn != NULL)
		ldap_dnfree(dn);
	return r;
}

enum es_err
es_subscription_create(struct es_conn *c, const char *base, const struct es_subfile *sf,
                       const unsigned char *cred, size_t cred_len)
{
	enum es_err r;
	struct es_mods ms;
	char *dn = NULL, start[ES_GTIME_LEN + 1], minutes[16];
	unsigned char *der = NULL;
	int len, rc;

	if ((r = es_subscription_dn(base, sf->edge_name, &dn)) != ES_OK)
		return r;
	if ((len = i2d_X509(sf->cert, &der)) <= 0) {
		r = es_seterr_ssl(ES_ERR_CRYPTO, "edge certificate to DER");
		goto out;
	}
	if ((r = ensure_container(c, base)) != ES_OK)
		goto out;
	snprintf(minutes, sizeof(minutes), "%d", sf->minutes);
	es_mods_init(&ms);
	es_mods_adds(&ms, LDAP_MOD_ADD, "objectClass", OC);
	es_mods_adds(&ms, LDAP_MOD_ADD, "cn", sf->edge_name);
	es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeEdgeName", sf->edge_name);
	es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeEdgeFQDN", sf->fqdn);
	es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeEdgeURL", sf->url);
	es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeEdgeBaseDN", sf->base);
	es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeBindDN", sf->bind_dn);
	es_mods_add1(&ms, LDAP_MOD_ADD, "umedgePinnedCertificate", der, (size_t)len);
	es_mods_add1(&ms, LDAP_MOD_ADD, "umedgeEncryptedCredential", cred, cred_len);
	es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeSubscriptionStart",
	             es_gtime_format(sf->effective, start));
	es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeSubscriptionMinutes", minutes);
	es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeCredentialTime", start);
	r = es_conn_add(c, dn, es_mods_get(&ms), &rc);
	if (rc == LDAP_ALREADY_EXISTS)
		r = es_seterr(ES_ERR_EXISTS,
		              "edge %s is already subscribed (%s); remove it first to subscribe it "
		              "again",
		              sf->edge_name, dn);
out:
	OPENSSL_free(der);
	free(dn);
	return r;
}

enum es_err
es_subscription_remove(struct es_conn *c, const char *base, const char *name)
{
	enum es_err r;
	char *dn = NULL;
	int rc;

	if ((r = es_subscription_dn(base, name, &dn)) != ES_OK)
		return r;
	r = es_conn_delete(c, dn, &rc);
	if (rc == LDAP_NO_SUCH_OBJECT)
		r = es_seterr(ES_ERR_NOT_FOUND, "edge %s is not subscribed", name);
	free(dn);
	return r;
}

enum es_err
es_subscription_add_cert(struct es_conn *c, const struct es_subscription *s,
                         const unsigned char *der, size_t len)
{
	struct es_mods ms;
	enum es_err r;
	int rc;

	es_mods_init(&ms);
	es_mods_add1(&ms, LDAP_MOD_ADD, "umedgePinnedCertificate", der, len);
	r = es_conn_modify(c, s->dn, es_mods_get(&ms), &rc);
	if (rc == LDAP_TYPE_OR_VALUE_EXISTS)
		r = es_seterr(ES_ERR_EXISTS, "this certificate is already pinned for edge %s",
		              s->name);
	return r;
}

const struct berval *
es_subscription_cookie(const struct es_subscription *s, const char *area, const char *rule)
{
	size_t i;

	for (i = 0; i < s->ncookies; i++)
		if (strcmp(s->cookies[i].area, area) == 0 && strcmp(s->cookies[i].rule, rule) == 0)
			return &s->cookies[i].value;
	return NULL;
}

/* The lease fence: delete and re-add our own holder value (noSuchAttribute if not ours). */
static void
fence(struct es_mods *ms, const char *holder)
{
	if (holder == NULL)
		return;
	es_mods_adds(ms, LDAP_MOD_DELETE, "umedgeLeaseHolder", holder);
	es_mods_adds(ms, LDAP_MOD_ADD, "umedgeLeaseHolder", holder);
}

static enum es_err
fenced_modify(struct es_conn *c, struct es_subscription *s, const char *holder, struct es_mods *ms)
{
	enum es_err r;
	int rc;

	r = es_conn_modify(c, s->dn, es_mods_get(ms), &rc);
	if (r != ES_OK && holder != NULL && rc == LDAP_NO_SUCH_ATTRIBUTE)
		r = es_seterr(ES_ERR_LEASE_LOST, "edge %s: the lease is no longer held by %s",
		              s->name, holder);
	return r;
}

enum es_err
es_subscription_set_cookie(struct es_conn *c, struct es_subscription *s, const char *holder,
                           const char *area, const char *rule, const struct berval *value)
{
	struct es_mods ms;
	struct es_cookie *nc, fresh;
	struct berval raw = {0, NULL};
	enum es_err r;
	size_t i, k, removed = 0;

	memset(&fresh, 0, sizeof(fresh));
	es_mods_init(&ms);
	fence(&ms, holder);
	for (i = 0; i < s->ncookies; i++) {
		if (strcmp(s->cookies[i].area, area) != 0)
			continue;
		if (removed == ES_MODS_VALS)
			break;
		es_mods_addv(&ms, LDAP_MOD_DELETE, "umedgeSyncCookie", &s->cookies[i].raw, 1);
		removed++;
	}
	if (value != NULL) {
		raw.bv_len = strlen(area) + 1 + ES_RULE_HASH_LEN + 1 + value->bv_len;
		if ((raw.bv_val = malloc(raw.bv_len + 1)) == NULL)
			return es_seterr(ES_ERR_NOMEM, "cookie");
		snprintf(raw.bv_val, raw.bv_len + 1, "%s %s ", area, rule);
		memcpy(raw.bv_val + strlen(area) + 2 + ES_RULE_HASH_LEN, value->bv_val,
		       value->bv_len);
		raw.bv_val[raw.bv_len] = '\0';
		es_mods_addv(&ms, LDAP_MOD_ADD, "umedgeSyncCookie", &raw, 1);
	}
	if (ms.n == 0)
		return ES_OK;
	if ((r = fenced_modify(c, s, holder, &ms)) != ES_OK)
		goto out;
	/* the directory has it; now the copy in memory */
	for (i = 0, k = 0; i < s->ncookies; i++) {
		if (strcmp(s->cookies[i].area, area) == 0)
			es_cookie_clear(&s->cookies[i]);
		else
			s->cookies[k++] = s->cookies[i];
	}
	s->ncookies = k;
	if (value != NULL) {
		if ((r = es_cookie_parse(&raw, &fresh)) != ES_OK)
			goto out;
		if ((nc = realloc(s->cookies, (s->ncookies + 1) * sizeof(*nc))) == NULL) {
			es_cookie_clear(&fresh);
			r = es_seterr(ES_ERR_NOMEM, "cookie");
			goto out;
		}
		s->cookies = nc;
		s->cookies[s->ncookies++] = fresh;
	}
	r = ES_OK;
out:
	free(raw.bv_val);
	return r;
}

enum es_err
es_subscription_set_pending(struct es_conn *c, struct es_subscription *s, const char *holder,
                            const unsigned char *der, size_t len)
{
	struct es_mods ms;
	unsigned char *copy;
	enum es_err r;

	if ((copy = malloc(len)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "credential");
	memcpy(copy, der, len);
	es_mods_init(&ms);
	fence(&ms, holder);
	es_mods_add1(&ms, LDAP_MOD_REPLACE, "umedgePendingCredential", der, len);
	if ((r = fenced_modify(c, s, holder, &ms)) != ES_OK) {
		free(copy);
		return r;
	}
	free(s->pending);
	s->pending = copy;
	s->pending_len = len;
	return ES_OK;
}

enum es_err
es_subscription_promote(struct es_conn *c, struct es_subscription *s, const char *holder,
                        time_t when)
{
	struct es_mods ms;
	char gt[ES_GTIME_LEN + 1];
	enum es_err r;

	if (s->pending == NULL)
		return es_seterr(ES_ERR_INVAL, "edge %s: no pending credential", s->name);
	es_mods_init(&ms);
	fence(&ms, holder);
	es_mods_add1(&ms, LDAP_MOD_REPLACE, "umedgeEncryptedCredential", s->pending,
	             s->pending_len);
	es_mods_add1(&ms, LDAP_MOD_REPLACE, "umedgePendingCredential", NULL, 0);
	es_mods_adds(&ms, LDAP_MOD_REPLACE, "umedgeCredentialTime", es_gtime_format(when, gt));
	if ((r = fenced_modify(c, s, holder, &ms)) != ES_OK)
		return r;
	free(s->cred);
	s->cred = s->pending;
	s->cred_len = s->pending_len;
	s->pending = NULL;
	s->pending_len = 0;
	s->cred_time = when;
	return ES_OK;
}

enum es_err
es_subscription_record(struct es_conn *c, struct es_subscription *s, const char *holder, bool ok,
                       time_t when, const char *failure)
{
	struct es_mods ms;
	char gt[ES_GTIME_LEN + 1], *text = NULL;
	enum es_err r;

	es_mods_init(&ms);
	fence(&ms, holder);
	es_gtime_format(when, gt);
	if (ok) {
		/* a success ends the failure: umedgeLastFailure only ever names a failure that the
		 * next success has not cured */
		es_mods_adds(&ms, LDAP_MOD_REPLACE, "umedgeLastSyncTime", gt);
		es_mods_adds(&ms, LDAP_MOD_REPLACE, "umedgeLastFailure", NULL);
	} else {
		/* directoryString: keep it short and printable */
		if ((text = es_aprintf("%s %.900s", gt, failure ? failure : "failed")) == NULL)
			return es_seterr(ES_ERR_NOMEM, "failure");
		for (char *p = text; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = ' ';
		es_mods_adds(&ms, LDAP_MOD_REPLACE, "umedgeLastFailure", text);
	}
	r = fenced_modify(c, s, holder, &ms);
	if (r == ES_OK) {
		if (ok) {
			s->last_sync = when;
			free(s->last_failure);
			s->last_failure = NULL;
		} else {
			free(s->last_failure);
			s->last_failure = text;
			text = NULL;
		}
	}
	free(text);
	return r;
}

/* Rules: defaults, validation, identity, and the edge form of a source entry. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "edgesync/rule.h"
#include "internal.h"

/*
 * Exchange 2007 EdgeSync: configuration data every 3 minutes, recipients every 5. The classes
 * and attributes are those of edgesync-data.schema (proxyAddresses keeps AD's name and OID).
 */
static const struct {
	const char *name, *filter, *attrs, *hash, *target;
	int interval;
} defaults[] = {
        {"recipients", "(mail=*)", "cn mail proxyAddresses", "mail proxyAddresses", "ou=Recipients",
         300},
        {"accepteddomains", "(objectClass=umedgeAcceptedDomain)",
         "cn umedgeDomainName umedgeDomainType", "", "ou=Accepted Domains", 180},
        {"remotedomains", "(objectClass=umedgeRemoteDomain)", "cn umedgeDomainName", "",
         "ou=Remote Domains", 180},
        {"connectors", "(objectClass=umedgeSendConnector)",
         "cn umedgeAddressSpace umedgeSmartHost umedgeEnabled", "", "ou=Connectors", 180},
};

/* Attributes edgesync itself writes on the edge; a rule may not copy them. */
static const char *const reserved[] = {"objectClass", "umedgeSourceUUID", "umedgeArea", NULL};

void
es_rule_clear(struct es_rule *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->base);
	free(r->filter);
	es_strv_free(r->attrs);
	es_strv_free(r->hash);
	free(r->target);
	memset(r, 0, sizeof(*r));
}

enum es_err
es_rule_split_list(const char *s, char ***out)
{
	char **v = NULL, **nv;
	size_t n = 0, len;
	const char *p = s, *start;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "list");
	while (p != NULL && *p != '\0') {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',' && !isspace((unsigned char)*p))
			p++;
		len = (size_t)(p - start);
		if ((nv = realloc(v, (n + 2) * sizeof(*v))) == NULL) {
			es_strv_free(v);
			return es_seterr(ES_ERR_NOMEM, "list");
		}
		v = nv;
		if ((v[n] = strndup(start, len)) == NULL) {
			es_strv_free(v);
			return es_seterr(ES_ERR_NOMEM, "list");
		}
		v[++n] = NULL;
	}
	*out = v;
	return ES_OK;
}

static char **
strv_dup(char *const *in)
{
	char **v;
	size_t n = 0, i;

	while (in != NULL && in[n] != NULL)
		n++;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((v[i] = strdup(in[i])) == NULL) {
			es_strv_free(v);
			return NULL;
		}
	}
	return v;
}

enum es_err
es_rule_copy(const struct es_rule *in, struct es_rule *out)
{
	memset(out, 0, sizeof(*out));
	out->interval = in->interval;
	if ((out->name = strdup(in->name)) == NULL ||
	    (in->base != NULL && (out->base = strdup(in->base)) == NULL) ||
	    (out->filter = strdup(in->filter)) == NULL ||
	    (out->attrs = strv_dup(in->attrs)) == NULL ||
	    (out->hash = strv_dup(in->hash)) == NULL ||
	    (out->target = strdup(in->target)) == NULL) {
		es_rule_clear(out);
		return es_seterr(ES_ERR_NOMEM, "rule");
	}
	return ES_OK;
}

enum es_err
es_rules_default(struct es_rule **out, size_t *n)
{
	struct es_rule *v;
	size_t i;
	enum es_err r;

	*out = NULL;
	*n = 0;
	if ((v = calloc(ES_NELEM(defaults), sizeof(*v))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "rules");
	for (i = 0; i < ES_NELEM(defaults); i++) {
		v[i].interval = defaults[i].interval;
		if ((v[i].name = strdup(defaults[i].name)) == NULL ||
		    (v[i].filter = strdup(defaults[i].filter)) == NULL ||
		    (v[i].target = strdup(defaults[i].target)) == NULL) {
			r = es_seterr(ES_ERR_NOMEM, "rules");
			goto fail;
		}
		if ((r = es_rule_split_list(defaults[i].attrs, &v[i].attrs)) != ES_OK ||
		    (r = es_rule_split_list(defaults[i].hash, &v[i].hash)) != ES_OK)
			goto fail;
	}
	*out = v;
	*n = ES_NELEM(defaults);
	return ES_OK;
fail:
	for (i = 0; i < ES_NELEM(defaults); i++)
		es_rule_clear(&v[i]);
	free(v);
	return r;
}

bool
es_area_name_valid(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || name[0] == '-' || strlen(name) > 32)
		return false;
	for (i = 0; name[i] != '\0'; i++)
		if (!(islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) ||
		      name[i] == '-'))
			return false;
	return true;
}

static bool
in_list(char *const *v, const char *s)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (strcasecmp(v[i], s) == 0)
			return true;
	return false;
}

/* An attribute description: a name (letters, digits, '-') or a numeric OID. */
static bool
attr_name_valid(const char *s)
{
	size_t i;

	if (s[0] == '\0' || strlen(s) > 128)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '.' || s[i] == ';'))
			return false;
	return true;
}

/* Parentheses balanced and the whole filter in one pair (RFC 4515 section 3). */
static bool
filter_valid(const char *f)
{
	size_t i, len = strlen(f);
	int depth = 0;

	if (len < 3 || f[0] != '(' || f[len - 1] != ')')
		return false;
	for (i = 0; i < len; i++) {
		if (f[i] == '\\') {
			if (i + 2 >= len || !isxdigit((unsigned char)f[i + 1]) ||
			    !isxdigit((unsigned char)f[i + 2]))
				return false;
			i += 2;
		} else if (f[i] == '(') {
			depth++;
		} else if (f[i] == ')') {
			if (--depth < 0)
				return false;
			if (depth == 0 && i != len - 1)
				return false;
		}
	}
	return depth == 0;
}

enum es_err
es_rule_validate(const struct es_rule *r)
{
	LDAPDN dn = NULL;
	size_t i;
	int rc;

	if (!es_area_name_valid(r->name))
		return es_seterr(ES_ERR_CONFIG, "rule name \"%s\": use 1 to 32 of a-z, 0-9 and '-'",
		                 r->name);
	if (r->base != NULL && r->base[0] != '\0') {
		if ((rc = ldap_str2dn(r->base, &dn, LDAP_DN_FORMAT_LDAPV3)) != LDAP_SUCCESS)
			return es_seterr(ES_ERR_CONFIG, "rule %s: base \"%s\" is not a DN: %s",
			                 r->name, r->base, ldap_err2string(rc));
		ldap_dnfree(dn);
		dn = NULL;
	}
	if (r->filter == NULL || !filter_valid(r->filter))
		return es_seterr(ES_ERR_CONFIG,
		                 "rule %s: filter \"%s\" is not an RFC 4515 filter in parentheses",
		                 r->name, r->filter ? r->filter : "");
	if (r->attrs == NULL || r->attrs[0] == NULL)
		return es_seterr(ES_ERR_CONFIG, "rule %s: no attributes to copy", r->name);
	for (i = 0; r->attrs[i] != NULL; i++) {
		if (!attr_name_valid(r->attrs[i]))
			return es_seterr(ES_ERR_CONFIG, "rule %s: \"%s\" is not an attribute name",
			                 r->name, r->attrs[i]);
		if (in_list((char *const *)reserved, r->attrs[i]))
			return es_seterr(ES_ERR_CONFIG, "rule %s: %s is written by edgesync itself",
			                 r->name, r->attrs[i]);
	}
	for (i = 0; r->hash != NULL && r->hash[i] != NULL; i++)
		if (!in_list(r->attrs, r->hash[i]))
			return es_seterr(ES_ERR_CONFIG,
			                 "rule %s: hashed attribute %s is not among the attributes",
			                 r->name, r->hash[i]);
	if (r->target == NULL || r->target[0] == '\0')
		return es_seterr(ES_ERR_CONFIG, "rule %s: no target", r->name);
	if ((rc = ldap_str2dn(r->target, &dn, LDAP_DN_FORMAT_LDAPV3)) != LDAP_SUCCESS)
		return es_seterr(ES_ERR_CONFIG, "rule %s: target \"%s\" is not a DN: %s", r->name,
		                 r->target, ldap_err2string(rc));
	for (i = 0; dn != NULL && dn[i] != NULL; i++) {
		/* containers edgesync creates are organizationalUnit entries */
		if (dn[i][0] == NULL || dn[i][1] != NULL ||
		    strncasecmp(dn[i][0]->la_attr.bv_val, "ou", dn[i][0]->la_attr.bv_len) != 0 ||
		    dn[i][0]->la_attr.bv_len != 2) {
			ldap_dnfree(dn);
			return es_seterr(ES_ERR_CONFIG,
			                 "rule %s: target \"%s\" must be ou= RDNs (ou=Recipients)",
			                 r->name, r->target);
		}
	}
	ldap_dnfree(dn);
	if (r->interval < 1 || r->interval > 86400)
		return es_seterr(ES_ERR_CONFIG, "rule %s: interval %d is not 1 to 86400 seconds",
		                 r->name, r->interval);
	return ES_OK;
}

static void
digest_str(EVP_MD_CTX *ctx, const char *s)
{
	/* NUL included, so "a","bc" and "ab","c" differ */
	EVP_DigestUpdate(ctx, s != NULL ? s : "", s != NULL ? strlen(s) + 1 : 1);
}

void
es_rule_identity(const struct es_rule *r, const char *base, char out[ES_RULE_HASH_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	if (ok) {
		digest_str(ctx, base);
		digest_str(ctx, r->filter);
		for (i = 0; r->attrs != NULL && r->attrs[i] != NULL; i++)
			digest_str(ctx, r->attrs[i]);
		digest_str(ctx, "|");
		for (i = 0; r->hash != NULL && r->hash[i] != NULL; i++)
			digest_str(ctx, r->hash[i]);
		digest_str(ctx, "|");
		digest_str(ctx, r->target);
		ok = EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen * 2 >= ES_RULE_HASH_LEN;
	}
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < ES_RULE_HASH_LEN / 2; i++) {
		out[2 * i] = ok ? hex[md[i] >> 4] : '0';
		out[2 * i + 1] = ok ? hex[md[i] & 0xf] : '0';
	}
	out[ES_RULE_HASH_LEN] = '\0';
}

bool
es_rule_hashes(const struct es_rule *r, const char *attr)
{
	return in_list(r->hash, attr);
}

enum es_err
es_hash_value(const void *val, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	enum es_err r = ES_ERR_CRYPTO;
	unsigned char md[EVP_MAX_MD_SIZE], *low = NULL;
	unsigned int mdlen = 0, i;
	size_t k;

	out[0] = '\0';
	/* Exchange lower-cases addresses before hashing them; ASCII letters only (RFC 5321
	 * domains and the local parts in use are ASCII; a UTF-8 local part is hashed as is). */
	if ((low = malloc(len + 1)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "hash");
	for (k = 0; k < len; k++)
		low[k] = (unsigned char)tolower(((const unsigned char *)val)[k]);
	if (EVP_Digest(low, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		r = es_seterr_ssl(ES_ERR_CRYPTO, "SHA-256");
		goto out;
	}
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
	r = ES_OK;
out:
	free(low);
	return r;
}

enum es_err
es_rule_target_dn(const struct es_rule *r, const char *edge_base, char **out)
{
	*out = es_aprintf("%s,%s", r->target, edge_base);
	return *out == NULL ? es_seterr(ES_ERR_NOMEM, "target DN") : ES_OK;
}

enum es_err
es_rule_edge_entry(const struct es_rule *r, const char *target_dn, const struct es_entry *src,
                   struct es_entry **out)
{
	static const char *const classes[] = {"umedgeEdgeObject", "umedgeReplicated",
	                                      "extensibleObject"};
	enum es_err res = ES_ERR_NOMEM;
	struct es_entry *e = NULL;
	const struct es_attr *a;
	char *dn = NULL, hex[65];
	size_t i, j;

	*out = NULL;
	if (src->key == NULL)
		return es_seterr(ES_ERR_INVAL, "source entry %s has no key", src->dn);
	if ((dn = es_aprintf("umedgeSourceUUID=%s,%s", src->key, target_dn)) == NULL) {
		res = es_seterr(ES_ERR_NOMEM, "edge DN");
		goto out;
	}
	if ((res = es_entry_new(dn, src->key, &e)) != ES_OK)
		goto out;
	for (i = 0; i < ES_NELEM(classes); i++)
		if ((res = es_entry_add_value(e, "objectClass", classes[i], strlen(classes[i]))) !=
		    ES_OK)
			goto out;
	if ((res = es_entry_add_value(e, "umedgeSourceUUID", src->key, strlen(src->key))) !=
	            ES_OK ||
	    (res = es_entry_add_value(e, "umedgeArea", r->name, strlen(r->name))) != ES_OK)
		goto out;
	for (i = 0; r->attrs[i] != NULL; i++) {
		if ((a = es_entry_attr(src, r->attrs[i])) == NULL)
			continue;
		for (j = 0; j < a->nvals; j++) {
			if (es_rule_hashes(r, r->attrs[i])) {
				if ((res = es_hash_value(a->vals[j].bv_val, a->vals[j].bv_len,
				                         hex)) != ES_OK)
					goto out;
				res = es_entry_add_value(e, a->name, hex, 64);
			} else {
				res = es_entry_add_value(e, a->name, a->vals[j].bv_val,
				                         a->vals[j].bv_len);
			}
			if (res != ES_OK)
				goto out;
		}
	}
	es_entry_normalize(e);
	*out = e;
	e = NULL;
	res = ES_OK;
out:
	free(dn);
	es_entry_free(e);
	return res;
}

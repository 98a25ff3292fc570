/* The subscription file: JSON (jansson), checked strictly, written 0600 atomically. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "certcore/cert.h"
#include "certcore/fileio.h"
#include "edgesync/config.h"
#include "edgesync/secret.h"
#include "edgesync/subfile.h"
#include "internal.h"

#define SUBFILE_MAX 65536

static void
wipe_free(void *p)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

void
es_json_wipe_on_free(void)
{
	json_set_alloc_funcs(malloc, wipe_free);
}

void
es_subfile_free(struct es_subfile *sf)
{
	if (sf == NULL)
		return;
	free(sf->edge_name);
	free(sf->fqdn);
	free(sf->url);
	free(sf->base);
	free(sf->bind_dn);
	es_secret_free(sf->bind_password);
	X509_free(sf->cert);
	free(sf);
}

static const char *const keys[] = {"version",   "edge_name",       "fqdn",    "url",
                                   "base",      "certificate",     "bind_dn", "bind_password",
                                   "effective", "duration_minutes"};

static enum es_err
get_str(json_t *o, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL)
		return es_seterr(ES_ERR_PARSE, "subscription file: no \"%s\"", key);
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return es_seterr(ES_ERR_PARSE,
		                 "subscription file: \"%s\" is not a non-empty string", key);
	if ((*out = strdup(json_string_value(v))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "subscription file");
	return ES_OK;
}

static enum es_err
check_dn(const char *what, const char *s)
{
	LDAPDN dn = NULL;
	int rc = ldap_str2dn(s, &dn, LDAP_DN_FORMAT_LDAPV3);

	if (dn != NULL)
		ldap_dnfree(dn);
	if (rc != LDAP_SUCCESS || dn == NULL)
		return es_seterr(ES_ERR_PARSE, "subscription file: %s \"%s\" is not a DN", what, s);
	return ES_OK;
}

/* "2026-11-28T11:00:00Z" */
static enum es_err
parse_iso(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return es_seterr(
		        ES_ERR_PARSE,
		        "subscription file: effective \"%.40s\" is not YYYY-MM-DDTHH:MM:SSZ", s);
	*out = timegm(&tm);
	return ES_OK;
}

enum es_err
es_subfile_parse(const char *buf, size_t len, struct es_subfile **out)
{
	enum es_err r = ES_ERR_PARSE;
	struct es_subfile *sf = NULL;
	json_t *o = NULL, *v;
	json_error_t jerr;
	const char *k;
	char *pem = NULL, *eff = NULL;
	BIO *bio = NULL;
	LDAPURLDesc *u = NULL;
	size_t i;
	json_int_t n;

	*out = NULL;
	es_json_wipe_on_free();
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		r = es_seterr(ES_ERR_PARSE, "subscription file: not JSON: %s (line %d)", jerr.text,
		              jerr.line);
		goto out;
	}
	if (!json_is_object(o)) {
		r = es_seterr(ES_ERR_PARSE, "subscription file: not a JSON object");
		goto out;
	}
	json_object_foreach(o, k, v)
	{
		for (i = 0; i < ES_NELEM(keys) && strcmp(k, keys[i]) != 0; i++)
			;
		if (i == ES_NELEM(keys)) {
			r = es_seterr(ES_ERR_PARSE, "subscription file: unknown key \"%.64s\"", k);
			goto out;
		}
	}
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		r = es_seterr(ES_ERR_PARSE, "subscription file: \"version\" is not 1");
		goto out;
	}
	if ((sf = calloc(1, sizeof(*sf))) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "subscription file");
		goto out;
	}
	if ((r = get_str(o, "edge_name", &sf->edge_name)) != ES_OK ||
	    (r = get_str(o, "fqdn", &sf->fqdn)) != ES_OK ||
	    (r = get_str(o, "url", &sf->url)) != ES_OK ||
	    (r = get_str(o, "base", &sf->base)) != ES_OK ||
	    (r = get_str(o, "bind_dn", &sf->bind_dn)) != ES_OK ||
	    (r = get_str(o, "bind_password", &sf->bind_password)) != ES_OK ||
	    (r = get_str(o, "certificate", &pem)) != ES_OK ||
	    (r = get_str(o, "effective", &eff)) != ES_OK)
		goto out;
	if (!es_edge_name_valid(sf->edge_name)) {
		r = es_seterr(ES_ERR_PARSE, "subscription file: edge name \"%.64s\" is not valid",
		              sf->edge_name);
		goto out;
	}
	if (ldap_url_parse(sf->url, &u) != LDAP_URL_SUCCESS ||
	    (strcasecmp(u->lud_scheme, "ldaps") != 0 && strcasecmp(u->lud_scheme, "ldap") != 0)) {
		r = es_seterr(ES_ERR_PARSE,
		              "subscription file: url \"%.200s\" is not ldaps:// or "
		              "ldap://",
		              sf->url);
		goto out;
	}
	if ((r = check_dn("base", sf->base)) != ES_OK ||
	    (r = check_dn("bind_dn", sf->bind_dn)) != ES_OK)
		goto out;
	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL ||
	    (sf->cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		r = es_seterr_ssl(ES_ERR_PARSE, "subscription file: certificate is not a PEM "
		                                "certificate");
		goto out;
	}
	if ((r = parse_iso(eff, &sf->effective)) != ES_OK)
		goto out;
	v = json_object_get(o, "duration_minutes");
	n = json_is_integer(v) ? json_integer_value(v) : 0;
	if (n < 1 || n > ES_SUBFILE_MAX_MINUTES) {
		r = es_seterr(ES_ERR_PARSE,
		              "subscription file: \"duration_minutes\" is not 1 to %d",
		              ES_SUBFILE_MAX_MINUTES);
		goto out;
	}
	sf->minutes = (int)n;
	*out = sf;
	sf = NULL;
	r = ES_OK;
out:
	if (u != NULL)
		ldap_free_urldesc(u);
	BIO_free(bio);
	free(pem);
	free(eff);
	es_subfile_free(sf);
	json_decref(o);
	return r;
}

enum es_err
es_subfile_read(const char *path, struct es_subfile **out)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	enum cc_err ce;
	enum es_err r;
	char why[1024];

	*out = NULL;
	if ((ce = cc_file_read(path, SUBFILE_MAX, &buf, &len, NULL)) != CC_OK)
		return es_seterr_cc(ES_ERR_IO, ce, "%s", path);
	r = es_subfile_parse((const char *)buf, len, out);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (r != ES_OK) {
		snprintf(why, sizeof(why), "%s", es_errdetail());
		return es_seterr(r, "%s: %s", path, why);
	}
	return ES_OK;
}

enum es_err
es_subfile_check_time(const struct es_subfile *sf, time_t now)
{
	char a[32], b[32];
	time_t end = sf->effective + (time_t)sf->minutes * 60;

	if (now >= end)
		return es_seterr(ES_ERR_EXPIRED,
		                 "subscription file of edge %s expired at %s (effective %s, %d "
		                 "minutes); make a new one on the edge",
		                 sf->edge_name, cc_time_iso8601(end, a),
		                 cc_time_iso8601(sf->effective, b), sf->minutes);
	if (now + ES_SUBFILE_SKEW < sf->effective)
		return es_seterr(
		        ES_ERR_EXPIRED,
		        "subscription file of edge %s is not effective before %s (check the "
		        "clocks)",
		        sf->edge_name, cc_time_iso8601(sf->effective, a));
	return ES_OK;
}

enum es_err
es_subfile_to_json(const struct es_subfile *sf, char **out)
{
	enum es_err r = ES_ERR_NOMEM;
	json_t *o = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	char *pem = NULL, eff[32];

	*out = NULL;
	es_json_wipe_on_free();
	if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(bio, sf->cert) != 1) {
		r = es_seterr_ssl(ES_ERR_CRYPTO, "certificate to PEM");
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	/* a memory BIO's buffer has no NUL at its end: copy exactly its length */
	if ((pem = malloc(mem->length + 1)) == NULL)
		goto nomem;
	memcpy(pem, mem->data, mem->length);
	pem[mem->length] = '\0';
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "version", 1,
	              "edge_name", sf->edge_name, "fqdn", sf->fqdn, "url", sf->url, "base",
	              sf->base, "certificate", pem, "bind_dn", sf->bind_dn, "bind_password",
	              sf->bind_password, "effective", cc_time_iso8601(sf->effective, eff),
	              "duration_minutes", sf->minutes);
	if (o == NULL || (*out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
		goto nomem;
	r = ES_OK;
	goto out;
nomem:
	r = es_seterr(ES_ERR_NOMEM, "subscription file");
out:
	free(pem);
	BIO_free(bio);
	json_decref(o);
	return r;
}

enum es_err
es_subfile_write(const char *path, const struct es_subfile *sf)
{
	enum es_err r;
	enum cc_err ce;
	char *json = NULL, *text = NULL;

	if ((r = es_subfile_to_json(sf, &json)) != ES_OK)
		return r;
	if ((text = es_aprintf("%s\n", json)) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "subscription file");
		goto out;
	}
	if ((ce = cc_file_write_atomic(path, text, strlen(text), 0600)) != CC_OK) {
		r = es_seterr_cc(ES_ERR_IO, ce, "%s", path);
		goto out;
	}
	r = ES_OK;
out:
	es_secret_free(json);
	es_secret_free(text);
	return r;
}

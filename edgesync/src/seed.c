/* Offline seeding of a new edge: export as LDIF for slapadd, then commit the cookies (seed.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <ldap.h>
#include <openssl/evp.h>
/* after ldap.h: it needs lber's types */
#include <ldif.h>

#include "certcore/fileio.h"
#include "edgesync/dirsync.h"
#include "edgesync/edge.h"
#include "edgesync/lease.h"
#include "edgesync/seed.h"
#include "edgesync/source.h"
#include "edgesync/sync.h"
#include "internal.h"

void
es_seed_free(struct es_seed *sd)
{
	size_t i;

	if (sd == NULL)
		return;
	for (i = 0; i < sd->n; i++) {
		free(sd->v[i].name);
		free(sd->v[i].cookie.bv_val);
	}
	free(sd->v);
	free(sd->edge);
	free(sd->holder);
	free(sd);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* SHA-256 (hex) of the keys, sorted, one per line: the same for the export's adds and the
 * edge's copies when the edge holds exactly what was exported. `keys` is sorted in place. */
static enum es_err
keys_digest(const char **keys, size_t n, char out[ES_SEED_KEYS_DIGEST_LEN + 1])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char h[32];
	unsigned int hl = 0;
	size_t i;
	bool ok;

	if (md == NULL)
		return es_seterr(ES_ERR_NOMEM, "seed digest");
	qsort(keys, n, sizeof(*keys), cmp_str);
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	for (i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(md, keys[i], strlen(keys[i])) == 1 &&
		     EVP_DigestUpdate(md, "\n", 1) == 1;
	ok = ok && EVP_DigestFinal_ex(md, h, &hl) == 1 && hl == sizeof(h);
	EVP_MD_CTX_free(md);
	if (!ok)
		return es_seterr_ssl(ES_ERR_CRYPTO, "seed digest");
	for (i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
	return ES_OK;
}

/* One attribute value as LDIF (base64 where RFC 2849 wants it), line-wrapped. */
static enum es_err
put_value(FILE *f, const char *name, const char *val, size_t len)
{
	char *line = ldif_put_wrap(LDIF_PUT_VALUE, name, val, len, LDIF_LINE_WIDTH);
	int rc;

	if (line == NULL)
		return es_seterr(ES_ERR_NOMEM, "LDIF");
	rc = fputs(line, f);
	ber_memfree(line);
	return rc == EOF ? es_seterr_errno(ES_ERR_IO, "writing the LDIF") : ES_OK;
}

static enum es_err
put_entry(FILE *f, const struct es_entry *e)
{
	enum es_err r;
	size_t i, j;

	if ((r = put_value(f, "dn", e->dn, strlen(e->dn))) != ES_OK)
		return r;
	for (i = 0; i < e->nattrs; i++)
		for (j = 0; j < e->attrs[i].nvals; j++)
			if ((r = put_value(f, e->attrs[i].name, e->attrs[i].vals[j].bv_val,
			                   e->attrs[i].vals[j].bv_len)) != ES_OK)
				return r;
	if (fputc('\n', f) == EOF)
		return es_seterr_errno(ES_ERR_IO, "writing the LDIF");
	return ES_OK;
}

/* The whole content of an area, with the cookie the source gives with it when it can. */
static enum es_err
read_area(struct es_replicator *rep, const struct es_subscription *s, const struct es_rule *r,
          const char *base, struct es_changes *ch)
{
	enum es_err rr;

	if (rep->source_ad)
		return es_source_dirsync(rep->source, r, base, rep->source_nc, NULL,
		                         &rep->dirsync_flags, ch);
	if (!rep->source_sync)
		return es_source_full(rep->source, r, base, ch);
	rr = es_source_sync(rep->source, r, base, NULL, ch);
	if (rr == ES_ERR_LIMIT) {
		cc_log_message(
		        rep->log, CC_LOG_WARNING,
		        "edge %s: area %s: %s; read whole in pages instead, without a cookie "
		        "(the first cycle after the seed compares the area whole)",
		        s->name, r->name, es_errdetail());
		es_changes_clear(ch);
		es_changes_init(ch);
		rr = es_source_full(rep->source, r, base, ch);
	}
	return rr;
}

static enum es_err
export_area(struct es_replicator *rep, struct es_conn *edge, struct es_subscription *s,
            const struct es_rule *r, FILE *ldif, struct es_seed_area *out)
{
	struct es_changes ch;
	struct es_entryset have;
	struct es_plan plan;
	const char *base = r->base != NULL ? r->base : rep->source_base;
	const char **keys = NULL;
	char *target = NULL;
	enum es_err rr;
	size_t i, nk = 0;

	es_changes_init(&ch);
	es_entryset_init(&have);
	es_plan_init(&plan);
	es_rule_identity(r, base, out->ident);
	if ((out->name = strdup(r->name)) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "seed");
		goto out;
	}
	if ((rr = es_rule_target_dn(r, s->base, &target)) != ES_OK ||
	    (rr = es_edge_ensure_target(edge, r, s->base)) != ES_OK ||
	    (rr = es_edge_load(edge, r, s->base, &have)) != ES_OK)
		goto out;
	if (have.n > 0) {
		rr = es_seterr(
		        ES_ERR_EXISTS,
		        "edge %s already holds %zu entries of area %s: a seed is for an edge "
		        "that holds none (synchronize it online: edgesync start)",
		        s->name, have.n, r->name);
		goto out;
	}
	if ((rr = read_area(rep, s, r, base, &ch)) != ES_OK ||
	    (rr = es_source_screen(r, rep->source_ad, &ch)) != ES_OK)
		goto out;
	for (i = 0; i < ch.nrejected; i++)
		cc_log_message(rep->log, CC_LOG_WARNING, "edge %s: area %s: %s", s->name, r->name,
		               ch.rejected[i]);
	if ((rr = es_edge_plan(r, target, &ch, &have, &plan)) != ES_OK)
		goto out;
	if ((keys = calloc(plan.n + 1, sizeof(*keys))) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "seed");
		goto out;
	}
	for (i = 0; i < plan.n; i++) {
		const struct es_entry *e = plan.v[i].want;

		/* an empty edge: every operation of the plan is an add */
		if (plan.v[i].kind != ES_OP_ADD || e == NULL || e->key == NULL) {
			rr = es_seterr(ES_ERR_SOURCE, "area %s: the seed's plan is not adds only",
			               r->name);
			goto out;
		}
		if ((rr = put_entry(ldif, e)) != ES_OK)
			goto out;
		keys[nk++] = e->key;
	}
	if ((rr = keys_digest(keys, nk, out->keys)) != ES_OK)
		goto out;
	out->entries = (long)nk;
	if (ch.synced && ch.cookie.bv_val != NULL) {
		out->cookie = ch.cookie; /* taken over */
		ch.cookie.bv_val = NULL;
		ch.cookie.bv_len = 0;
	}
	cc_log_message(rep->log, CC_LOG_INFO, "edge %s: area %s: %ld entries exported%s", s->name,
	               r->name, out->entries,
	               out->cookie.bv_val != NULL ? ", with the source's cookie"
	                                          : " (the source gave no cookie)");
out:
	free(keys);
	free(target);
	es_plan_clear(&plan);
	es_entryset_clear(&have);
	es_changes_clear(&ch);
	return rr;
}

enum es_err
es_seed_export(struct es_replicator *rep, struct es_subscription *s, int hold_seconds, FILE *ldif,
               struct es_seed **out)
{
	struct es_seed *sd = NULL;
	struct es_conn *edge = NULL;
	char *holder = NULL;
	enum es_err r;
	size_t i;

	*out = NULL;
	/* a holder name of its own: the commit, another process, takes the lease over by it */
	if ((r = es_lease_holder_name(&holder)) != ES_OK)
		return r;
	if ((sd = calloc(1, sizeof(*sd))) == NULL || (sd->edge = strdup(s->name)) == NULL ||
	    (sd->v = calloc(rep->cfg->nrules, sizeof(*sd->v))) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "seed");
		goto out;
	}
	if (asprintf(&sd->holder, "seed/%s", holder) < 0) {
		sd->holder = NULL;
		r = es_seterr(ES_ERR_NOMEM, "seed");
		goto out;
	}
	if ((r = es_lease_acquire(rep->source, s, sd->holder, hold_seconds, time(NULL),
	                          rep->log)) != ES_OK)
		goto out;
	sd->lease_expiry = s->lease_expiry;
	if ((r = es_sync_connect_edge(rep, s, true, ES_ROTATE_NEVER, &edge)) != ES_OK)
		goto release;
	for (i = 0; i < rep->cfg->nrules; i++) {
		if (es_replicator_stopping(rep)) {
			r = es_seterr(ES_ERR_INTERRUPTED, "stopped before area %s",
			              rep->cfg->rules[i].name);
			goto release;
		}
		sd->n++; /* counted first: what a failed area holds is freed with the rest */
		if ((r = export_area(rep, edge, s, &rep->cfg->rules[i], ldif, &sd->v[i])) != ES_OK)
			goto release;
	}
	if (fflush(ldif) == EOF) {
		r = es_seterr_errno(ES_ERR_IO, "writing the LDIF");
		goto release;
	}
	*out = sd;
	sd = NULL;
	goto out;
release:
	/* nothing was seeded: the lease goes back at once */
	{
		char why[1024];
		enum es_err r2;

		snprintf(why, sizeof(why), "%s", es_errdetail());
		r2 = es_lease_release(rep->source, s, sd->holder);
		(void)r2;
		r = es_seterr(r, "%s", why);
	}
out:
	es_conn_close(edge);
	es_seed_free(sd);
	free(holder);
	return r;
}

/* Does the edge hold exactly the area's exported entries? */
static enum es_err
check_area(struct es_replicator *rep, struct es_conn *edge, const struct es_subscription *s,
           const struct es_seed_area *a, const struct es_rule *r)
{
	struct es_entryset have;
	const char **keys = NULL;
	char digest[ES_SEED_KEYS_DIGEST_LEN + 1], ident[ES_RULE_HASH_LEN + 1];
	enum es_err rr;
	size_t i;

	es_entryset_init(&have);
	es_rule_identity(r, r->base != NULL ? r->base : rep->source_base, ident);
	if (strcmp(ident, a->ident) != 0) {
		rr = es_seterr(
		        ES_ERR_SOURCE,
		        "area %s: its rule changed since the export; nothing is committed (the "
		        "next cycle compares the edge whole)",
		        a->name);
		goto out;
	}
	if ((rr = es_edge_load(edge, r, s->base, &have)) != ES_OK)
		goto out;
	if ((long)have.n != a->entries) {
		rr = es_seterr(ES_ERR_SOURCE,
		               "edge %s holds %zu entries of area %s, the export %ld: was the LDIF "
		               "loaded whole (slapadd)? nothing is committed",
		               s->name, have.n, a->name, a->entries);
		goto out;
	}
	if ((keys = calloc(have.n + 1, sizeof(*keys))) == NULL) {
		rr = es_seterr(ES_ERR_NOMEM, "seed");
		goto out;
	}
	for (i = 0; i < have.n; i++)
		keys[i] = have.v[i]->key != NULL ? have.v[i]->key : "";
	if ((rr = keys_digest(keys, have.n, digest)) != ES_OK)
		goto out;
	if (strcmp(digest, a->keys) != 0)
		rr = es_seterr(ES_ERR_SOURCE,
		               "edge %s holds %zu entries of area %s but not the exported ones; "
		               "nothing is committed",
		               s->name, have.n, a->name);
out:
	free(keys);
	es_entryset_clear(&have);
	return rr;
}

enum es_err
es_seed_commit(struct es_replicator *rep, struct es_subscription *s, const struct es_seed *sd)
{
	struct es_conn *edge = NULL;
	const struct es_rule *rules[64];
	enum es_err r, r2;
	size_t i;

	if (strcmp(sd->edge, s->name) != 0)
		return es_seterr(ES_ERR_INVAL, "the seed is of edge %s, not %s", sd->edge, s->name);
	if (sd->n > sizeof(rules) / sizeof(rules[0]))
		return es_seterr(ES_ERR_INVAL, "the seed has too many areas");
	if (s->lease_holder == NULL || strcmp(s->lease_holder, sd->holder) != 0 ||
	    es_lease_state(s, sd->holder, time(NULL)) != ES_LEASE_MINE)
		return es_seterr(ES_ERR_LEASE_HELD,
		                 "edge %s: the export's lease is gone (expired, or taken by %s): "
		                 "nothing is committed; the next cycle compares the edge whole",
		                 s->name, s->lease_holder != NULL ? s->lease_holder : "nobody");
	for (i = 0; i < sd->n; i++)
		if ((rules[i] = es_config_rule(rep->cfg, sd->v[i].name)) == NULL)
			return es_seterr(ES_ERR_CONFIG,
			                 "area %s of the seed is not in the configuration",
			                 sd->v[i].name);
	if ((r = es_sync_connect_edge(rep, s, true, ES_ROTATE_NEVER, &edge)) != ES_OK)
		return r;
	/* every area checked before any cookie is stored */
	for (i = 0; i < sd->n; i++)
		if ((r = check_area(rep, edge, s, &sd->v[i], rules[i])) != ES_OK)
			goto out;
	for (i = 0; i < sd->n; i++) {
		if (sd->v[i].cookie.bv_val == NULL)
			continue;
		if ((r = es_subscription_set_cookie(rep->source, s, sd->holder, sd->v[i].name,
		                                    sd->v[i].ident, &sd->v[i].cookie)) != ES_OK)
			goto out;
	}
	if ((r = es_subscription_record(rep->source, s, sd->holder, true, time(NULL), NULL)) !=
	    ES_OK)
		goto out;
	r2 = es_lease_release(rep->source, s, sd->holder);
	(void)r2;
out:
	es_conn_close(edge);
	return r;
}

/* --- the state file ------------------------------------------------------------------------- */

enum es_err
es_seed_to_json(const struct es_seed *sd, char **out)
{
	json_t *o = NULL, *areas = NULL, *a;
	char *text = NULL, *b64 = NULL;
	enum es_err r = ES_OK;
	size_t i;

	if ((o = json_object()) == NULL || (areas = json_array()) == NULL)
		goto nomem;
	if (json_object_set_new(o, "version", json_integer(1)) != 0 ||
	    json_object_set_new(o, "edge", json_string(sd->edge)) != 0 ||
	    json_object_set_new(o, "holder", json_string(sd->holder)) != 0 ||
	    json_object_set_new(o, "lease_expiry", json_integer((json_int_t)sd->lease_expiry)) !=
	            0 ||
	    json_object_set(o, "areas", areas) != 0)
		goto nomem;
	for (i = 0; i < sd->n; i++) {
		const struct es_seed_area *sa = &sd->v[i];

		free(b64);
		b64 = NULL;
		if (sa->cookie.bv_val != NULL) {
			size_t cap = 4 * ((sa->cookie.bv_len + 2) / 3) + 1;

			if ((b64 = malloc(cap)) == NULL)
				goto nomem;
			EVP_EncodeBlock((unsigned char *)b64,
			                (const unsigned char *)sa->cookie.bv_val,
			                (int)sa->cookie.bv_len);
		}
		if ((a = json_object()) == NULL || json_array_append_new(areas, a) != 0 ||
		    json_object_set_new(a, "name", json_string(sa->name)) != 0 ||
		    json_object_set_new(a, "rule", json_string(sa->ident)) != 0 ||
		    json_object_set_new(a, "entries", json_integer(sa->entries)) != 0 ||
		    json_object_set_new(a, "keys_sha256", json_string(sa->keys)) != 0 ||
		    json_object_set_new(a, "cookie",
		                        b64 != NULL ? json_string(b64) : json_null()) != 0)
			goto nomem;
	}
	if ((text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL)
		goto nomem;
	*out = text;
	goto out;
nomem:
	r = es_seterr(ES_ERR_NOMEM, "seed state");
out:
	free(b64);
	json_decref(areas);
	json_decref(o);
	return r;
}

enum es_err
es_seed_write(const struct es_seed *sd, const char *path)
{
	char *text = NULL;
	enum es_err r;

	if ((r = es_seed_to_json(sd, &text)) != ES_OK)
		return r;
	if (cc_file_write_atomic(path, text, strlen(text), 0600) != CC_OK)
		r = es_seterr(ES_ERR_IO, "%s: %s", path, cc_errdetail());
	free(text);
	return r;
}

static bool
str_field(json_t *o, const char *k, const char **out)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return false;
	*out = json_string_value(v);
	return true;
}

#define B64 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

static bool
hex_len(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

enum es_err
es_seed_read(const char *path, struct es_seed **out)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	enum es_err r;

	*out = NULL;
	if (cc_file_read(path, ES_SEED_STATE_MAX, &buf, &len, NULL) != CC_OK)
		return es_seterr(ES_ERR_IO, "%s", cc_errdetail());
	r = es_seed_parse((const char *)buf, len, path, out);
	free(buf);
	return r;
}

enum es_err
es_seed_parse(const char *buf, size_t len, const char *path, struct es_seed **out)
{
	json_t *o = NULL, *areas, *a, *v;
	json_error_t jerr;
	struct es_seed *sd = NULL;
	const char *edge, *holder, *name, *rule, *keys, *cookie;
	enum es_err r;
	size_t i, n;

	*out = NULL;
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return es_seterr(ES_ERR_PARSE, "%s: line %d: %s", path, jerr.line, jerr.text);
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1 || !str_field(o, "edge", &edge) ||
	    !str_field(o, "holder", &holder) ||
	    !json_is_integer(json_object_get(o, "lease_expiry")) ||
	    !json_is_array(areas = json_object_get(o, "areas")) || json_array_size(areas) == 0) {
		r = es_seterr(ES_ERR_PARSE,
		              "%s: not a seed state (version 1, edge, holder, lease_expiry, areas)",
		              path);
		goto out;
	}
	n = json_array_size(areas);
	if ((sd = calloc(1, sizeof(*sd))) == NULL || (sd->edge = strdup(edge)) == NULL ||
	    (sd->holder = strdup(holder)) == NULL || (sd->v = calloc(n, sizeof(*sd->v))) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "seed state");
		goto out;
	}
	sd->lease_expiry = (time_t)json_integer_value(json_object_get(o, "lease_expiry"));
	json_array_foreach(areas, i, a)
	{
		struct es_seed_area *sa = &sd->v[i];
		json_t *c = json_object_get(a, "cookie"), *e = json_object_get(a, "entries");

		if (!json_is_object(a) || !str_field(a, "name", &name) ||
		    !str_field(a, "rule", &rule) || !hex_len(rule, ES_RULE_HASH_LEN) ||
		    !str_field(a, "keys_sha256", &keys) ||
		    !hex_len(keys, ES_SEED_KEYS_DIGEST_LEN) || !json_is_integer(e) ||
		    json_integer_value(e) < 0 ||
		    !(json_is_null(c) || (json_is_string(c) && str_field(a, "cookie", &cookie)))) {
			r = es_seterr(ES_ERR_PARSE,
			              "%s: area %zu: want name, rule, entries, keys_sha256, cookie",
			              path, i + 1);
			goto out;
		}
		sd->n++;
		if ((sa->name = strdup(name)) == NULL) {
			r = es_seterr(ES_ERR_NOMEM, "seed state");
			goto out;
		}
		memcpy(sa->ident, rule, ES_RULE_HASH_LEN + 1);
		memcpy(sa->keys, keys, ES_SEED_KEYS_DIGEST_LEN + 1);
		sa->entries = (long)json_integer_value(e);
		if (json_is_string(c)) {
			size_t clen = strlen(cookie), pad = 0;
			int got = -1;

			/* EVP_DecodeBlock counts the padding's bytes as data */
			while (pad < 2 && pad < clen && cookie[clen - 1 - pad] == '=')
				pad++;
			if (clen % 4 == 0 && strspn(cookie, B64) == clen - pad &&
			    (sa->cookie.bv_val = malloc(clen / 4 * 3 + 1)) != NULL)
				got = EVP_DecodeBlock((unsigned char *)sa->cookie.bv_val,
				                      (const unsigned char *)cookie, (int)clen);
			if (got < 0 || (size_t)got < pad) {
				r = es_seterr(ES_ERR_PARSE, "%s: area %s: the cookie is not base64",
				              path, name);
				goto out;
			}
			sa->cookie.bv_len = (ber_len_t)((size_t)got - pad);
		}
	}
	*out = sd;
	sd = NULL;
	r = ES_OK;
out:
	es_seed_free(sd);
	json_decref(o);
	return r;
}

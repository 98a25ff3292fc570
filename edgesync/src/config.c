/*
 * The configuration file, parsed with inih. inih reports the line of a syntax error but does not
 * tell its handler which line a key is on, so the file is fed to it through a reader that counts
 * lines; every message is "FILE:LINE: reason".
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "certcore/store.h"
#include "edgesync/config.h"
#include "internal.h"

#define LINE_MAX_LEN 190 /* inih's line buffer is 200 bytes (INI_MAX_LINE) */

struct parse {
	struct es_config *c;
	FILE *f;
	int line;  /* the line being parsed */
	char *err; /* first error, "LINE: reason" without the file */
	int err_line;
	char section[128]; /* the section of the last header line */
	int section_line;
	/* which keys were seen in the current section, to refuse duplicates */
	char seen[32][40];
	size_t nseen;
	/* section headers seen, to refuse a second [rule NAME] (or any section) of one name */
	char **sections;
	size_t nsections;
	/* lines of each rule section, for messages after the parse */
	int *rule_lines;
};

static void fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	if (p->err != NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	p->err = m != NULL ? m : strdup("out of memory");
	p->err_line = p->line;
}

static void
note_section(struct parse *p)
{
	char **ns;
	size_t i;

	for (i = 0; i < p->nsections; i++) {
		if (strcmp(p->sections[i], p->section) == 0) {
			fail(p, "second [%s] section", p->section);
			return;
		}
	}
	if ((ns = realloc(p->sections, (p->nsections + 1) * sizeof(*ns))) == NULL ||
	    (ns[p->nsections] = strdup(p->section)) == NULL) {
		if (ns != NULL)
			p->sections = ns;
		fail(p, "out of memory");
		return;
	}
	p->sections = ns;
	p->nsections++;
}

/* fgets that counts lines and notices what inih would misread. */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *s = fgets(str, num, p->f), *q;
	size_t len;

	if (s == NULL)
		return NULL;
	p->line++;
	len = strlen(s);
	if (len > LINE_MAX_LEN || (len > 0 && s[len - 1] != '\n' && !feof(p->f)))
		fail(p, "line longer than %d characters", LINE_MAX_LEN);
	for (q = s; *q == ' ' || *q == '\t'; q++)
		;
	if (q != s && *q != '\0' && *q != '\n' && *q != '\r' && *q != ';' && *q != '#')
		fail(p, "continuation lines are not supported: put the value on one line");
	if (*q == '[') {
		char *end = strchr(q, ']');

		if (end != NULL && (size_t)(end - q - 1) < sizeof(p->section)) {
			memcpy(p->section, q + 1, (size_t)(end - q - 1));
			p->section[end - q - 1] = '\0';
			p->section_line = p->line;
			p->nseen = 0;
			note_section(p);
		}
	}
	return s;
}

static bool
set_str(struct parse *p, char **dst, const char *value)
{
	char *v;

	if ((v = strdup(value)) == NULL) {
		fail(p, "out of memory");
		return false;
	}
	free(*dst);
	*dst = v;
	return true;
}

static bool
parse_int(struct parse *p, const char *key, const char *value, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < lo || v > hi) {
		fail(p, "%s = \"%s\": want a whole number from %d to %d", key, value, lo, hi);
		return false;
	}
	*out = (int)v;
	return true;
}

static bool
check_url(struct parse *p, const char *key, const char *value, bool allow_ldapi)
{
	LDAPURLDesc *u = NULL;
	int rc = ldap_url_parse(value, &u);
	bool ok = rc == LDAP_URL_SUCCESS &&
	          (strcasecmp(u->lud_scheme, "ldaps") == 0 ||
	           strcasecmp(u->lud_scheme, "ldap") == 0 ||
	           (allow_ldapi && strcasecmp(u->lud_scheme, "ldapi") == 0));

	if (u != NULL)
		ldap_free_urldesc(u);
	if (!ok)
		fail(p, "%s = \"%s\": want an ldaps:// or ldap:// URL%s", key, value,
		     allow_ldapi ? " (or ldapi://)" : "");
	return ok;
}

static bool
check_dn(struct parse *p, const char *key, const char *value)
{
	LDAPDN dn = NULL;
	int rc = ldap_str2dn(value, &dn, LDAP_DN_FORMAT_LDAPV3);

	if (rc != LDAP_SUCCESS || dn == NULL) {
		if (dn != NULL)
			ldap_dnfree(dn);
		fail(p, "%s = \"%s\": not a DN (RFC 4514)%s%s", key, value,
		     rc != LDAP_SUCCESS ? ": " : "", rc != LDAP_SUCCESS ? ldap_err2string(rc) : "");
		return false;
	}
	ldap_dnfree(dn);
	return true;
}

bool
es_edge_name_valid(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || strlen(name) > 64)
		return false;
	for (i = 0; name[i] != '\0'; i++)
		if (!(isalnum((unsigned char)name[i]) || name[i] == '.' || name[i] == '_' ||
		      name[i] == '-'))
			return false;
	return true;
}

static bool
handle_edgesync(struct parse *p, const char *key, const char *value)
{
	struct es_config *c = p->c;
	char **list = NULL;

	if (strcmp(key, "store") == 0)
		return set_str(p, &c->store, value);
	if (strcmp(key, "log_format") == 0) {
		if (cc_log_format_parse(value, &c->log_format) != CC_OK) {
			fail(p, "log_format = \"%s\": want text or json", value);
			return false;
		}
		return true;
	}
	if (strcmp(key, "lease_seconds") == 0)
		return parse_int(p, key, value, 1, 86400, &c->lease_seconds);
	if (strcmp(key, "timeout") == 0)
		return parse_int(p, key, value, 1, 3600, &c->timeout);
	if (strcmp(key, "edge_connections") == 0)
		return parse_int(p, key, value, 1, ES_EDGE_CONNECTIONS_MAX, &c->edge_connections);
	if (strcmp(key, "replicator_certificates") == 0) {
		if (es_rule_split_list(value, &list) != ES_OK) {
			fail(p, "out of memory");
			return false;
		}
		es_strv_free(c->replicator_certificates);
		c->replicator_certificates = list;
		return true;
	}
	fail(p, "unknown key \"%s\" in [edgesync]", key);
	return false;
}

static bool
handle_source(struct parse *p, const char *key, const char *value)
{
	struct es_config *c = p->c;

	if (strcmp(key, "type") == 0) {
		if (strcmp(value, "ldap") == 0)
			c->source_type = ES_SOURCE_LDAP;
		else if (strcmp(value, "ad") == 0)
			c->source_type = ES_SOURCE_AD;
		else if (strcmp(value, "auto") == 0)
			c->source_type = ES_SOURCE_AUTO;
		else {
			fail(p, "type = \"%s\": use ldap, ad or auto", value);
			return false;
		}
		return true;
	}
	if (strcmp(key, "url") == 0)
		return check_url(p, key, value, false) && set_str(p, &c->source_url, value);
	if (strcmp(key, "bind") == 0) {
		if (strcmp(value, "simple") == 0)
			c->source_bind = ES_BIND_SIMPLE;
		else if (strcmp(value, "external") == 0)
			c->source_bind = ES_BIND_EXTERNAL;
		else {
			fail(p, "bind = \"%s\": use simple or external", value);
			return false;
		}
		return true;
	}
	if (strcmp(key, "bind_dn") == 0)
		return check_dn(p, key, value) && set_str(p, &c->source_bind_dn, value);
	if (strcmp(key, "bind_password_file") == 0)
		return set_str(p, &c->source_password_file, value);
	if (strcmp(key, "subscriptions") == 0)
		return check_dn(p, key, value) && set_str(p, &c->subscriptions, value);
	if (strcmp(key, "base") == 0)
		return check_dn(p, key, value) && set_str(p, &c->source_base, value);
	if (strcmp(key, "ca_file") == 0)
		return set_str(p, &c->source_ca_file, value);
	if (strcmp(key, "bind_password") == 0) {
		fail(p, "bind_password: passwords are not kept in the configuration; name a file "
		        "with bind_password_file");
		return false;
	}
	fail(p, "unknown key \"%s\" in [source]", key);
	return false;
}

static bool
handle_edge(struct parse *p, const char *key, const char *value)
{
	struct es_config *c = p->c;

	if (strcmp(key, "name") == 0) {
		if (!es_edge_name_valid(value)) {
			fail(p, "name = \"%s\": use 1 to 64 of letters, digits, '.', '_' and '-'",
			     value);
			return false;
		}
		return set_str(p, &c->edge_name, value);
	}
	if (strcmp(key, "fqdn") == 0)
		return set_str(p, &c->edge_fqdn, value);
	if (strcmp(key, "url") == 0)
		return check_url(p, key, value, false) && set_str(p, &c->edge_url, value);
	if (strcmp(key, "admin_url") == 0)
		return check_url(p, key, value, true) && set_str(p, &c->edge_admin_url, value);
	if (strcmp(key, "base") == 0)
		return check_dn(p, key, value) && set_str(p, &c->edge_base, value);
	if (strcmp(key, "admin_dn") == 0)
		return check_dn(p, key, value) && set_str(p, &c->edge_admin_dn, value);
	if (strcmp(key, "admin_password_file") == 0)
		return set_str(p, &c->edge_admin_password_file, value);
	if (strcmp(key, "admin_password") == 0) {
		fail(p, "admin_password: passwords are not kept in the configuration; name a file "
		        "with admin_password_file");
		return false;
	}
	fail(p, "unknown key \"%s\" in [edge]", key);
	return false;
}

/* The rule for [rule NAME]: a default of that name, else a new rule appended. */
static struct es_rule *
rule_for(struct parse *p, const char *name)
{
	struct es_config *c = p->c;
	struct es_rule *nr;
	size_t i;
	int *nl;

	for (i = 0; i < c->nrules; i++) {
		if (strcmp(c->rules[i].name, name) == 0) {
			if (p->rule_lines[i] == 0)
				p->rule_lines[i] = p->section_line;
			return &c->rules[i];
		}
	}
	if ((nr = realloc(c->rules, (c->nrules + 1) * sizeof(*nr))) == NULL)
		return NULL;
	c->rules = nr;
	if ((nl = realloc(p->rule_lines, (c->nrules + 1) * sizeof(*nl))) == NULL)
		return NULL;
	p->rule_lines = nl;
	memset(&nr[c->nrules], 0, sizeof(*nr));
	nr[c->nrules].interval = 300;
	if ((nr[c->nrules].name = strdup(name)) == NULL)
		return NULL;
	p->rule_lines[c->nrules] = p->section_line;
	return &c->rules[c->nrules++];
}

static bool
handle_rule(struct parse *p, const char *name, const char *key, const char *value)
{
	struct es_rule *r;
	char **list = NULL;

	if (!es_area_name_valid(name)) {
		fail(p, "[rule %s]: a rule name is 1 to 32 of a-z, 0-9 and '-'", name);
		return false;
	}
	if ((r = rule_for(p, name)) == NULL) {
		fail(p, "out of memory");
		return false;
	}
	if (strcmp(key, "base") == 0)
		return check_dn(p, key, value) && set_str(p, &r->base, value);
	if (strcmp(key, "filter") == 0)
		return set_str(p, &r->filter, value);
	if (strcmp(key, "target") == 0)
		return set_str(p, &r->target, value);
	if (strcmp(key, "interval") == 0)
		return parse_int(p, key, value, 1, 86400, &r->interval);
	if (strcmp(key, "attributes") == 0 || strcmp(key, "hash") == 0) {
		if (es_rule_split_list(value, &list) != ES_OK) {
			fail(p, "out of memory");
			return false;
		}
		if (strcmp(key, "hash") == 0) {
			es_strv_free(r->hash);
			r->hash = list;
		} else {
			es_strv_free(r->attrs);
			r->attrs = list;
		}
		return true;
	}
	fail(p, "unknown key \"%s\" in [rule %s]", key, name);
	return false;
}

static int
handler(void *user, const char *section, const char *key, const char *value)
{
	struct parse *p = user;
	size_t i;

	if (p->err != NULL)
		return 0;
	for (i = 0; i < p->nseen; i++) {
		if (strcmp(p->seen[i], key) == 0) {
			fail(p, "\"%s\" set twice in [%s]", key, section);
			return 0;
		}
	}
	if (p->nseen < ES_NELEM(p->seen) && strlen(key) < sizeof(p->seen[0]))
		memcpy(p->seen[p->nseen++], key, strlen(key) + 1);
	if (strcmp(section, "edgesync") == 0)
		return handle_edgesync(p, key, value);
	if (strcmp(section, "source") == 0) {
		p->c->has_source = true;
		p->c->source_line = p->section_line;
		return handle_source(p, key, value);
	}
	if (strcmp(section, "edge") == 0) {
		p->c->has_edge = true;
		p->c->edge_line = p->section_line;
		return handle_edge(p, key, value);
	}
	if (strncmp(section, "rule ", 5) == 0 || strncmp(section, "rule\t", 5) == 0) {
		const char *name = section + 5;

		while (*name == ' ' || *name == '\t')
			name++;
		return handle_rule(p, name, key, value);
	}
	if (section[0] == '\0')
		fail(p, "\"%s\" outside any section", key);
	else
		fail(p, "unknown section [%s] (edgesync, source, edge, rule NAME)", section);
	return 0;
}

void
es_config_free(struct es_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->store);
	es_strv_free(c->replicator_certificates);
	free(c->source_url);
	free(c->source_bind_dn);
	free(c->source_password_file);
	free(c->subscriptions);
	free(c->source_base);
	free(c->source_ca_file);
	free(c->edge_name);
	free(c->edge_fqdn);
	free(c->edge_url);
	free(c->edge_base);
	free(c->edge_admin_dn);
	free(c->edge_admin_password_file);
	free(c->edge_admin_url);
	for (i = 0; i < c->nrules; i++)
		es_rule_clear(&c->rules[i]);
	free(c->rules);
	free(c);
}

/* Checks what only the whole file can tell: required keys, complete rules. */
static enum es_err
check_complete(struct es_config *c, const int *rule_lines, size_t ndefault)
{
	size_t i;

	if (c->has_source) {
		bool simple = c->source_bind == ES_BIND_SIMPLE;
		const char *missing = c->source_url == NULL                 ? "url"
		                      : simple && c->source_bind_dn == NULL ? "bind_dn"
		                      : simple && c->source_password_file == NULL
		                              ? "bind_password_file"
		                      : c->subscriptions == NULL ? "subscriptions"
		                                                 : NULL;
		if (missing != NULL)
			return es_seterr(ES_ERR_CONFIG, "%s:%d: [source] needs %s", c->path,
			                 c->source_line, missing);
		/* the server names the account from the certificate: a DN or password given here
		 * would be ignored, which hides a mistake */
		if (!simple && (c->source_bind_dn != NULL || c->source_password_file != NULL))
			return es_seterr(ES_ERR_CONFIG,
			                 "%s:%d: [source] bind = external takes no %s (the server "
			                 "maps the replicator's certificate to its account)",
			                 c->path, c->source_line,
			                 c->source_bind_dn != NULL ? "bind_dn"
			                                           : "bind_password_file");
	}
	if (c->has_edge) {
		const char *missing = c->edge_name == NULL                  ? "name"
		                      : c->edge_fqdn == NULL                ? "fqdn"
		                      : c->edge_url == NULL                 ? "url"
		                      : c->edge_base == NULL                ? "base"
		                      : c->edge_admin_dn == NULL            ? "admin_dn"
		                      : c->edge_admin_password_file == NULL ? "admin_password_file"
		                                                            : NULL;
		if (missing != NULL)
			return es_seterr(ES_ERR_CONFIG, "%s:%d: [edge] needs %s", c->path,
			                 c->edge_line, missing);
	}
	for (i = 0; i < c->nrules; i++) {
		struct es_rule *r = &c->rules[i];
		int line = rule_lines[i];

		if (i >= ndefault && (r->filter == NULL || r->attrs == NULL || r->target == NULL))
			return es_seterr(ES_ERR_CONFIG,
			                 "%s:%d: [rule %s] needs filter, attributes and target "
			                 "(only the default rules recipients, accepteddomains, "
			                 "remotedomains and connectors have them already)",
			                 c->path, line, r->name);
		if (r->hash == NULL && es_rule_split_list("", &r->hash) != ES_OK)
			return ES_ERR_NOMEM;
		if (es_rule_validate(r) != ES_OK) {
			char why[1024];

			snprintf(why, sizeof(why), "%s", es_errdetail());
			if (line > 0)
				return es_seterr(ES_ERR_CONFIG, "%s:%d: %s", c->path, line, why);
			return es_seterr(ES_ERR_CONFIG, "%s: %s", c->path, why);
		}
	}
	if (!c->has_source && !c->has_edge)
		return es_seterr(ES_ERR_CONFIG,
		                 "%s: neither [source] (replicator) nor [edge] (edge node)",
		                 c->path);
	return ES_OK;
}

enum es_err
es_config_load(const char *path, struct es_config **out)
{
	enum es_err r = ES_ERR_CONFIG;
	struct parse p;
	struct es_config *c = NULL;
	size_t ndefault = 0, i;
	int rc;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "configuration");
		goto out;
	}
	c->log_format = CC_LOG_TEXT;
	c->lease_seconds = 300;
	c->timeout = 30;
	c->edge_connections = ES_EDGE_CONNECTIONS_DEFAULT;
	if ((r = es_rules_default(&c->rules, &c->nrules)) != ES_OK)
		goto out;
	ndefault = c->nrules;
	if ((p.rule_lines = calloc(c->nrules, sizeof(*p.rule_lines))) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "configuration");
		goto out;
	}
	if ((p.f = fopen(path, "r")) == NULL) {
		r = es_seterr_errno(ES_ERR_CONFIG, "%s", path);
		goto out;
	}
	p.c = c;
	rc = ini_parse_stream(reader, &p, handler, &p);
	if (p.err != NULL) {
		r = es_seterr(ES_ERR_CONFIG, "%s:%d: %s", path, p.err_line, p.err);
		goto out;
	}
	if (rc != 0) {
		r = es_seterr(ES_ERR_CONFIG, "%s:%d: syntax error (want [section] or key = value)",
		              path, rc);
		goto out;
	}
	if (c->store == NULL && (c->store = strdup(CC_STORE_DEFAULT_PATH)) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "configuration");
		goto out;
	}
	if ((r = check_complete(c, p.rule_lines, ndefault)) != ES_OK)
		goto out;
	*out = c;
	c = NULL;
	r = ES_OK;
out:
	if (p.f != NULL)
		fclose(p.f);
	free(p.err);
	free(p.rule_lines);
	for (i = 0; i < p.nsections; i++)
		free(p.sections[i]);
	free(p.sections);
	es_config_free(c);
	return r;
}

enum es_err
es_config_require_source(const struct es_config *c)
{
	if (!c->has_source)
		return es_seterr(ES_ERR_CONFIG,
		                 "%s: no [source] section (this verb runs on the "
		                 "replicator)",
		                 c->path);
	return ES_OK;
}

enum es_err
es_config_require_edge(const struct es_config *c)
{
	if (!c->has_edge)
		return es_seterr(ES_ERR_CONFIG,
		                 "%s: no [edge] section (this verb runs on an edge node)", c->path);
	return ES_OK;
}

const struct es_rule *
es_config_rule(const struct es_config *c, const char *area)
{
	size_t i;

	for (i = 0; i < c->nrules; i++)
		if (strcmp(c->rules[i].name, area) == 0)
			return &c->rules[i];
	return NULL;
}

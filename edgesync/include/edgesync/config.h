/*
 * edgesync's configuration file (README, "edgesync, the EdgeSync replicator"), parsed with inih:
 *
 *   [edgesync]  store, log_format, lease_seconds, timeout, replicator_certificates,
 *               edge_connections
 *   [source]    type, url, bind, bind_dn, bind_password_file, subscriptions, base, ca_file
 *   [edge]      name, fqdn, url, base, admin_dn, admin_password_file, admin_url
 *   [rule NAME] base, filter, attributes, hash, target, interval
 *
 * [edge] is read on an edge node (`subscription new`), [source] and the rules on the replicator.
 * Every error names FILE:LINE. Passwords are never in the file, only the names of files that
 * hold them.
 */
#ifndef EDGESYNC_CONFIG_H
#define EDGESYNC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "certcore/log.h"
#include "edgesync/error.h"
#include "edgesync/rule.h"

#define ES_CONFIG_DEFAULT_PATH      "/etc/umedge/edgesync.conf"
#define ES_EDGE_CONNECTIONS_DEFAULT 1
#define ES_EDGE_CONNECTIONS_MAX     16

/* [source] type: how changes are read (README, "Active Directory as the source") */
enum es_source_type {
	ES_SOURCE_AUTO, /* AD when the root DSE offers DirSync, else LDAP (default) */
	ES_SOURCE_LDAP, /* RFC 4533 where the server offers it, else full compares */
	ES_SOURCE_AD,   /* Active Directory: DirSync, objectGUID keys, tombstones */
};

/* [source] bind: how the replicator authenticates to the source */
enum es_source_bind {
	ES_BIND_SIMPLE,   /* bind_dn and the password in bind_password_file (default) */
	ES_BIND_EXTERNAL, /* SASL EXTERNAL (RFC 4422 appendix A): the replicator's certificate as
	                     the TLS client certificate, the account the server maps it to */
};

struct es_config {
	char *path;
	/* [edgesync] */
	char *store;                    /* default CC_STORE_DEFAULT_PATH */
	enum cc_log_format log_format;  /* default text */
	int lease_seconds;              /* default 300 */
	int timeout;                    /* seconds for connects and each operation; default 30 */
	int edge_connections;           /* connections a cycle writes an edge over; default
	                                   ES_EDGE_CONNECTIONS_DEFAULT */
	char **replicator_certificates; /* other replicators' certificates (PEM files): the
	                                   credential is encrypted to them too; NULL-terminated */
	/* [source] */
	bool has_source;
	int source_line;
	enum es_source_type source_type; /* default auto */
	enum es_source_bind source_bind; /* default simple */
	char *source_url, *source_bind_dn, *source_password_file, *subscriptions;
	char *source_base;    /* NULL: the source's first namingContexts value */
	char *source_ca_file; /* NULL: libldap's defaults (ldap.conf, system roots) */
	/* [edge] */
	bool has_edge;
	int edge_line;
	char *edge_name, *edge_fqdn, *edge_url, *edge_base, *edge_admin_dn,
	        *edge_admin_password_file;
	char *edge_admin_url; /* NULL: edge_url */
	/* rules: the defaults, changed and extended by [rule NAME] sections */
	struct es_rule *rules;
	size_t nrules;
};

/* Parses and checks the file. Errors are "FILE:LINE: reason" in es_errdetail(). */
enum es_err es_config_load(const char *path, struct es_config **out) ES_WUR;
void es_config_free(struct es_config *c);

/* The replicator side needs [source]; the edge side [edge]. ES_ERR_CONFIG names what is missing. */
enum es_err es_config_require_source(const struct es_config *c) ES_WUR;
enum es_err es_config_require_edge(const struct es_config *c) ES_WUR;

/* An edge name: 1 to 64 of letters, digits, '.', '_' and '-'. */
bool es_edge_name_valid(const char *name);

/* The rule of an area, or NULL. */
const struct es_rule *es_config_rule(const struct es_config *c, const char *area);

#endif

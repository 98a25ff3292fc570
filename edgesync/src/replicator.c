/* struct es_replicator: the store, the source connection and the holder name of one process. */
#include <stdlib.h>
#include <string.h>

#include "edgesync/lease.h"
#include "edgesync/replicator.h"
#include "edgesync/secret.h"
#include "internal.h"
#include "replicator_impl.h"

enum es_err
es_replicator_open_store(const struct es_config *cfg, struct cc_store **out)
{
	enum cc_err ce;

	*out = NULL;
	if ((ce = cc_store_open(cfg->store, CC_STORE_CREATE, out)) != CC_OK)
		return es_seterr_cc(ES_ERR_CERT, ce, "store %s", cfg->store);
	return ES_OK;
}

enum es_err
es_replicator_connect(struct es_replicator *rep)
{
	const struct es_config *cfg = rep->cfg;
	struct es_conn_opts o;
	struct es_conn *c = NULL;
	char *pw = NULL, *base = NULL, *nc = NULL;
	bool sync = false, dirsync = false;
	enum es_err r;

	es_conn_close(rep->source);
	rep->source = NULL;
	memset(&o, 0, sizeof(o));
	o.url = cfg->source_url;
	o.timeout = cfg->timeout;
	o.ca_file = cfg->source_ca_file;
	if ((r = es_secret_read_file(cfg->source_password_file, &pw)) != ES_OK)
		goto out;
	if ((r = es_conn_open(&o, &c, NULL, NULL)) != ES_OK ||
	    (r = es_conn_bind(c, cfg->source_bind_dn, pw)) != ES_OK)
		goto out;
	if (cfg->source_base != NULL) {
		if ((base = strdup(cfg->source_base)) == NULL) {
			r = es_seterr(ES_ERR_NOMEM, "base");
			goto out;
		}
	} else if ((r = es_conn_naming_context(c, &base)) != ES_OK) {
		goto out;
	}
	if ((r = es_conn_supports_sync(c, &sync)) != ES_OK)
		goto out;
	if (cfg->source_type == ES_SOURCE_AD)
		dirsync = true;
	else if (cfg->source_type == ES_SOURCE_AUTO &&
	         (r = es_conn_supports_control(c, LDAP_CONTROL_X_DIRSYNC, &dirsync)) != ES_OK)
		goto out;
	/* DirSync searches from the root of a partition: the domain's naming context */
	if (dirsync && (r = es_conn_naming_context(c, &nc)) != ES_OK)
		goto out;
	free(rep->source_base);
	rep->source_base = base;
	base = NULL;
	free(rep->source_nc);
	rep->source_nc = nc;
	nc = NULL;
	rep->source_ad = dirsync;
	rep->source_sync = sync && !dirsync;
	rep->source = c;
	c = NULL;
	r = ES_OK;
out:
	es_secret_free(pw);
	free(base);
	free(nc);
	es_conn_close(c);
	return r;
}

enum es_err
es_replicator_open(const struct es_config *cfg, struct cc_log *log, struct es_replicator **out)
{
	struct es_replicator *rep;
	enum es_err r;

	*out = NULL;
	if ((r = es_config_require_source(cfg)) != ES_OK)
		return r;
	if ((rep = calloc(1, sizeof(*rep))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "replicator");
	rep->cfg = cfg;
	rep->log = log;
	if ((r = es_lease_holder_name(&rep->holder)) != ES_OK ||
	    (r = es_replicator_open_store(cfg, &rep->store)) != ES_OK ||
	    (r = es_replicator_connect(rep)) != ES_OK) {
		es_replicator_free(rep);
		return r;
	}
	*out = rep;
	return ES_OK;
}

void
es_replicator_free(struct es_replicator *rep)
{
	if (rep == NULL)
		return;
	es_conn_close(rep->source);
	cc_store_free(rep->store);
	free(rep->source_base);
	free(rep->source_nc);
	free(rep->holder);
	free(rep);
}

bool
es_replicator_stopping(const struct es_replicator *rep)
{
	return rep->stop != NULL && *rep->stop != 0;
}

const struct es_config *
es_replicator_config(const struct es_replicator *rep)
{
	return rep->cfg;
}

struct cc_store *
es_replicator_store(const struct es_replicator *rep)
{
	return rep->store;
}

struct es_conn *
es_replicator_source(const struct es_replicator *rep)
{
	return rep->source;
}

const char *
es_replicator_holder(const struct es_replicator *rep)
{
	return rep->holder;
}

const char *
es_replicator_source_mode(const struct es_replicator *rep)
{
	return rep->source_ad     ? "Active Directory: DirSync"
	       : rep->source_sync ? "RFC 4533 offered"
	                          : "RFC 4533 not offered: full compares";
}

void
es_replicator_set_progress(struct es_replicator *rep, struct es_progress *progress)
{
	rep->progress = progress;
}

void
es_replicator_set_stop(struct es_replicator *rep, volatile sig_atomic_t *stop)
{
	rep->stop = stop;
}

/* struct es_daemon: edgesync run's passes over the replicator (daemon.h). */
#include <stdlib.h>
#include <string.h>

#include "certcore/events.h"
#include "certcore/expiry.h"
#include "edgesync/daemon.h"
#include "edgesync/keyholder.h"
#include "edgesync/lease.h"
#include "edgesync/scheduler.h"
#include "edgesync/subscription.h"
#include "edgesync/sync.h"
#include "internal.h"
#include "replicator_impl.h"

struct es_daemon {
	struct es_replicator *rep; /* borrowed */
	struct es_scheduler *sched;
	struct cc_cert *self; /* owned reference: the certificate in use */
	bool holder_lost;     /* the key holder was found ended or gone (logged once) */
};

/* ---- the replicator's operations for the scheduler ---------------------------------------- */

static enum es_err
rep_list(void *arg, struct es_subscription ***subs, size_t *n)
{
	struct es_replicator *rep = arg;
	enum es_err r;

	*subs = NULL;
	*n = 0;
	if (rep->source == NULL)
		return es_seterr(ES_ERR_CONNECT, "source %s: not connected", rep->cfg->source_url);
	r = es_subscription_list(rep->source, rep->cfg->subscriptions, subs, n);
	if (r == ES_ERR_CONNECT) {
		/* connected again at the next pass */
		es_conn_close(rep->source);
		rep->source = NULL;
	}
	return r;
}

static enum es_err
rep_sync(void *arg, struct es_subscription *s, const bool *due, struct es_sync_result *res)
{
	struct es_replicator *rep = arg;
	struct es_sync_opts so;

	memset(&so, 0, sizeof(so));
	so.keep_lease = true;
	so.due = due;
	return es_sync_edge(rep, s, &so, res);
}

static enum es_err
rep_renew(void *arg, struct es_subscription *s, time_t now)
{
	struct es_replicator *rep = arg;

	return es_lease_acquire(rep->source, s, rep->holder, rep->cfg->lease_seconds, now,
	                        rep->log);
}

/* also no edge after the key holder was found gone: each would fail the same way */
static bool
rep_stopping(void *arg)
{
	struct es_replicator *rep = arg;

	return es_replicator_stopping(rep) || es_keyholder_gone(rep->keys);
}

static const struct es_sched_ops rep_ops = {
        .list = rep_list,
        .sync = rep_sync,
        .renew = rep_renew,
        .stopping = rep_stopping,
};

/* ---- the certificate ---------------------------------------------------------------------- */

static void
log_in_use(struct cc_log *log, const struct cc_cert *c)
{
	char when[32];
	struct cc_field f[] = {
	        CC_FSTR("service", "LDAP"),
	        CC_FSTR("thumbprint", cc_cert_thumbprint(c)),
	        CC_FSTR("issuer", cc_cert_issuer(c)),
	        CC_FSTR("serial", cc_cert_serial(c)),
	        CC_FSTR("not_after", cc_time_iso8601(cc_cert_not_after(c), when)),
	};

	cc_log_event(log, CC_LOG_INFO, CC_EV_CERTIFICATE_IN_USE, f, ES_NELEM(f));
}

static void
log_changed(struct cc_log *log, const struct cc_cert *old, const struct cc_cert *c,
            const char *reason)
{
	struct cc_field f[] = {
	        CC_FSTR("service", "LDAP"),
	        CC_FSTR("old_thumbprint", cc_cert_thumbprint(old)),
	        CC_FSTR("thumbprint", cc_cert_thumbprint(c)),
	        CC_FSTR("issuer", cc_cert_issuer(c)),
	        CC_FSTR("serial", cc_cert_serial(c)),
	        CC_FSTR("reason", reason),
	};

	cc_log_event(log, CC_LOG_INFO, CC_EV_CERTIFICATE_CHANGED, f, ES_NELEM(f));
}

/* The store as it is on disk now, and the certificate chosen in it. */
static void
choose_again(struct es_daemon *d)
{
	struct es_replicator *rep = d->rep;
	struct cc_cert *c = NULL, *found = NULL;
	const char *reason = NULL;
	enum cc_err ce;

	if ((ce = cc_store_reload(rep->store)) != CC_OK) {
		cc_log_message(rep->log, CC_LOG_WARNING, "reading the store %s again: %s: %s",
		               cc_store_path(rep->store), cc_strerror(ce), cc_errdetail());
		return;
	}
	/* under key custody none is made now (es_replicator_identity) */
	if (es_replicator_identity(rep, &c) != ES_OK) {
		cc_log_message(rep->log, CC_LOG_WARNING,
		               "choosing the replicator's certificate again: %s; still using %s",
		               es_errdetail(), cc_cert_thumbprint(d->self));
		return;
	}
	if (strcmp(cc_cert_thumbprint(c), cc_cert_thumbprint(d->self)) != 0) {
		/* null when the old one is still there and another simply ranks first */
		if (cc_store_find(rep->store, cc_cert_thumbprint(d->self), &found) != CC_OK)
			reason = "removed from the store";
		log_changed(rep->log, d->self, c, reason);
	}
	cc_cert_free(d->self);
	d->self = c;
}

/* ---- the daemon --------------------------------------------------------------------------- */

enum es_err
es_daemon_new(struct es_replicator *rep, struct es_daemon **out)
{
	struct es_daemon *d;
	enum es_err r;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "daemon");
	d->rep = rep;
	if ((r = es_scheduler_new(rep->cfg, rep->holder, rep->log, &rep_ops, rep, &d->sched)) !=
	            ES_OK ||
	    (r = es_replicator_identity(rep, &d->self)) != ES_OK) {
		es_daemon_free(d);
		return r;
	}
	log_in_use(rep->log, d->self);
	*out = d;
	return ES_OK;
}

void
es_daemon_free(struct es_daemon *d)
{
	if (d == NULL)
		return;
	es_scheduler_free(d->sched);
	cc_cert_free(d->self);
	free(d);
}

time_t
es_daemon_pass(struct es_daemon *d, time_t now)
{
	struct es_replicator *rep = d->rep;
	enum cc_err ce;

	choose_again(d);
	if ((ce = cc_expiry_tick(rep->store, d->self, "LDAP", rep->log, now, NULL)) != CC_OK)
		cc_log_message(rep->log, CC_LOG_WARNING, "expiry clock: %s: %s", cc_strerror(ce),
		               cc_errdetail());
	if (rep->source == NULL && es_replicator_connect(rep) != ES_OK) {
		cc_log_message(rep->log, CC_LOG_ERROR, "source %s: %s", rep->cfg->source_url,
		               es_errdetail());
		return now + ES_SCHED_SOURCE_RETRY;
	}
	return es_scheduler_pass(d->sched, now);
}

void
es_daemon_release(struct es_daemon *d)
{
	struct es_replicator *rep = d->rep;
	struct es_subscription **subs = NULL;
	size_t n = 0, i;
	enum es_err r;

	if (rep->source == NULL ||
	    es_subscription_list(rep->source, rep->cfg->subscriptions, &subs, &n) != ES_OK)
		return;
	for (i = 0; i < n; i++) {
		/* a release that fails only makes the next replicator wait for the expiry */
		r = es_lease_release(rep->source, subs[i], rep->holder);
		(void)r;
	}
	es_subscription_list_free(subs, n);
}

bool
es_daemon_holder_lost(struct es_daemon *d)
{
	struct es_keyholder *kh = d->rep->keys;
	char why[128];

	if (d->holder_lost)
		return true;
	if (kh == NULL)
		return false;
	if (es_keyholder_ended(kh, why, sizeof(why)))
		cc_log_message(d->rep->log, CC_LOG_ERROR,
		               "the key holder (pid %d) ended (%s): edgesync stops",
		               (int)es_keyholder_pid(kh), why);
	else if (es_keyholder_gone(kh))
		cc_log_message(d->rep->log, CC_LOG_ERROR,
		               "the key holder (pid %d) does not answer: edgesync stops",
		               (int)es_keyholder_pid(kh));
	else
		return false;
	d->holder_lost = true;
	return true;
}

const struct cc_cert *
es_daemon_certificate(const struct es_daemon *d)
{
	return d->self;
}

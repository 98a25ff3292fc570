/* One synchronization cycle of one edge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "certcore/events.h"
#include "edgesync/credential.h"
#include "edgesync/dirsync.h"
#include "edgesync/edge.h"
#include "edgesync/identity.h"
#include "edgesync/lease.h"
#include "edgesync/secret.h"
#include "edgesync/source.h"
#include "edgesync/sync.h"
#include "edgesync/writer.h"
#include "internal.h"
#include "replicator_impl.h"

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
log_pin_mismatch(struct es_replicator *rep, const struct es_subscription *s,
                 const struct es_pin *presented, bool have_presented)
{
	char *expected = NULL, *next, buf[ES_PIN_TEXT_LEN + 1], pbuf[ES_PIN_TEXT_LEN + 1];
	size_t i;

	for (i = 0; i < s->ncerts; i++) {
		next = es_aprintf("%s%s%s", expected ? expected : "", expected ? "," : "",
		                  es_pin_format(&s->pins[i], buf));
		free(expected);
		if ((expected = next) == NULL)
			return;
	}
	{
		struct cc_field f[] = {
		        CC_FSTR("edge", s->name),
		        CC_FSTR("expected", expected),
		        CC_FSTR("presented",
		                have_presented ? es_pin_format(presented, pbuf) : NULL),
		};
		cc_log_event(rep->log, CC_LOG_ERROR, CC_EV_EDGE_CERTIFICATE_PIN_MISMATCH, f,
		             ES_NELEM(f));
	}
	free(expected);
}

bool
es_sync_rotation_due(const struct es_subscription *s, time_t now)
{
	time_t since = s->cred_time != 0 ? s->cred_time : s->start;
	time_t lifetime = (time_t)s->minutes * 60;

	return lifetime > 0 && since != 0 && now - since >= lifetime / 2;
}

/* Opens a credential and binds with it; the password is handed back for a rotation. */
static enum es_err
bind_with(struct es_replicator *rep, struct es_conn *c, const struct es_subscription *s,
          const unsigned char *der, size_t len, char **pw_out)
{
	enum es_err r;
	char *pw = NULL;

	*pw_out = NULL;
	if ((r = es_replicator_open_credential(rep, der, len, &pw)) != ES_OK)
		return r;
	if ((r = es_conn_bind(c, s->bind_dn, pw)) != ES_OK) {
		es_secret_free(pw);
		return r;
	}
	*pw_out = pw;
	return ES_OK;
}

/* A new random password: stored pending (encrypted), set on the edge, then promoted. */
static enum es_err
rotate_password(struct es_replicator *rep, struct es_conn *c, struct es_subscription *s,
                const char *old)
{
	struct cc_cert *self = NULL;
	STACK_OF(X509) *recips = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	char *pw = NULL;
	enum es_err r;
	int rc;

	if ((r = es_replicator_identity(rep, &self)) != ES_OK ||
	    (r = es_identity_recipients(self, rep->cfg->replicator_certificates, &recips)) !=
	            ES_OK ||
	    (r = es_secret_random(&pw)) != ES_OK ||
	    (r = es_credential_seal(pw, recips, &der, &len)) != ES_OK ||
	    (r = es_subscription_set_pending(rep->source, s, rep->holder, der, len)) != ES_OK)
		goto out;
	{
		struct berval oldpw = {strlen(old), (char *)old};
		struct berval newpw = {strlen(pw), pw};
		struct berval gen = {0, NULL};

		/* as the account itself (no user DN): the edge ACL lets it change its password */
		rc = ldap_passwd_s(es_conn_ld(c), NULL, &oldpw, &newpw, &gen, NULL, NULL);
		if (gen.bv_val != NULL) {
			OPENSSL_cleanse(gen.bv_val, gen.bv_len);
			ber_memfree(gen.bv_val);
		}
		if (rc != LDAP_SUCCESS) {
			r = es_seterr_ldap(ES_ERR_EDGE, es_conn_ld(c), rc,
			                   "edge %s: setting the new password of %s", s->name,
			                   s->bind_dn);
			goto out;
		}
	}
	r = es_subscription_promote(rep->source, s, rep->holder, time(NULL));
out:
	OPENSSL_free(der);
	es_secret_free(pw);
	sk_X509_pop_free(recips, X509_free);
	cc_cert_free(self);
	return r;
}

enum es_err
es_sync_connect_edge(struct es_replicator *rep, struct es_subscription *s, bool log_events,
                     enum es_rotate rotate, struct es_conn **out)
{
	struct es_conn_opts o;
	struct es_conn *c = NULL;
	struct es_pin presented;
	bool have_presented = false, from_pending = false;
	char *pw = NULL, first[1024];
	enum es_err r;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	o.url = s->url;
	o.timeout = rep->cfg->timeout;
	o.pins = s->pins;
	o.npins = s->ncerts;
	if ((r = es_conn_open(&o, &c, &presented, &have_presented)) != ES_OK) {
		if (r == ES_ERR_PIN_MISMATCH && log_events)
			log_pin_mismatch(rep, s, &presented, have_presented);
		goto out;
	}
	r = bind_with(rep, c, s, s->cred, s->cred_len, &pw);
	if ((r == ES_ERR_BIND || r == ES_ERR_CREDENTIAL) && s->pending != NULL) {
		snprintf(first, sizeof(first), "%s", es_errdetail());
		if (bind_with(rep, c, s, s->pending, s->pending_len, &pw) == ES_OK) {
			r = ES_OK;
			from_pending = true;
		} else {
			r = es_seterr(r, "%s", first);
		}
	}
	if (r != ES_OK)
		goto out;
	if (rotate != ES_ROTATE_NEVER) {
		enum es_err rr = ES_OK;
		bool rotated = false;

		if (from_pending) {
			rr = es_subscription_promote(rep->source, s, rep->holder, time(NULL));
		} else if (rotate == ES_ROTATE_NOW || es_sync_rotation_due(s, time(NULL))) {
			rr = rotate_password(rep, c, s, pw);
			rotated = rr == ES_OK;
		}
		if (rr == ES_ERR_LEASE_LOST) {
			r = rr;
			goto out;
		}
		if (rr != ES_OK) {
			/* replication goes on with the password that works; the rotation is tried
			 * again next cycle */
			struct cc_field f[] = {CC_FSTR("edge", s->name),
			                       CC_FSTR("reason", es_errdetail())};

			cc_log_event(rep->log, CC_LOG_WARNING,
			             CC_EV_EDGE_CREDENTIAL_ROTATION_FAILED, f, 2);
		} else if (rotated || from_pending) {
			/* resumed: a rotation cut off after the edge took the new password */
			struct cc_field f[] = {CC_FSTR("edge", s->name),
			                       CC_FBOOL("resumed", !rotated)};

			cc_log_event(rep->log, CC_LOG_INFO, CC_EV_EDGE_CREDENTIAL_ROTATED, f, 2);
		}
	}
	*out = c;
	c = NULL;
out:
	es_secret_free(pw);
	es_conn_close(c);
	return r;
}

/* Renews the lease when it is due (lease.h: less than half left). */
static enum es_err
keep_lease(struct es_replicator *rep, struct es_subscription *s)
{
	time_t now = time(NULL);

	if (!es_lease_should_renew(s, rep->cfg->lease_seconds, now))
		return ES_OK;
	return es_lease_acquire(rep->source, s, rep->holder, rep->cfg->lease_seconds, now,
	                        rep->log);
}

/* The connections to the edge of one cycle: the first made at the start, the others only when
 * an area has enough writes to share among them. */
struct edge_conns {
	struct es_conn *c[ES_EDGE_CONNECTIONS_MAX];
	size_t n;
	bool tried; /* the others were opened (or tried) already */
};

/* Writes below this stay on one connection: more would cost handshakes for nothing. */
#define ES_SPREAD_WRITES (4 * ES_WRITER_WINDOW)

/* Opens the other connections of edge_connections; one that cannot be made only makes the
 * cycle use fewer (the credential was settled on the first). */
static void
more_connections(struct es_replicator *rep, struct es_subscription *s, struct edge_conns *ec)
{
	if (ec->tried)
		return;
	ec->tried = true;
	while (ec->n < (size_t)rep->cfg->edge_connections) {
		if (es_sync_connect_edge(rep, s, false, ES_ROTATE_NEVER, &ec->c[ec->n]) != ES_OK) {
			cc_log_message(rep->log, CC_LOG_WARNING,
			               "edge %s: connection %zu of %d: %s; writing over %zu",
			               s->name, ec->n + 1, rep->cfg->edge_connections,
			               es_errdetail(), ec->n);
			return;
		}
		ec->n++;
	}
}

static enum es_err
sync_area(struct es_replicator *rep, struct edge_conns *ec, struct es_subscription *s,
          const struct es_rule *r, bool full, struct es_sync_result *res)
{
	struct es_conn *edge = ec->c[0];
	size_t writes;
	struct es_changes ch;
	struct es_entryset have;
	struct es_plan plan;
	struct es_writer *w = NULL;
	const struct es_writer_stats *st;
	const struct berval *cookie = NULL;
	const char *base = r->base != NULL ? r->base : rep->source_base;
	char ident[ES_RULE_HASH_LEN + 1], *target = NULL, why[1024];
	enum es_err rr, r2;
	size_t i;
	/* a read that is whole for certain: the edge is read first, and the replicator's entries
	 * there are the estimate of what the source will return (progress.h) */
	bool edge_first = !rep->source_ad && (full || !rep->source_sync);

	es_changes_init(&ch);
	es_entryset_init(&have);
	es_plan_init(&plan);
	es_rule_identity(r, base, ident);
	es_progress_area(rep->progress, r->name);
	if ((rr = es_rule_target_dn(r, s->base, &target)) != ES_OK ||
	    (rr = es_edge_ensure_target(edge, r, s->base)) != ES_OK)
		goto out;
	if (edge_first) {
		if ((rr = es_edge_load(edge, r, s->base, &have)) != ES_OK)
			goto out;
		es_progress_expect(rep->progress, (long)have.n, ES_PROGRESS_FROM_EDGE);
	}
	es_conn_set_progress(rep->source, rep->progress);
	if (rep->source_ad) {
		/* --full: from no cookie, the whole area compared with the edge */
		cookie = full ? NULL : es_subscription_cookie(s, r->name, ident);
		rr = es_source_dirsync(rep->source, r, base, rep->source_nc, cookie,
		                       &rep->dirsync_flags, &ch);
		if (rr == ES_OK && !ch.complete)
			cc_log_message(rep->log, CC_LOG_INFO,
			               "edge %s: area %s: DirSync: %zu changed, %zu gone", s->name,
			               r->name, ch.changed.n, ch.deleted.n);
		if (rr == ES_ERR_COOKIE) {
			cc_log_message(
			        rep->log, CC_LOG_WARNING,
			        "edge %s: area %s: the source refused the DirSync cookie (%s); "
			        "full resync",
			        s->name, r->name, es_errdetail());
			es_progress_area(rep->progress, r->name);
			rr = es_source_dirsync(rep->source, r, base, rep->source_nc, NULL,
			                       &rep->dirsync_flags, &ch);
		}
	} else if (full || !rep->source_sync) {
		rr = es_source_full(rep->source, r, base, &ch);
	} else {
		cookie = es_subscription_cookie(s, r->name, ident);
		rr = es_source_sync(rep->source, r, base, cookie, &ch);
		if (rr == ES_ERR_LIMIT) {
			/* the cookie stays where it is; the paged read is complete */
			cc_log_message(rep->log, CC_LOG_WARNING,
			               "edge %s: area %s: %s; read whole in pages instead (exempt "
			               "the replicator's account from the source's size limit for "
			               "incremental reads)",
			               s->name, r->name, es_errdetail());
			es_progress_area(rep->progress, r->name);
			rr = es_source_full(rep->source, r, base, &ch);
		}
	}
	es_conn_set_progress(rep->source, NULL);
	if (rr != ES_OK || (rr = es_source_screen(r, rep->source_ad, &ch)) != ES_OK)
		goto out;
	for (i = 0; i < ch.nrejected; i++)
		cc_log_message(rep->log, CC_LOG_WARNING, "edge %s: area %s: %s", s->name, r->name,
		               ch.rejected[i]);
	/* an incremental refresh reads of the edge only what it can touch */
	if (!ch.complete)
		rr = es_edge_load_changes(edge, r, s->base, &ch, &have);
	else if (!edge_first)
		rr = es_edge_load(edge, r, s->base, &have);
	else
		rr = ES_OK; /* es_source_full: always complete, the edge is read already */
	if (rr != ES_OK || (rr = es_edge_plan(r, target, &ch, &have, &plan)) != ES_OK)
		goto out;
	writes = plan.adds + plan.modifies + plan.deletes;
	if (writes >= ES_SPREAD_WRITES)
		more_connections(rep, s, ec);
	if ((rr = es_writer_new_multi(ec->c, writes >= ES_SPREAD_WRITES ? ec->n : 1,
	                              ES_WRITER_WINDOW, &w)) != ES_OK)
		goto out;
	es_progress_planned(rep->progress, (long)(ch.changed.n + ch.present.n + ch.deleted.n),
	                    plan.adds + plan.modifies + plan.deletes);
	es_writer_set_progress(w, rep->progress);
	rr = es_edge_apply(w, &plan);
	/* every write is waited for, also after a failure: the edge's state is then known; the
	 * writer's first failure is the one to report */
	if ((r2 = es_writer_finish(w)) != ES_OK)
		rr = r2;
	if (rr != ES_OK) {
		snprintf(why, sizeof(why), "%s", es_errdetail());
		rr = es_seterr(rr, "area %s: %s", r->name, why);
		goto out;
	}
	st = es_writer_stats(w);
	res->added += st->added;
	res->modified += st->modified;
	res->deleted += st->deleted;
	res->unchanged += plan.unchanged;
	res->areas++;
	/* the edge confirmed every write: now, and only now, the cookie may move */
	if (ch.synced && ch.cookie.bv_val != NULL)
		rr = es_subscription_set_cookie(rep->source, s, rep->holder, r->name, ident,
		                                &ch.cookie);
out:
	es_conn_set_progress(rep->source, NULL);
	es_progress_end_area(rep->progress, rr == ES_OK);
	es_writer_free(w);
	es_plan_clear(&plan);
	es_entryset_clear(&have);
	es_changes_clear(&ch);
	free(target);
	return rr;
}

static void
log_failed(struct es_replicator *rep, const struct es_subscription *s, const char *reason)
{
	struct cc_field f[] = {CC_FSTR("edge", s->name), CC_FSTR("reason", reason)};

	cc_log_event(rep->log, CC_LOG_ERROR, CC_EV_EDGE_SYNC_FAILED, f, ES_NELEM(f));
}

enum es_err
es_sync_edge(struct es_replicator *rep, struct es_subscription *s, const struct es_sync_opts *o,
             struct es_sync_result *res)
{
	struct edge_conns ec;
	enum es_err r, r2;
	double t0 = now_seconds();
	char why[1024];
	size_t i;
	bool leased = false;

	memset(res, 0, sizeof(*res));
	memset(&ec, 0, sizeof(ec));
	es_progress_begin(rep->progress, s->name);
	r = es_lease_acquire(rep->source, s, rep->holder, rep->cfg->lease_seconds, time(NULL),
	                     rep->log);
	if (r == ES_ERR_LEASE_HELD || r == ES_ERR_LEASE_LOST) {
		res->skipped = true;
		return r;
	}
	if (r != ES_OK)
		goto fail;
	leased = true;
	if ((r = es_sync_connect_edge(rep, s, true, o->rotate_now ? ES_ROTATE_NOW : ES_ROTATE_DUE,
	                              &ec.c[0])) != ES_OK)
		goto fail;
	ec.n = 1;
	for (i = 0; i < rep->cfg->nrules; i++) {
		if (o->due != NULL && !o->due[i])
			continue;
		if (es_replicator_stopping(rep)) {
			r = es_seterr(ES_ERR_INTERRUPTED, "stopped before area %s",
			              rep->cfg->rules[i].name);
			goto fail;
		}
		if ((r = keep_lease(rep, s)) != ES_OK ||
		    (r = sync_area(rep, &ec, s, &rep->cfg->rules[i], o->full, res)) != ES_OK)
			goto fail;
	}
	res->seconds = now_seconds() - t0;
	if ((r = es_subscription_record(rep->source, s, rep->holder, true, time(NULL), NULL)) !=
	    ES_OK)
		goto fail;
	{
		struct cc_field f[] = {
		        CC_FSTR("edge", s->name),
		        CC_FINT("added", res->added),
		        CC_FINT("modified", res->modified),
		        CC_FINT("deleted", res->deleted),
		        CC_FINT("seconds", (long long)(res->seconds + 0.5)),
		};
		cc_log_event(rep->log, CC_LOG_INFO, CC_EV_EDGE_SYNC_COMPLETED, f, ES_NELEM(f));
	}
	for (i = 0; i < ec.n; i++)
		es_conn_close(ec.c[i]);
	/* a release that fails only makes the next replicator wait for the expiry */
	if (!o->keep_lease) {
		r2 = es_lease_release(rep->source, s, rep->holder);
		(void)r2;
	}
	return ES_OK;
fail:
	snprintf(why, sizeof(why), "%s", es_errdetail());
	res->seconds = now_seconds() - t0;
	for (i = 0; i < ec.n; i++)
		es_conn_close(ec.c[i]);
	/* a stop between areas is no failure: every area done so far is complete, the others
	 * still have their cookies */
	if (r == ES_ERR_INTERRUPTED)
		cc_log_message(rep->log, CC_LOG_INFO, "edge %s: %s", s->name, why);
	else
		log_failed(rep, s, why);
	if (leased && r != ES_ERR_LEASE_LOST && rep->source != NULL) {
		/* recorded on the subscription for edgesync test; a failure to record is not the
		 * failure to report */
		if (r != ES_ERR_INTERRUPTED) {
			r2 = es_subscription_record(rep->source, s, rep->holder, false, time(NULL),
			                            why);
			(void)r2;
		}
		if (!o->keep_lease) {
			r2 = es_lease_release(rep->source, s, rep->holder);
			(void)r2;
		}
	}
	return es_seterr(r, "%s", why);
}

/* Leases on subscription objects: compare-and-swap with one LDAP modify. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "certcore/cert.h"
#include "certcore/events.h"
#include "edgesync/gtime.h"
#include "edgesync/lease.h"
#include "internal.h"

enum es_lease_state
es_lease_state(const struct es_subscription *s, const char *me, time_t now)
{
	if (s->lease_holder == NULL || s->lease_expiry_raw == NULL)
		return ES_LEASE_FREE;
	if (s->lease_expiry <= now)
		return ES_LEASE_EXPIRED;
	if (me != NULL && strcmp(s->lease_holder, me) == 0)
		return ES_LEASE_MINE;
	return ES_LEASE_OTHER;
}

const char *
es_lease_state_name(enum es_lease_state st)
{
	switch (st) {
	case ES_LEASE_FREE:
		return "free";
	case ES_LEASE_MINE:
		return "mine";
	case ES_LEASE_OTHER:
		return "held";
	case ES_LEASE_EXPIRED:
		return "expired";
	}
	return "unknown";
}

time_t
es_lease_renew_at(const struct es_subscription *s, int seconds)
{
	return s->lease_expiry - seconds / 2;
}

bool
es_lease_should_renew(const struct es_subscription *s, int seconds, time_t now)
{
	return now >= es_lease_renew_at(s, seconds);
}

enum es_err
es_lease_holder_name(char **out)
{
	char host[256];
	unsigned char nonce[4];

	*out = NULL;
	if (gethostname(host, sizeof(host)) != 0)
		memcpy(host, "localhost", 10);
	host[sizeof(host) - 1] = '\0';
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return es_seterr_ssl(ES_ERR_CRYPTO, "RAND_bytes");
	*out = es_aprintf("%.200s/%ld/%02x%02x%02x%02x", host, (long)getpid(), nonce[0], nonce[1],
	                  nonce[2], nonce[3]);
	return *out == NULL ? es_seterr(ES_ERR_NOMEM, "holder name") : ES_OK;
}

static bool
cas_lost(int rc)
{
	/* the value we deleted was gone, or a value we added to a single-valued attribute was
	 * already there: another replicator changed the lease first */
	return rc == LDAP_NO_SUCH_ATTRIBUTE || rc == LDAP_CONSTRAINT_VIOLATION ||
	       rc == LDAP_TYPE_OR_VALUE_EXISTS;
}

enum es_err
es_lease_acquire(struct es_conn *c, struct es_subscription *s, const char *me, int seconds,
                 time_t now, struct cc_log *log)
{
	enum es_lease_state st = es_lease_state(s, me, now);
	struct es_mods ms;
	char gt[ES_GTIME_LEN + 1], when[32], *holder = NULL, *raw = NULL;
	time_t expires = now + seconds;
	enum es_err r;
	int rc;

	if (st == ES_LEASE_OTHER)
		return es_seterr(ES_ERR_LEASE_HELD, "edge %s: lease held by %s until %s", s->name,
		                 s->lease_holder, cc_time_iso8601(s->lease_expiry, when));
	es_gtime_format(expires, gt);
	es_mods_init(&ms);
	if (st != ES_LEASE_FREE) {
		es_mods_adds(&ms, LDAP_MOD_DELETE, "umedgeLeaseHolder", s->lease_holder);
		es_mods_adds(&ms, LDAP_MOD_DELETE, "umedgeLeaseExpiry", s->lease_expiry_raw);
	}
	es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeLeaseHolder", me);
	es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeLeaseExpiry", gt);
	r = es_conn_modify(c, s->dn, es_mods_get(&ms), &rc);
	if (r != ES_OK) {
		if (cas_lost(rc))
			return es_seterr(ES_ERR_LEASE_LOST,
			                 "edge %s: another replicator changed the lease first",
			                 s->name);
		return r;
	}
	if ((holder = strdup(me)) == NULL || (raw = strdup(gt)) == NULL) {
		free(holder);
		return es_seterr(ES_ERR_NOMEM, "lease");
	}
	free(s->lease_holder);
	free(s->lease_expiry_raw);
	s->lease_holder = holder;
	s->lease_expiry_raw = raw;
	s->lease_expiry = expires;
	if (st != ES_LEASE_MINE && log != NULL) {
		struct cc_field f[] = {
		        CC_FSTR("edge", s->name),
		        CC_FSTR("holder", me),
		        CC_FSTR("expires", cc_time_iso8601(expires, when)),
		};
		cc_log_event(log, CC_LOG_INFO, CC_EV_EDGE_LEASE_ACQUIRED, f, ES_NELEM(f));
	}
	return ES_OK;
}

enum es_err
es_lease_release(struct es_conn *c, struct es_subscription *s, const char *me)
{
	struct es_mods ms;
	enum es_err r;
	int rc;

	if (s->lease_holder == NULL || strcmp(s->lease_holder, me) != 0)
		return ES_OK;
	es_mods_init(&ms);
	es_mods_adds(&ms, LDAP_MOD_DELETE, "umedgeLeaseHolder", s->lease_holder);
	es_mods_adds(&ms, LDAP_MOD_DELETE, "umedgeLeaseExpiry", s->lease_expiry_raw);
	r = es_conn_modify(c, s->dn, es_mods_get(&ms), &rc);
	if (r != ES_OK && cas_lost(rc))
		r = es_seterr(ES_ERR_LEASE_LOST, "edge %s: the lease was taken over", s->name);
	if (r == ES_OK) {
		free(s->lease_holder);
		free(s->lease_expiry_raw);
		s->lease_holder = NULL;
		s->lease_expiry_raw = NULL;
		s->lease_expiry = 0;
	}
	return r;
}

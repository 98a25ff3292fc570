/* umd's SIP side (sip.h). */
#define SU_ROOT_MAGIC_T struct um_sip
#define NUA_MAGIC_T     struct um_sip
#define NUA_HMAGIC_T    void
#define NTA_LEG_MAGIC_T void

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sofia-sip/hostdomain.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/su_tagarg.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>

#include "certcore/events.h"
#include "certcore/selfsigned.h"
#include "certs.h"
#include "dialog.h"
#include "media/engine.h"
#include "media/greetings.h"
#include "optfast.h"
#include "sdp_check.h"
#include "seam.h"
#include "sip.h"
#include "tlshook.h"

#define ALLOW      "INVITE, ACK, BYE, CANCEL, OPTIONS"
#define SUPPORTED  "timer"
#define USER_AGENT "umd/0.1"
/* sofia-sip's outbound connectivity probes Accept this type: nua answers those (outbound.c). */
#define OUTBOUND_PROBE_TYPE "application/vnd.nokia-register-usage"

/*
 * OPTIONS below nua (the fast path). Every request outside a dialog reaches nua through nta's
 * default leg, where nua makes a handle, a server request, an event for us and, after
 * nua_respond(), builds the answer from tag lists: a quarter of the CPU a keep-alive costs.
 * umd takes that leg over as nua creates it (nta_leg_tcreate below) and answers the OPTIONS nua
 * would hand to event_cb unchanged on nta's server transaction, with the headers nua would
 * add (pre-made once); every other request goes on to nua. nta still parses the request and
 * keeps the transaction (retransmissions over UDP are answered from it). Over TLS, plain
 * keep-alives do not get that far: fast_tls answers them as tlshook.c's SSL_read hands them
 * over, before sofia-sip reads them (optfast.h), with the same answer.
 */
struct um_fast {
	nta_agent_t *agent;    /* nua's */
	nta_request_f *nua_cb; /* nua's callback and context on its default leg */
	nta_leg_magic_t *nua_magic;
	su_home_t *home;        /* the headers below */
	sip_contact_t *contact; /* what nua puts in a 2xx: see fast_contact() */
	sip_user_agent_t *user_agent;
	sip_accept_t *accept;
	sip_allow_t *allow;
	sip_supported_t *supported;
	bool on; /* false: every OPTIONS goes through nua */
	/* Over TLS, plain keep-alives are answered before sofia-sip reads them (optfast.h). */
	struct um_optfast opt;
};

/* One call umd answered: the handle's magic from the INVITE umd accepted until it ends. */
struct call {
	struct um_owner owner;
	nua_handle_t *nh;
	bool up;        /* counted among the dialogs (reached "ready") */
	uint64_t media; /* the media engine's name for it; 0: none */
	int port;       /* its RTP port */
	bool media_begun;
	bool bye_sent;                 /* umd ended it (the media said so) */
	enum um_media_end end;         /* why it ended, for CallEnded */
	struct um_media_params params; /* the session negotiated so far (keys: wiped at the end) */
	struct um_greeting *greeting;  /* until the media begins */
	time_t answered;
	char call_id[256], from[256], to[256], user[128];
	struct call *prev, *next; /* um_sip's calls, for the media engine's events */
};

struct um_sip {
	su_root_t *root;
	nua_t *nua;
	const struct um_config *cfg;
	struct cc_log *log;
	struct um_metrics *metrics;
	bool shutting_down;
	struct um_fast fast;
	/* Media (um_sip_set_media); NULL until set: calls are then refused with 503. */
	struct um_media *media;
	struct um_greetings *greetings;
	struct um_certs *certs;
	/*
	 * The Contact of umd's 2xx to INVITE over TLS: sip:HOST:PORT;transport=tls, as Exchange UM
	 * wrote it, rather than nua's sips: URI, which gateways such as baresip cannot route to
	 * (they never ACK). The connection's own checks are what secure it, not the scheme.
	 */
	su_home_t *home;
	sip_contact_t *contact; /* NULL: nua's own (unsecured) */
	char *fqdn;             /* umd's FQDN (the spool's "to" is sip:USER@it); NULL: unknown */
	su_wait_t media_wait;
	int media_reg; /* su_root registration of the engine's event fd, or -1 */
	struct call *calls;
};

/* Exchange's CN-and-SAN host matching (README: certctl, CertificateDomains). */
#define HOST_FLAGS (X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT)

const struct um_gateway *
um_gateway_match(const struct um_config *cfg, const struct sockaddr *peer, X509 *cert, char *why,
                 size_t len)
{
	const struct um_gateway *gw[16];
	size_t n, i;
	char addr[64];

	n = um_config_gateways_for(cfg, peer, gw, 16);
	if (n == 0) {
		snprintf(why, len, "address %s is not configured for any gateway",
		         um_addr_text(peer, addr, sizeof(addr)));
		return NULL;
	}
	if (cert == NULL)
		return gw[0];
	for (i = 0; i < n; i++) {
		if (gw[i]->pin != NULL && X509_cmp(cert, gw[i]->pin) != 0)
			continue; /* not the certificate pinned for this gateway */
		if (gw[i]->fqdn != NULL &&
		    X509_check_host(cert, gw[i]->fqdn, 0, HOST_FLAGS, NULL) == 1)
			return gw[i];
	}
	if (n == 1 && gw[0]->pin != NULL && X509_cmp(cert, gw[0]->pin) != 0)
		snprintf(why, len, "certificate is not the one pinned for gateway %s (%s)",
		         gw[0]->name, gw[0]->certificate);
	else
		snprintf(why, len, "certificate does not name %s (gateway %s)",
		         gw[0]->fqdn ? gw[0]->fqdn : "-", gw[0]->name);
	return NULL;
}

bool
um_gateway_accepts(const struct um_config *cfg, const struct sockaddr *peer, X509 *cert, char *why,
                   size_t len)
{
	return um_gateway_match(cfg, peer, cert, why, len) != NULL;
}

/* The peer of the request being handled, for unsecured transports (TLS peers were checked). */
static bool
request_allowed(struct um_sip *s, nua_t *nua, char *peer, size_t plen, char *why, size_t wlen)
{
	msg_t *msg = nua_current_request(nua);
	su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
	struct sockaddr *sa = ai ? ai->ai_addr : NULL;

	um_addr_text(sa, peer, plen);
	return um_gateway_accepts(s->cfg, sa, NULL, why, wlen);
}

/* PeerRejected, for a request refused with 403 (the caller answers). */
static void
peer_rejected(struct um_sip *s, const char *peer, const char *why)
{
	struct cc_field f[] = {CC_FSTR("peer", peer), CC_FSTR("reason", why)};

	cc_log_event(s->log, CC_LOG_WARNING, CC_EV_PEER_REJECTED, f, 2);
	um_metrics_peer_rejected(s->metrics);
}

static void
reject(struct um_sip *s, nua_t *nua, nua_handle_t *nh, const char *peer, const char *why)
{
	peer_rejected(s, peer, why);
	nua_respond(nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS(nua), SIPTAG_WARNING_STR(NULL),
	            TAG_END());
	um_metrics_response(s->metrics, 403);
}

static void
on_options(struct um_sip *s, nua_t *nua, nua_handle_t *nh)
{
	char peer[64], why[256];

	if (!request_allowed(s, nua, peer, sizeof(peer), why, sizeof(why))) {
		reject(s, nua, nh, peer, why);
	} else {
		/* nua adds Accept: application/sdp itself. */
		nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua), SIPTAG_ALLOW_STR(ALLOW),
		            SIPTAG_SUPPORTED_STR(SUPPORTED), TAG_END());
		um_metrics_response(s->metrics, 200);
	}
	/* An OPTIONS inside a call's dialog must leave the call alone (destroying its handle
	 * would end it with a BYE). */
	if (nua_handle_magic(nh) == NULL)
		nua_handle_destroy(nh);
}

/*
 * Whether nua would hand this request to event_cb as nua_i_options and nothing else
 * (nua_stack_process_request, sofia-sip 1.12.11): an OPTIONS outside a dialog (no To tag),
 * to a sip: or sips: URI (else 416, or tel: answered as here), requiring nothing (else 420
 * or 200 after nua's check), not an outbound probe (nua answers those) and without Timestamp
 * (nua sends 100 Trying first). The rest goes to nua, as before.
 */
static bool
fast_options(const sip_t *sip)
{
	const url_t *uri = sip->sip_request->rq_url;

	return sip->sip_request->rq_method == sip_method_options && sip->sip_to != NULL &&
	       sip->sip_to->a_tag == NULL &&
	       (uri->url_type == url_sip || uri->url_type == url_sips) &&
	       sip->sip_require == NULL && sip->sip_timestamp == NULL &&
	       !(sip->sip_accept != NULL && sip->sip_accept->ac_type != NULL &&
	         su_casematch(sip->sip_accept->ac_type, OUTBOUND_PROBE_TYPE));
}

/* Retry-After of the 503 a stopping umd gives new requests: seconds. */
#define UM_STOPPING_RETRY_AFTER "5"

/* nta's callback for its default leg: requests outside any dialog. */
static int
default_leg_cb(void *magic, nta_leg_t *leg, nta_incoming_t *irq, sip_t const *sip)
{
	struct um_sip *s = magic;
	struct um_fast *f = &s->fast;
	char peer[64], why[256];
	msg_t *msg;
	su_addrinfo_t *ai;
	bool ok;

	if (s->shutting_down && sip->sip_request->rq_method != sip_method_ack &&
	    sip->sip_request->rq_method != sip_method_cancel) {
		/*
		 * umd is stopping: a new request gets 503 with Retry-After (RFC 3261 section
		 * 21.5.4), which a gateway or a balancer takes as "try another server", instead of
		 * the 410 nua's shutdown would give it once umd can no longer answer through nua.
		 * The dialogs under way end through nua as before.
		 */
		nta_incoming_tag(irq, NULL);
		nta_incoming_treply(irq, SIP_503_SERVICE_UNAVAILABLE,
		                    SIPTAG_RETRY_AFTER_STR(UM_STOPPING_RETRY_AFTER),
		                    SIPTAG_USER_AGENT(f->user_agent), SIPTAG_ALLOW(f->allow),
		                    TAG_END());
		um_metrics_request(s->metrics, sip->sip_request->rq_method_name);
		um_metrics_response(s->metrics, 503);
		return 503;
	}
	if (!f->on || !fast_options(sip))
		return f->nua_cb(f->nua_magic, leg, irq, sip);
	um_metrics_request(s->metrics, "OPTIONS");
	msg = nta_incoming_getrequest(irq);
	ai = msg ? msg_addrinfo(msg) : NULL;
	ok = um_gateway_accepts(s->cfg, ai ? ai->ai_addr : NULL, NULL, why, sizeof(why));
	if (!ok)
		um_addr_text(ai ? ai->ai_addr : NULL, peer, sizeof(peer));
	msg_destroy(msg);
	nta_incoming_tag(irq, NULL); /* the To tag nua gives an answer outside a dialog */
	if (ok) {
		nta_incoming_treply(irq, SIP_200_OK, SIPTAG_CONTACT(f->contact),
		                    SIPTAG_USER_AGENT(f->user_agent), SIPTAG_ACCEPT(f->accept),
		                    SIPTAG_ALLOW(f->allow), SIPTAG_SUPPORTED(f->supported),
		                    TAG_END());
		um_metrics_response(s->metrics, 200);
		return 200; /* answered: nta destroys the transaction when it is done */
	}
	peer_rejected(s, peer, why);
	nta_incoming_treply(irq, SIP_403_FORBIDDEN, SIPTAG_USER_AGENT(f->user_agent),
	                    SIPTAG_ALLOW(f->allow), SIPTAG_SUPPORTED(f->supported), TAG_END());
	um_metrics_response(s->metrics, 403);
	return 403;
}

/*
 * tlshook's fast path (um_tls_set_fast): a plain keep-alive from a gateway's TLS connection,
 * answered as default_leg_cb answers it, before sofia-sip has parsed it. What optfast does not
 * take, and a peer no gateway entry accepts now (since a SIGHUP: 403 and PeerRejected), go on
 * to sofia-sip and default_leg_cb.
 */
static bool
fast_tls(void *arg, const struct sockaddr *peer, const char *host, unsigned port, const char *msg,
         size_t len, char *answer, size_t *answer_len, size_t *used)
{
	struct um_sip *s = arg;
	char why[256];

	if (!s->fast.on || s->shutting_down ||
	    um_optfast_answer(&s->fast.opt, msg, len, host, port, answer, answer_len, used) !=
	            UM_OPTFAST_ANSWERED ||
	    !um_gateway_accepts(s->cfg, peer, NULL, why, sizeof(why)))
		return false;
	um_metrics_options_fast(s->metrics);
	return true;
}

/*
 * The end of fast_tls's answers, from Contact on, printed by sofia-sip's encoders from the
 * headers default_leg_cb gives nta, in nua's order. false: out of memory or too long.
 */
static bool
fast_tls_start(struct um_fast *f)
{
	const sip_header_t *h[] = {(sip_header_t *)f->contact, (sip_header_t *)f->user_agent,
	                           (sip_header_t *)f->accept, (sip_header_t *)f->allow,
	                           (sip_header_t *)f->supported};
	char tail[512], *v;
	size_t n = 0, i;
	uint64_t seed;
	int k;

	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		if ((v = sip_header_as_string(f->home, h[i])) == NULL)
			return false;
		k = snprintf(tail + n, sizeof(tail) - n, "%s: %s\r\n", h[i]->sh_class->hc_name, v);
		su_free(f->home, v);
		if (k < 0 || (size_t)k >= sizeof(tail) - n)
			return false;
		n += (size_t)k;
	}
	k = snprintf(tail + n, sizeof(tail) - n, "Content-Length: 0\r\n\r\n");
	if (k < 0 || (size_t)k >= sizeof(tail) - n)
		return false;
	if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1)
		return false;
	return um_optfast_init(&f->opt, tail, seed);
}

/* The um_sip whose nua is being created (nua_create runs nua's start-up on this thread). */
static struct um_sip *starting;
/* The running one (one listener per process): dialog legs are made while it runs. */
static struct um_sip *running;

/*
 * nta's callback for the legs of dialogs nua made for requests umd answered (INVITEs): every
 * request inside such a dialog must come from the gateway that owns it (dialog.h), else 403
 * and PeerRejected; nua never sees it. ACK cannot be answered: a stranger's is dropped. The
 * leg's magic is nua's handle, whose magic is umd's call once on_invite accepted it.
 */
static int
dialog_leg_cb(void *magic, nta_leg_t *leg, nta_incoming_t *irq, sip_t const *sip)
{
	struct um_sip *s = running;
	struct um_fast *f = &s->fast;
	struct call *c = magic ? nua_handle_magic((nua_handle_t *)magic) : NULL;
	char peer[64], why[320];
	X509 *cert = NULL;
	msg_t *msg;
	su_addrinfo_t *ai;
	bool secure = s->cfg->mode != UM_MODE_UNSECURED, ok;

	if (c == NULL)
		return f->nua_cb(magic, leg, irq, sip); /* no call of umd's yet: nothing to take */
	msg = nta_incoming_getrequest(irq);
	ai = msg ? msg_addrinfo(msg) : NULL;
	if (secure && ai != NULL)
		cert = um_tls_peer_cert(ai->ai_addr);
	ok = ai != NULL &&
	     um_owner_check(&c->owner, s->cfg, ai->ai_addr, cert, secure, why, sizeof(why));
	if (ai == NULL)
		snprintf(why, sizeof(why), "the request's source address is unknown");
	um_addr_text(ai ? ai->ai_addr : NULL, peer, sizeof(peer));
	X509_free(cert);
	msg_destroy(msg);
	if (ok)
		return f->nua_cb(magic, leg, irq, sip);
	um_metrics_request(s->metrics, sip->sip_request->rq_method_name);
	peer_rejected(s, peer, why);
	if (sip->sip_request->rq_method == sip_method_ack) {
		nta_incoming_destroy(irq);
		return 0;
	}
	nta_incoming_treply(irq, SIP_403_FORBIDDEN, SIPTAG_USER_AGENT(f->user_agent),
	                    SIPTAG_WARNING_STR(NULL), TAG_END());
	um_metrics_response(s->metrics, 403);
	return 403;
}

/*
 * sofia-sip's nta_leg_tcreate, interposed (seam.h; the executable exports it): nua makes its
 * default leg with it while nua_create runs, and umd puts default_leg_cb in front of nua's
 * callback there; the legs nua makes for dialogs of the running agent get dialog_leg_cb. Every
 * other leg is left alone.
 */
nta_leg_t *
nta_leg_tcreate(nta_agent_t *agent, nta_request_f *callback, nta_leg_magic_t *magic, tag_type_t tag,
                tag_value_t value, ...)
{
	static nta_leg_t *(*real)(nta_agent_t *, nta_request_f *, nta_leg_magic_t *, tag_type_t,
	                          tag_value_t, ...);
	nta_leg_t *leg;
	ta_list ta;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "nta_leg_tcreate");
	if (real == NULL)
		return NULL;
	ta_start(ta, tag, value);
	leg = real(agent, callback, magic, ta_tags(ta));
	ta_end(ta);
	if (leg != NULL && starting != NULL && starting->fast.nua_cb == NULL &&
	    nta_default_leg(agent) == leg) {
		starting->fast.agent = agent;
		starting->fast.nua_cb = callback;
		starting->fast.nua_magic = magic;
		nta_leg_bind(leg, default_leg_cb, starting);
		um_seam_take(UM_SEAM_LEG_TCREATE);
	} else if (leg != NULL && running != NULL && running->fast.agent == agent &&
	           callback == running->fast.nua_cb) {
		/* A dialog nua made for an incoming request: its requests pass the owner check. */
		nta_leg_bind(leg, dialog_leg_cb, magic);
		um_seam_take(UM_SEAM_LEG_TCREATE);
	} else {
		um_seam_pass(UM_SEAM_LEG_TCREATE);
	}
	return leg;
}

/*
 * CANCEL (RFC 3261 section 9.2) belongs to no dialog: nta matches it to the INVITE's server
 * transaction (sofia-sip 1.12.11 nta.c, incoming_find: Call-ID, CSeq number and From tag, then
 * the top Via's branch and sent-by, all of which a stranger can copy), answers 200 itself and
 * tells nua, which ends the INVITE with 487: before any leg or callback of umd's. So umd
 * stands in front of nta's transports (tport_tcreate below): a CANCEL that nta would match to
 * an INVITE must come from the gateway that sent the INVITE, with dialog ownership's rule
 * (um_owner_check), else 403 and PeerRejected and nta never sees it.
 */
static void (*nta_recv)(tp_stack_t *, tport_t *, msg_t *, tp_magic_t *, su_time_t);
static tport_stack_class_t filtered_class;

/*
 * The INVITE transaction nta would match `sip` (a CANCEL) to: nta's own search for a request
 * of method INVITE with the CANCEL's Call-ID, CSeq number, From tag and top Via. The To tag is
 * left out, as nta's CANCEL match (RFC 2543 clients) accepts the INVITE's or umd's.
 */
static nta_incoming_t *
cancelled_invite(nta_agent_t *agent, sip_t const *sip)
{
	sip_t q;
	sip_cseq_t cseq;
	sip_to_t to;

	memcpy(&q, sip, sizeof(q));
	memcpy(&cseq, sip->sip_cseq, sizeof(cseq));
	memcpy(&to, sip->sip_to, sizeof(to));
	cseq.cs_method = sip_method_invite;
	cseq.cs_method_name = "INVITE";
	to.a_tag = NULL;
	q.sip_cseq = &cseq;
	q.sip_to = &to;
	return nta_incoming_find(agent, &q, sip->sip_via);
}

/*
 * Whether the CANCEL `msg` may go on to nta: true when it cancels no INVITE nta holds, or when
 * it comes from the gateway the INVITE came from; else false with the reason in `why`.
 */
static bool
cancel_allowed(struct um_sip *s, nta_agent_t *agent, msg_t *msg, sip_t const *sip, char *why,
               size_t len)
{
	nta_incoming_t *irq = cancelled_invite(agent, sip);
	msg_t *inv = irq ? nta_incoming_getrequest(irq) : NULL;
	su_addrinfo_t *iai = inv ? msg_addrinfo(inv) : NULL, *ai = msg_addrinfo(msg);
	bool secure = s->cfg->mode != UM_MODE_UNSECURED, ok = false;
	X509 *icert = NULL, *cert = NULL;
	const struct um_gateway *gw;
	struct um_owner owner;
	char reason[256];

	if (irq == NULL) {
		ok = true; /* nothing of umd's to cancel: nta answers (481) */
		goto out;
	}
	if (iai == NULL || ai == NULL) {
		snprintf(why, len,
		         "CANCEL: the source address of the INVITE or the CANCEL is unknown");
		goto out;
	}
	if (secure) {
		icert = um_tls_peer_cert(iai->ai_addr);
		cert = um_tls_peer_cert(ai->ai_addr);
	}
	/* The INVITE's owner as on_invite records it; fail closed when it has none. */
	if ((gw = um_gateway_match(s->cfg, iai->ai_addr, icert, reason, sizeof(reason))) == NULL ||
	    um_owner_set(&owner, gw, iai->ai_addr, icert) != UM_OK) {
		snprintf(why, len, "CANCEL of an INVITE from no gateway umd accepts");
		goto out;
	}
	if (!um_owner_check(&owner, s->cfg, ai->ai_addr, cert, secure, reason, sizeof(reason))) {
		snprintf(why, len, "CANCEL of a pending INVITE of gateway %s: %s", owner.gateway,
		         reason);
		goto out;
	}
	ok = true;
out:
	X509_free(icert);
	X509_free(cert);
	msg_destroy(inv);
	return ok;
}

/*
 * Where a response goes is the top Via's business (RFC 3261 section 18.2.2): nta adds
 * received (and rport, RFC 3581) before it answers, so that a forged sent-by (the INVITE's)
 * is not where the 403 goes; umd does the same for the 403 it sends before nta sees it.
 */
static void
answer_to_source(msg_t *msg, sip_t const *sip, const su_addrinfo_t *ai)
{
	sip_via_t *v = (sip_via_t *)sip->sip_via;
	su_home_t *home = msg_home(msg);
	char host[INET6_ADDRSTRLEN];
	const void *a;
	unsigned port;
	char *p;

	if (ai == NULL || (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
		return;
	if (ai->ai_family == AF_INET) {
		a = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
		port = ntohs(((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_port);
	} else {
		a = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
		port = ntohs(((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_port);
	}
	if (inet_ntop(ai->ai_family, a, host, sizeof(host)) == NULL)
		return;
	if ((p = su_sprintf(home, "received=%s", host)) != NULL)
		(void)msg_header_replace_param(home, v->v_common, p);
	if (v->v_rport != NULL && (p = su_sprintf(home, "rport=%u", port)) != NULL)
		(void)msg_header_replace_param(home, v->v_common, p);
}

/* nta's receive function with the CANCEL check in front (filtered_class). */
static void
filtered_recv(tp_stack_t *stack, tport_t *tp, msg_t *msg, tp_magic_t *magic, su_time_t received)
{
	struct um_sip *s = running;
	nta_agent_t *agent = (nta_agent_t *)stack;
	sip_t const *sip = msg ? sip_object(msg) : NULL;
	char peer[64], why[448];
	su_addrinfo_t *ai;

	/* What nta would refuse as malformed (a missing or bad header) it refuses itself. */
	if (s == NULL || s->shutting_down || s->fast.agent != agent || sip == NULL ||
	    sip->sip_request == NULL || sip->sip_request->rq_method != sip_method_cancel ||
	    sip->sip_error != NULL || sip->sip_call_id == NULL || sip->sip_cseq == NULL ||
	    sip->sip_from == NULL || sip->sip_to == NULL || sip->sip_via == NULL ||
	    cancel_allowed(s, agent, msg, sip, why, sizeof(why))) {
		nta_recv(stack, tp, msg, magic, received);
		return;
	}
	ai = msg_addrinfo(msg);
	um_addr_text(ai ? ai->ai_addr : NULL, peer, sizeof(peer));
	um_metrics_request(s->metrics, "CANCEL");
	peer_rejected(s, peer, why);
	answer_to_source(msg, sip, ai);
	/* Answered on the transport it came by (nta_msg_treply takes msg). */
	nta_msg_treply(agent, msg, SIP_403_FORBIDDEN, SIPTAG_USER_AGENT(s->fast.user_agent),
	               TAG_END());
	um_metrics_response(s->metrics, 403);
}

/*
 * sofia-sip's tport_tcreate, interposed (seam.h; the executable exports it): nta makes its
 * master transport with it while nua_create runs, handing it the functions its transports
 * deliver messages to; umd hands on a copy whose receive function is filtered_recv. Other
 * callers are left alone.
 */
tport_t *
tport_tcreate(tp_stack_t *stack, tport_stack_class_t const *tpac, su_root_t *root, tag_type_t tag,
              tag_value_t value, ...)
{
	static tport_t *(*real)(tp_stack_t *, tport_stack_class_t const *, su_root_t *, tag_type_t,
	                        tag_value_t, ...);
	tport_t *tp;
	ta_list ta;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "tport_tcreate");
	if (real == NULL)
		return NULL;
	if (starting != NULL && nta_recv == NULL && tpac != NULL && tpac->tpac_recv != NULL &&
	    (size_t)tpac->tpac_size <= sizeof(filtered_class)) {
		memcpy(&filtered_class, tpac, (size_t)tpac->tpac_size);
		nta_recv = tpac->tpac_recv;
		filtered_class.tpac_recv = filtered_recv;
		tpac = &filtered_class;
		um_seam_take(UM_SEAM_TPORT_TCREATE);
	} else if (starting != NULL && nta_recv != NULL && tpac != NULL &&
	           tpac->tpac_recv == nta_recv) {
		tpac = &filtered_class; /* a second agent of the same nta (a restart) */
		um_seam_take(UM_SEAM_TPORT_TCREATE);
	} else {
		um_seam_pass(UM_SEAM_TPORT_TCREATE);
	}
	ta_start(ta, tag, value);
	tp = real(stack, tpac, root, ta_tags(ta));
	ta_end(ta);
	return tp;
}

/*
 * The Contact nua adds to a 2xx outside a dialog: its one registration made from nta's Vias
 * (nua_registration_from_via, nua_handle_contact_by_via): <sip:HOST:PORT> for UDP and TCP on
 * one address, <sips:HOST:PORT> for TLS, the port left out when it is the scheme's default
 * (5060 only with an IP address). Anything else (several addresses, public or NATed Vias):
 * NULL, and OPTIONS stay with nua.
 */
static sip_contact_t *
fast_contact(su_home_t *home, nta_agent_t *agent, bool tls)
{
	const sip_via_t *v = nta_agent_via(agent), *w;
	const char *port;
	char buf[300];
	unsigned n = 0, udp = 0, tcp = 0, tlsn = 0;

	if (v == NULL || nta_agent_public_via(agent) != NULL)
		return NULL;
	for (w = v; w != NULL; w = w->v_next) {
		if (w->v_host == NULL || w->v_received != NULL || w->v_maddr != NULL ||
		    w->v_comp != NULL || !su_casematch(w->v_host, v->v_host) ||
		    !su_strmatch(w->v_port, v->v_port))
			return NULL;
		n++;
		udp += su_casematch(w->v_protocol, sip_transport_udp);
		tcp += su_casematch(w->v_protocol, sip_transport_tcp);
		tlsn += su_casematch(w->v_protocol, sip_transport_tls);
	}
	if (tls ? n != 1 || tlsn != 1 : n != 2 || udp != 1 || tcp != 1)
		return NULL;
	port = v->v_port ? v->v_port : (tls ? SIPS_DEFAULT_SERV : SIP_DEFAULT_SERV);
	if (tls ? strcmp(port, SIPS_DEFAULT_SERV) == 0
	        : strcmp(port, SIP_DEFAULT_SERV) == 0 && host_is_ip_address(v->v_host))
		port = NULL;
	if ((size_t)snprintf(buf, sizeof(buf), "<%s:%s%s%s>", tls ? "sips" : "sip", v->v_host,
	                     port ? ":" : "", port ? port : "") >= sizeof(buf))
		return NULL;
	return sip_contact_make(home, buf);
}

/* After nua_create: the fast path's headers, or the reason it stays off (logged). */
static void
fast_start(struct um_sip *s, bool tls)
{
	struct um_fast *f = &s->fast;
	const char *off = NULL;

	if (f->nua_cb == NULL)
		off = "nua's default leg was not seen";
	else if (!s->cfg->options_fast_path)
		off = "options_fast_path = no";
	else if ((f->home = su_home_new(sizeof(*f->home))) == NULL)
		off = "out of memory";
	else if ((f->contact = fast_contact(f->home, f->agent, tls)) == NULL)
		off = "the listener's Contact is not a single address";
	else if ((f->user_agent = sip_user_agent_make(f->home, USER_AGENT)) == NULL ||
	         (f->accept = sip_accept_make(f->home, "application/sdp")) == NULL ||
	         (f->allow = sip_allow_make(f->home, ALLOW)) == NULL ||
	         (f->supported = sip_supported_make(f->home, SUPPORTED)) == NULL)
		off = "out of memory";
	f->on = off == NULL;
	if (off != NULL)
		cc_log_message(s->log, CC_LOG_INFO, "OPTIONS answered through nua: %s", off);
	else if (tls && !fast_tls_start(f))
		cc_log_message(s->log, CC_LOG_INFO,
		               "OPTIONS over TLS answered by nta: the "
		               "keep-alive answer could not be made");
	else if (tls)
		um_tls_set_fast(fast_tls, s);
}

/*
 * The gateway that sent the request being handled, and the certificate of its connection (a
 * new reference, or NULL in unsecured mode), for a new dialog's owner.
 */
static const struct um_gateway *
request_gateway(struct um_sip *s, nua_t *nua, struct sockaddr_storage *peer, X509 **cert, char *why,
                size_t len)
{
	msg_t *msg = nua_current_request(nua);
	su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;

	*cert = NULL;
	memset(peer, 0, sizeof(*peer));
	if (ai == NULL || ai->ai_addr == NULL || ai->ai_addrlen > sizeof(*peer)) {
		snprintf(why, len, "the request's source address is unknown");
		return NULL;
	}
	memcpy(peer, ai->ai_addr, ai->ai_addrlen);
	if (s->cfg->mode != UM_MODE_UNSECURED && (*cert = um_tls_peer_cert(ai->ai_addr)) == NULL) {
		snprintf(why, len, "no TLS connection with a certificate from this address");
		return NULL;
	}
	return um_gateway_match(s->cfg, ai->ai_addr, *cert, why, len);
}

/*
 * The address umd's SDP names for a call from `peer`: media_address, else the listen host; when
 * that is a wildcard (0.0.0.0 or ::, a container), the local address the kernel routes to the
 * gateway from (a connected UDP socket's name: no packet is sent), where the media sockets,
 * bound to the wildcard, receive. false when there is none.
 */
static bool
is_wildcard(const char *h)
{
	return strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0;
}

/* `h`, or when it is a wildcard the local address the kernel routes to `peer` from. */
static bool
local_host(const char *h, const struct sockaddr_storage *peer, char *buf, size_t len)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	bool ok = false;
	int fd;

	if (!is_wildcard(h)) {
		snprintf(buf, len, "%s", h);
		return true;
	}
	if ((fd = socket(peer->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	if (connect(fd, (const struct sockaddr *)peer,
	            peer->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                        : sizeof(struct sockaddr_in)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&local, &llen) == 0 &&
	    getnameinfo((struct sockaddr *)&local, llen, buf, (socklen_t)len, NULL, 0,
	                NI_NUMERICHOST) == 0)
		ok = true;
	close(fd);
	return ok;
}

static bool
media_host(const struct um_sip *s, const struct sockaddr_storage *peer, char *buf, size_t len)
{
	return local_host(s->cfg->media_address ? s->cfg->media_address : s->cfg->listen_host, peer,
	                  buf, len);
}

static void
call_free(struct um_sip *s, struct call *c)
{
	if (c == NULL)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (s->calls == c)
		s->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	um_greeting_unref(c->greeting);
	um_media_params_wipe(&c->params);
	free(c);
}

/* The user part of a URL (for %u and greetings/USER.wav), or "". */
static void
url_user(const url_t *u, char *buf, size_t len)
{
	snprintf(buf, len, "%s", u != NULL && u->url_user != NULL ? u->url_user : "");
}

static void
url_text(su_home_t *home, const url_t *u, char *buf, size_t len)
{
	char *t = u != NULL ? url_as_string(home, u) : NULL;

	snprintf(buf, len, "%s", t ? t : "");
	su_free(home, t);
}

static void
call_answered(struct um_sip *s, struct call *c)
{
	const struct um_gateway *gw = NULL;
	struct cc_field f[] = {CC_FSTR("call_id", c->call_id), CC_FSTR("gateway", c->owner.gateway),
	                       CC_FSTR("from", c->from), CC_FSTR("to", c->to),
	                       CC_FSTR("media", um_srtp_suite_name(c->params.suite))};

	(void)gw;
	cc_log_event(s->log, CC_LOG_INFO, CC_EV_CALL_ANSWERED, f, 5);
}

/* The call's media starts (or, for umd's own offer, once the ACK brought the answer). */
static void
media_begin(struct um_sip *s, struct call *c)
{
	struct um_spool_meta meta = {.call_id = c->call_id,
	                             .from = c->from,
	                             .to = c->to,
	                             .gateway = c->owner.gateway,
	                             .media = um_srtp_suite_name(c->params.suite),
	                             .um_thumbprint =
	                                     s->certs ? um_certs_thumbprint(s->certs) : NULL,
	                             .started = c->answered};

	if (um_media_begin(s->media, c->media, &c->params, c->greeting, &meta) != UM_OK) {
		cc_log_message(s->log, CC_LOG_ERROR, "call %s: %s", c->call_id, um_errdetail());
		c->end = UM_END_ERROR;
		c->bye_sent = true;
		nua_bye(c->nh, TAG_END());
		return;
	}
	um_greeting_unref(c->greeting);
	c->greeting = NULL;
	c->media_begun = true;
	call_answered(s, c);
}

/*
 * 200 with umd's SDP (then wiped: it may hold umd's key) and, over TLS, umd's Contact: the
 * listen address, or when umd listens on every address (a container) the local address routed
 * to the gateway, where the gateway reaches umd (never 0.0.0.0 or ::, which a peer cannot send
 * to). nua copies the tags: the Contact made here is freed after.
 */
static void
respond_sdp(struct um_sip *s, nua_t *nua, nua_handle_t *nh, const struct call *c, char *sdp)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	sip_contact_t *contact = s->contact;
	char host[INET6_ADDRSTRLEN], url[INET6_ADDRSTRLEN + 48];

	if (contact != NULL && is_wildcard(s->cfg->listen_host) &&
	    local_host(s->cfg->listen_host, &c->owner.addr, host, sizeof(host))) {
		snprintf(url, sizeof(url), "<sip:%s%s%s:%d;transport=tls>",
		         strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
		         s->cfg->listen_port);
		if ((contact = sip_contact_make(home, url)) == NULL)
			contact = s->contact;
	}
	nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua), TAG_IF(contact, SIPTAG_CONTACT(contact)),
	            SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp),
	            SIPTAG_ALLOW_STR(ALLOW), TAG_END());
	su_home_deinit(home);
	um_metrics_response(s->metrics, 200);
	um_sdp_free(sdp);
}

static void
respond_488(struct um_sip *s, nua_t *nua, nua_handle_t *nh, const char *peer, const char *why)
{
	char warning[512];

	/* RFC 3261 section 20.43: 305 Incompatible media format; the text says why. */
	snprintf(warning, sizeof(warning), "305 umd \"%s\"", why);
	nua_respond(nh, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_THIS(nua), SIPTAG_WARNING_STR(warning),
	            TAG_END());
	um_metrics_response(s->metrics, 488);
	cc_log_message(s->log, CC_LOG_INFO, "INVITE from %s refused with 488: %s", peer, why);
}

/* A re-INVITE (it passed the owner check in dialog_leg_cb): hold, a new key, a new address. */
static void
on_reinvite(struct um_sip *s, nua_t *nua, nua_handle_t *nh, struct call *c, sip_t const *sip)
{
	struct um_media_params p;
	char why[384], *answer = NULL, peer[64], host[INET6_ADDRSTRLEN];
	const char *body = NULL;
	size_t len = 0;

	memset(&p, 0, sizeof(p));
	if (sip != NULL && sip->sip_payload != NULL && sip->sip_payload->pl_len > 0) {
		body = sip->sip_payload->pl_data;
		len = sip->sip_payload->pl_len;
	}
	if (body == NULL) {
		/* No offer: umd's current session again (RFC 3264 section 8 allows the same). */
		nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua), TAG_END());
		um_metrics_response(s->metrics, 200);
		return;
	}
	if (!media_host(s, &c->owner.addr, host, sizeof(host))) {
		nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua), TAG_END());
		um_metrics_response(s->metrics, 500);
		return;
	}
	if (!um_sdp_answer(s->cfg->mode, body, len, host, c->port, &c->params, &p, &answer, why,
	                   sizeof(why))) {
		um_addr_text((struct sockaddr *)&c->owner.addr, peer, sizeof(peer));
		/* RFC 3264 section 8: a refused re-offer leaves the session as it was. */
		respond_488(s, nua, nh, peer, why);
		um_media_params_wipe(&p);
		return;
	}
	if (c->params.suite != UM_SRTP_NONE && p.suite == UM_SRTP_NONE) {
		/* A call that began with SRTP never falls back to plain RTP (a downgrade). */
		um_addr_text((struct sockaddr *)&c->owner.addr, peer, sizeof(peer));
		respond_488(s, nua, nh, peer,
		            "the call is keyed with SRTP: a re-offer of plain RTP is refused");
		um_media_params_wipe(&p);
		um_sdp_free(answer);
		return;
	}
	if (c->media_begun && um_media_update(s->media, c->media, &p) != UM_OK) {
		cc_log_message(s->log, CC_LOG_ERROR, "call %s: %s", c->call_id, um_errdetail());
		nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua), TAG_END());
		um_metrics_response(s->metrics, 500);
		um_media_params_wipe(&p);
		um_sdp_free(answer);
		return;
	}
	um_media_params_wipe(&c->params);
	c->params = p;
	respond_sdp(s, nua, nh, c, answer);
}

static void
on_invite(struct um_sip *s, nua_t *nua, nua_handle_t *nh, sip_t const *sip)
{
	char peer[64], why[384], *answer = NULL, host[INET6_ADDRSTRLEN];
	const char *body = NULL;
	const struct um_gateway *gw;
	struct sockaddr_storage from;
	struct call *c = nua_handle_magic(nh);
	X509 *cert = NULL;
	size_t len = 0;
	su_home_t home[1] = {SU_HOME_INIT(home)};

	if (c != NULL) {
		on_reinvite(s, nua, nh, c, sip);
		goto out;
	}
	gw = request_gateway(s, nua, &from, &cert, why, sizeof(why));
	um_addr_text((struct sockaddr *)&from, peer, sizeof(peer));
	if (gw == NULL) {
		reject(s, nua, nh, peer, why);
		nua_handle_destroy(nh);
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    um_owner_set(&c->owner, gw, (struct sockaddr *)&from, cert) != UM_OK) {
		free(c);
		nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua), TAG_END());
		um_metrics_response(s->metrics, 500);
		goto out;
	}
	c->nh = nh;
	c->end = UM_END_HANGUP;
	if ((c->next = s->calls) != NULL)
		c->next->prev = c;
	s->calls = c;
	if (sip->sip_call_id != NULL)
		snprintf(c->call_id, sizeof(c->call_id), "%s", sip->sip_call_id->i_id);
	url_text(home, sip->sip_from ? sip->sip_from->a_url : NULL, c->from, sizeof(c->from));
	url_user(sip->sip_to ? sip->sip_to->a_url : NULL, c->user, sizeof(c->user));
	/*
	 * The called party as the spool's metadata names it (README), sip:USER@umd's FQDN, whatever
	 * host the gateway dialled (an address, a port, a transport); the URI as dialled without a
	 * user part.
	 */
	if (c->user[0] != '\0' && s->fqdn != NULL)
		snprintf(c->to, sizeof(c->to), "sip:%s@%s", c->user, s->fqdn);
	else
		url_text(home, sip->sip_to ? sip->sip_to->a_url : NULL, c->to, sizeof(c->to));
	if (s->media == NULL || um_media_open(s->media, &c->media, &c->port) != UM_OK) {
		/* RFC 3261 section 21.5.4 and 20.33: busy for now, try again shortly. */
		cc_log_message(s->log, CC_LOG_WARNING, "INVITE from %s refused with 503: %s", peer,
		               s->media ? um_errdetail() : "no media engine");
		nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS(nua),
		            SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
		um_metrics_response(s->metrics, 503);
		call_free(s, c);
		goto out;
	}
	if (sip->sip_payload != NULL && sip->sip_payload->pl_len > 0) {
		body = sip->sip_payload->pl_data;
		len = sip->sip_payload->pl_len;
	}
	if (!media_host(s, &from, host, sizeof(host))) {
		snprintf(why, sizeof(why), "no local address to reach the gateway's media");
		cc_log_message(s->log, CC_LOG_ERROR, "INVITE from %s: %s", peer, why);
		um_media_end(s->media, c->media, UM_END_ERROR);
		call_free(s, c);
		nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua), TAG_END());
		um_metrics_response(s->metrics, 500);
		goto out;
	}
	if (!um_sdp_answer(s->cfg->mode, body, len, host, c->port, NULL, &c->params, &answer, why,
	                   sizeof(why))) {
		um_media_end(s->media, c->media, UM_END_ERROR);
		call_free(s, c);
		respond_488(s, nua, nh, peer, why);
		goto out; /* the handle ends with the call state "terminated" */
	}
	c->greeting = um_greetings_for(s->greetings, c->user);
	c->answered = time(NULL);
	nua_handle_bind(nh, c);
	respond_sdp(s, nua, nh, c, answer);
	if (!c->params.own_offer)
		media_begin(s, c);
out:
	su_home_deinit(home);
	X509_free(cert);
}

/* The ACK of umd's 200: for an INVITE without an offer it carries the gateway's answer. */
static void
on_ack(struct um_sip *s, struct call *c, sip_t const *sip)
{
	struct um_media_params p;
	char why[384];

	if (c == NULL || c->media_begun || !c->params.own_offer)
		return;
	memset(&p, 0, sizeof(p));
	if (sip == NULL || sip->sip_payload == NULL || sip->sip_payload->pl_len == 0 ||
	    !um_sdp_take_answer(s->cfg->mode, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
	                        &c->params, &p, why, sizeof(why))) {
		if (sip == NULL || sip->sip_payload == NULL || sip->sip_payload->pl_len == 0)
			snprintf(why, sizeof(why), "the ACK carries no answer to umd's offer");
		cc_log_message(s->log, CC_LOG_WARNING, "call %s ended: %s", c->call_id, why);
		um_media_params_wipe(&p);
		c->end = UM_END_ERROR;
		c->bye_sent = true;
		nua_bye(c->nh, TAG_END());
		return;
	}
	um_media_params_wipe(&c->params);
	c->params = p;
	media_begin(s, c);
}

static struct call *
call_by_media(struct um_sip *s, uint64_t id)
{
	struct call *c;

	for (c = s->calls; c != NULL; c = c->next)
		if (c->media == id)
			return c;
	return NULL;
}

/*
 * What the media engine reports, on the SIP thread. The root's magic is the daemon's, not
 * ours: the listener comes as the registration's argument.
 */
static int
on_media_events(struct um_sip *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
	struct um_sip *s = arg;
	struct um_media_event ev[32];
	struct call *c;
	size_t n, i;

	(void)magic;
	(void)w;
	n = um_media_events(s->media, ev, 32);
	for (i = 0; i < n; i++) {
		switch (ev[i].kind) {
		case UM_MEV_HANGUP:
			if ((c = call_by_media(s, ev[i].call)) != NULL && !c->bye_sent) {
				c->end = ev[i].end;
				c->bye_sent = true;
				nua_bye(c->nh, TAG_END());
			}
			break;
		case UM_MEV_RECORDED:
			if (ev[i].reason[0] != '\0') {
				cc_log_message(s->log, CC_LOG_ERROR,
				               "voice message of call %s (%s to %s) not stored: %s",
				               ev[i].call_id, ev[i].from, ev[i].to, ev[i].reason);
			} else {
				struct cc_field f[] = {
				        CC_FSTR("id", ev[i].msg_id), CC_FSTR("from", ev[i].from),
				        CC_FSTR("to", ev[i].to), CC_FREAL("seconds", ev[i].seconds),
				        CC_FBOOL("truncated", ev[i].truncated)};

				cc_log_event(s->log, CC_LOG_INFO, CC_EV_VOICE_MESSAGE_RECORDED, f,
				             5);
			}
			break;
		case UM_MEV_NO_MESSAGE:
			cc_log_message(s->log, CC_LOG_INFO,
			               "call %s: %s before the beep: no voice message",
			               ev[i].call_id,
			               ev[i].end == UM_END_HANGUP ? "the caller hung up"
			                                          : um_media_end_name(ev[i].end));
			break;
		case UM_MEV_SECURITY: {
			struct cc_field f[] = {CC_FSTR("call_id", ev[i].call_id),
			                       CC_FSTR("reason", ev[i].reason),
			                       CC_FINT("count", (long long)ev[i].count)};

			cc_log_event(s->log, CC_LOG_WARNING, CC_EV_MEDIA_SECURITY_FAILURE, f, 3);
			break;
		}
		}
	}
	return 0;
}

static void
call_ended(struct um_sip *s, struct call *c)
{
	struct cc_field f[] = {CC_FSTR("call_id", c->call_id), CC_FINT("seconds", 0),
	                       CC_FSTR("reason", um_media_end_name(c->end))};

	if (c->media != 0)
		um_media_end(s->media, c->media,
		             s->shutting_down ? UM_END_SHUTDOWN : UM_END_HANGUP);
	if (!c->media_begun)
		return;
	if (s->shutting_down && !c->bye_sent)
		c->end = UM_END_SHUTDOWN;
	f[1].num = (long long)(time(NULL) - c->answered);
	cc_log_event(s->log, CC_LOG_INFO, CC_EV_CALL_ENDED, f, 3);
}

static void
event_cb(nua_event_t event, int status, char const *phrase, nua_t *nua, struct um_sip *s,
         nua_handle_t *nh, void *hmagic, sip_t const *sip, tagi_t tags[])
{
	int state = nua_callstate_init;
	struct call *c;

	(void)phrase;
	switch (event) {
	case nua_i_options:
		um_metrics_request(s->metrics, "OPTIONS");
		on_options(s, nua, nh);
		break;
	case nua_i_invite:
		um_metrics_request(s->metrics, "INVITE");
		on_invite(s, nua, nh, sip);
		break;
	case nua_i_ack:
		um_metrics_request(s->metrics, "ACK");
		on_ack(s, hmagic, sip);
		break;
	case nua_i_bye:
		um_metrics_request(s->metrics, "BYE");
		um_metrics_response(s->metrics, 200); /* nua answers BYE itself */
		break;
	case nua_i_cancel:
		um_metrics_request(s->metrics, "CANCEL");
		um_metrics_response(s->metrics, 200);
		break;
	case nua_i_state:
		tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
		c = hmagic;
		if (state == nua_callstate_ready && c != NULL && !c->up) {
			c->up = true;
			um_metrics_dialogs(s->metrics, +1);
		}
		if (state == nua_callstate_terminated && nh != NULL) {
			/* A dialog that was up (ready) is counted down once. */
			if (c != NULL && c->up)
				um_metrics_dialogs(s->metrics, -1);
			if (c != NULL)
				call_ended(s, c);
			nua_handle_bind(nh, NULL);
			call_free(s, c);
			nua_handle_destroy(nh);
		}
		break;
	case nua_r_shutdown:
		if (status >= 200)
			su_root_break(s->root);
		break;
	case nua_i_error:
		cc_log_message(s->log, CC_LOG_WARNING, "SIP stack error %d %s", status,
		               phrase ? phrase : "");
		break;
	default:
		/* Anything else incoming that nua handed to us has no use here. */
		if (status == 0 && nh != NULL && event < nua_r_set_params && event != nua_i_state &&
		    event != nua_i_active && event != nua_i_terminated &&
		    event != nua_i_media_error)
			um_metrics_request(s->metrics, "other");
		break;
	}
}

enum um_err
um_sip_start(su_root_t *root, const struct um_config *cfg, const char *certdir, struct cc_log *log,
             struct um_metrics *metrics, struct um_sip **out)
{
	struct um_sip *s;
	char url[300];
	bool v6 = strchr(cfg->listen_host, ':') != NULL;
	bool tls = cfg->mode != UM_MODE_UNSECURED;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return um_seterr(UM_ERR_NOMEM, "sip");
	s->root = root;
	s->cfg = cfg;
	s->media_reg = -1;
	if (cfg->fqdn != NULL) {
		s->fqdn = strdup(cfg->fqdn);
	} else {
		char *shortname = NULL;

		if (cc_host_names(&s->fqdn, &shortname) != CC_OK)
			s->fqdn = NULL; /* the spool's "to" is then the URI as dialled */
		free(shortname);
	}
	s->log = log;
	s->metrics = metrics;
	/* sips:host:port;transport=tls, or sip:host:port for UDP and TCP both. */
	snprintf(url, sizeof(url), "%s:%s%s%s:%d%s", tls ? "sips" : "sip", v6 ? "[" : "",
	         cfg->listen_host, v6 ? "]" : "", cfg->listen_port, tls ? ";transport=tls" : "");
	/* sofia-sip makes its transports (the TLS context among them) in nua_create: seam.h. */
	starting = s;
	um_seam_window(true);
	s->nua = nua_create(
	        root, event_cb, s, NUTAG_URL(url), TAG_IF(tls, TPTAG_CERTIFICATE(certdir)),
	        TAG_IF(tls, TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_IN)),
	        TPTAG_IDLE((unsigned)cfg->idle_seconds * 1000U), NUTAG_MEDIA_ENABLE(0),
	        NTATAG_MAXSIZE(UM_SIP_MAX_MESSAGE), TPTAG_TIMEOUT(UM_SIP_MESSAGE_SECONDS * 1000U),
	        NUTAG_APPL_METHOD("OPTIONS"), SIPTAG_ALLOW_STR(ALLOW),
	        SIPTAG_SUPPORTED_STR(SUPPORTED), NUTAG_AUTOANSWER(0), NUTAG_AUTOACK(1),
	        NUTAG_ENABLEMESSAGE(0), NUTAG_ENABLEMESSENGER(0), SIPTAG_USER_AGENT_STR(USER_AGENT),
	        TAG_END());
	um_seam_window(false);
	starting = NULL;
	if (s->nua == NULL) {
		free(s->fqdn);
		free(s);
		return um_seterr(UM_ERR_SIP, "cannot listen on %s (address in use, or not local)",
		                 url);
	}
	fast_start(s, tls);
	if (tls) {
		snprintf(url, sizeof(url), "<sip:%s%s%s:%d;transport=tls>", v6 ? "[" : "",
		         cfg->listen_host, v6 ? "]" : "", cfg->listen_port);
		if ((s->home = su_home_new(sizeof(*s->home))) == NULL ||
		    (s->contact = sip_contact_make(s->home, url)) == NULL) {
			nua_destroy(s->nua);
			su_home_unref(s->fast.home);
			su_home_unref(s->home);
			free(s->fqdn);
			free(s);
			return um_seterr(UM_ERR_NOMEM, "sip");
		}
	}
	if (s->fast.nua_cb == NULL) {
		/* Without nua's callback no dialog leg gets the owner check (dialog_leg_cb). */
		nua_destroy(s->nua);
		su_home_unref(s->fast.home);
		su_home_unref(s->home);
		free(s->fqdn);
		free(s);
		return um_seterr(UM_ERR_SIP, "nua's default leg was not seen (nta_leg_tcreate "
		                             "interposition): dialogs could not be guarded");
	}
	running = s;
	*out = s;
	return UM_OK;
}

void
um_sip_media_events(struct um_sip *s)
{
	if (s != NULL && s->media != NULL)
		(void)on_media_events(NULL, NULL, s);
}

void
um_sip_set_media(struct um_sip *s, struct um_media *media, struct um_greetings *greetings,
                 struct um_certs *certs)
{
	if (s->media_reg >= 0) {
		su_root_deregister(s->root, s->media_reg);
		s->media_reg = -1;
	}
	s->media = media;
	s->greetings = greetings;
	s->certs = certs;
	if (media != NULL &&
	    su_wait_create(&s->media_wait, um_media_event_fd(media), SU_WAIT_IN) == 0)
		s->media_reg = su_root_register(s->root, &s->media_wait, on_media_events, s, 0);
}

void
um_sip_set_config(struct um_sip *s, const struct um_config *cfg)
{
	s->cfg = cfg;
}

void
um_sip_shutdown(struct um_sip *s)
{
	if (!s->shutting_down) {
		s->shutting_down = true;
		nua_shutdown(s->nua);
	}
}

void
um_sip_free(struct um_sip *s)
{
	if (s == NULL)
		return;
	if (s->media_reg >= 0)
		su_root_deregister(s->root, s->media_reg);
	if (s->nua != NULL)
		nua_destroy(s->nua);
	while (s->calls != NULL)
		call_free(s, s->calls);
	if (running == s)
		running = NULL;
	if (s->fast.on)
		um_tls_set_fast(NULL, NULL);
	if (s->fast.home != NULL)
		su_home_unref(s->fast.home);
	if (s->home != NULL)
		su_home_unref(s->home);
	free(s->fqdn);
	free(s);
}

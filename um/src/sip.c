/* umd's SIP side (sip.h). */
#define SU_ROOT_MAGIC_T struct um_sip
#define NUA_MAGIC_T     struct um_sip
#define NUA_HMAGIC_T    void

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/tport_tag.h>

#include "certcore/events.h"
#include "sdp_check.h"
#include "sip.h"

#define ALLOW           "INVITE, ACK, BYE, CANCEL, OPTIONS"
#define MEDIA_PORT_BASE 40000

struct um_sip {
	su_root_t *root;
	nua_t *nua;
	const struct um_config *cfg;
	struct cc_log *log;
	struct um_metrics *metrics;
	unsigned calls;
	bool shutting_down;
};

/* Exchange's CN-and-SAN host matching (DESIGN.md). */
#define HOST_FLAGS (X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT)

bool
um_gateway_accepts(const struct um_config *cfg, const struct sockaddr *peer, X509 *cert, char *why,
                   size_t len)
{
	const struct um_gateway *gw[16];
	size_t n, i;
	char addr[64];

	n = um_config_gateways_for(cfg, peer, gw, 16);
	if (n == 0) {
		snprintf(why, len, "address %s is not configured for any gateway",
		         um_addr_text(peer, addr, sizeof(addr)));
		return false;
	}
	if (cert == NULL)
		return true;
	for (i = 0; i < n; i++) {
		if (gw[i]->pin != NULL && X509_cmp(cert, gw[i]->pin) != 0)
			continue; /* not the certificate pinned for this gateway */
		if (gw[i]->fqdn != NULL &&
		    X509_check_host(cert, gw[i]->fqdn, 0, HOST_FLAGS, NULL) == 1)
			return true;
	}
	if (n == 1 && gw[0]->pin != NULL && X509_cmp(cert, gw[0]->pin) != 0)
		snprintf(why, len, "certificate is not the one pinned for gateway %s (%s)",
		         gw[0]->name, gw[0]->certificate);
	else
		snprintf(why, len, "certificate does not name %s (gateway %s)",
		         gw[0]->fqdn ? gw[0]->fqdn : "-", gw[0]->name);
	return false;
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

static void
reject(struct um_sip *s, nua_t *nua, nua_handle_t *nh, const char *peer, const char *why)
{
	struct cc_field f[] = {CC_FSTR("peer", peer), CC_FSTR("reason", why)};

	cc_log_event(s->log, CC_LOG_WARNING, CC_EV_PEER_REJECTED, f, 2);
	um_metrics_peer_rejected(s->metrics);
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
		            SIPTAG_SUPPORTED_STR("timer"), TAG_END());
		um_metrics_response(s->metrics, 200);
	}
	nua_handle_destroy(nh);
}

static void
on_invite(struct um_sip *s, nua_t *nua, nua_handle_t *nh, sip_t const *sip)
{
	char peer[64], why[384], warning[512], *answer = NULL;
	const char *body = NULL;
	size_t len = 0;
	int port;

	if (!request_allowed(s, nua, peer, sizeof(peer), why, sizeof(why))) {
		reject(s, nua, nh, peer, why);
		nua_handle_destroy(nh);
		return;
	}
	if (sip != NULL && sip->sip_payload != NULL && sip->sip_payload->pl_len > 0) {
		body = sip->sip_payload->pl_data;
		len = sip->sip_payload->pl_len;
	}
	port = MEDIA_PORT_BASE + (int)((s->calls++ % 10000) * 2);
	if (!um_sdp_answer(s->cfg->mode, body, len, s->cfg->listen_host, port, &answer, why,
	                   sizeof(why))) {
		/* RFC 3261 section 20.43: 305 Incompatible media format; the text says why. */
		snprintf(warning, sizeof(warning), "305 umd \"%s\"", why);
		nua_respond(nh, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_THIS(nua),
		            SIPTAG_WARNING_STR(warning), TAG_END());
		um_metrics_response(s->metrics, 488);
		cc_log_message(s->log, CC_LOG_INFO, "INVITE from %s refused with 488: %s", peer,
		               why);
		return; /* the handle ends with the call state "terminated" */
	}
	nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua),
	            SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(answer),
	            SIPTAG_ALLOW_STR(ALLOW), TAG_END());
	um_metrics_response(s->metrics, 200);
	free(answer);
}

static void
event_cb(nua_event_t event, int status, char const *phrase, nua_t *nua, struct um_sip *s,
         nua_handle_t *nh, void *hmagic, sip_t const *sip, tagi_t tags[])
{
	int state = nua_callstate_init;

	(void)phrase;
	(void)hmagic;
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
		if (state == nua_callstate_ready)
			um_metrics_dialogs(s->metrics, +1);
		if (state == nua_callstate_terminated) {
			/* A dialog that was up (ready) is counted down once. */
			if (nh != NULL && nua_handle_magic(nh) == (void *)1)
				um_metrics_dialogs(s->metrics, -1);
			if (nh != NULL)
				nua_handle_destroy(nh);
			break;
		}
		if (state == nua_callstate_ready && nh != NULL)
			nua_handle_bind(nh, (void *)1);
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
	s->log = log;
	s->metrics = metrics;
	/* sips:host:port;transport=tls, or sip:host:port for UDP and TCP both. */
	snprintf(url, sizeof(url), "%s:%s%s%s:%d%s", tls ? "sips" : "sip", v6 ? "[" : "",
	         cfg->listen_host, v6 ? "]" : "", cfg->listen_port, tls ? ";transport=tls" : "");
	s->nua = nua_create(root, event_cb, s, NUTAG_URL(url),
	                    TAG_IF(tls, TPTAG_CERTIFICATE(certdir)),
	                    TAG_IF(tls, TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_IN)),
	                    TPTAG_IDLE((unsigned)cfg->idle_seconds * 1000U), NUTAG_MEDIA_ENABLE(0),
	                    NUTAG_APPL_METHOD("OPTIONS"), SIPTAG_ALLOW_STR(ALLOW),
	                    SIPTAG_SUPPORTED_STR("timer"), NUTAG_AUTOANSWER(0), NUTAG_AUTOACK(1),
	                    NUTAG_ENABLEMESSAGE(0), NUTAG_ENABLEMESSENGER(0),
	                    SIPTAG_USER_AGENT_STR("umd/0.1"), TAG_END());
	if (s->nua == NULL) {
		free(s);
		return um_seterr(UM_ERR_SIP, "cannot listen on %s (address in use, or not local)",
		                 url);
	}
	*out = s;
	return UM_OK;
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
	if (s->nua != NULL)
		nua_destroy(s->nua);
	free(s);
}

/*
 * umd's SIP side (sofia-sip's NUA): OPTIONS keep-alives answered 200 with Allow, Accept and
 * Supported; INVITE answered by the rules of the mode (sdp_check.h) and its dialog held until
 * BYE or CANCEL; requests from addresses no gateway entry lists refused with 403 (PeerRejected).
 * Certificates of TLS peers are checked during the handshake (tlshook.h). OPTIONS outside a
 * dialog are answered below nua, on nta's default leg, with the answer nua would give (sip.c).
 */
#ifndef UM_SIP_H
#define UM_SIP_H

#include <openssl/x509.h>
#include <sofia-sip/su_wait.h>

#include "certcore/log.h"
#include "config.h"
#include "error.h"
#include "metrics.h"

struct um_sip;

/*
 * A SIP message's limits: tens of KiB is plenty for SIP (a message with SDP is a few KiB); a
 * larger one is answered 413 and its connection closed, so a peer holds at most this much of
 * umd's memory per connection. A message that has not arrived whole within
 * UM_SIP_MESSAGE_SECONDS of its first byte ends its connection (TCP: sofia-sip's timer; TLS:
 * um_tls_message_watchdog), whatever idle_seconds says.
 */
#define UM_SIP_MAX_MESSAGE     65536
#define UM_SIP_MESSAGE_SECONDS 5

/* Binds the listener; `certdir` is sofia's certificate folder (NULL when unsecured). */
enum um_err um_sip_start(su_root_t *root, const struct um_config *cfg, const char *certdir,
                         struct cc_log *log, struct um_metrics *metrics,
                         struct um_sip **out) UM_WUR;
struct um_media;
struct um_greetings;
struct um_certs;

/*
 * The media engine calls get their media from, the greetings they hear and the certificates
 * (for the thumbprint a message records; NULL when unsecured). Borrowed: they outlive the
 * listener. Without them INVITEs get 503.
 */
void um_sip_set_media(struct um_sip *s, struct um_media *media, struct um_greetings *greetings,
                      struct um_certs *certs);
/* Logs what the media engine reported and the SIP thread has not taken yet (at stop). */
void um_sip_media_events(struct um_sip *s);
/* A reloaded configuration (gateways). The caller keeps `cfg` alive. */
void um_sip_set_config(struct um_sip *s, const struct um_config *cfg);
/* Starts a clean shutdown; su_root_break(root) follows when it is done. */
void um_sip_shutdown(struct um_sip *s);
void um_sip_free(struct um_sip *s);

/*
 * Whether a gateway entry of `cfg` accepts the peer at `peer` presenting `cert` (NULL: the
 * address alone). Used for requests here and for TLS peers (tlshook.h). false with `why`.
 */
/*
 * The gateway entry of `cfg` that accepts that peer (the first one, in the file's order), or
 * NULL with the reason in `why`. Borrowed from `cfg`.
 */
const struct um_gateway *um_gateway_match(const struct um_config *cfg, const struct sockaddr *peer,
                                          X509 *cert, char *why, size_t len);
bool um_gateway_accepts(const struct um_config *cfg, const struct sockaddr *peer, X509 *cert,
                        char *why, size_t len);

#endif

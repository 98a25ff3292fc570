/*
 * umd's configuration (README, "umd, the UM server"): [umd] and one [gateway NAME] section per
 * SIP gateway or IP-PBX, read with inih. Errors name file:line. UMD_MODE, UMD_LISTEN, UMD_FQDN
 * and UMD_LOG_FORMAT override the first four keys (containers).
 */
#ifndef UM_CONFIG_H
#define UM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <openssl/x509.h>

#include "certcore/log.h"
#include "error.h"
#include "voicemail/smtpconf.h"

#define UM_GREETING_DEFAULT "/var/lib/umedge/greetings/default.wav"
#define UM_SPOOL_DEFAULT    "/var/lib/umedge/spool"

enum um_mode { UM_MODE_UNSECURED, UM_MODE_SIPSECURED, UM_MODE_SECURED };

/*
 * The CA names umd lists in its TLS CertificateRequest (RFC 5246 section 7.4.4, RFC 8446
 * section 4.2.4): the store's own roots and the pinned gateways' issuers, none, or every root
 * it trusts (the system bundle included). Only a hint to the client: verification always uses
 * every trusted root.
 */
enum um_client_ca { UM_CLIENT_CA_STORE, UM_CLIENT_CA_NONE, UM_CLIENT_CA_ALL };

/* When no usable CRL of a gateway certificate's issuer is at hand: accept (soft) or refuse. */
enum um_revocation { UM_REVOCATION_SOFT, UM_REVOCATION_REQUIRE };

struct um_gateway {
	char *name;
	char **addresses; /* as written: IP literals or names */
	size_t naddresses;
	struct sockaddr_storage *addrs; /* resolved at load */
	size_t naddrs;
	char *fqdn;        /* its certificate must name this */
	char *certificate; /* pinned certificate file, or NULL */
	X509 *pin;         /* the pinned certificate, loaded */
	int line;          /* where its section starts */
};

struct um_config {
	char *path;
	enum um_mode mode;
	char *listen_host;
	int listen_port;
	char *fqdn; /* NULL: the host's FQDN */
	enum cc_log_format log_format;
	char *store;
	int renew_self_signed_days; /* 0: off */
	char *http_listen;          /* NULL or "": off */
	int idle_seconds;           /* connections idle this long are closed */
	int handshake_seconds;      /* a TLS handshake must finish within this */
	enum um_client_ca client_ca_names;
	int stall_seconds; /* /healthz fails when the SIP loop has not ticked for this long */
	enum um_revocation gateway_revocation;
	bool gateway_crl_fetch;  /* fetch gateways' CRLs from their distribution points */
	char *gateway_crl_proxy; /* HTTP proxy for those fetches; NULL: $http_proxy, if set */
	bool options_fast_path;  /* answer keep-alive OPTIONS below nua (sip.c); read at start */
	/* Media and voice messages (README, "umd, the UM server"). */
	char *media_address;                /* NULL: the listen host */
	int media_port_min, media_port_max; /* RTP even, RTCP odd */
	bool media_latching;
	int max_calls;
	char *greeting; /* the default greeting; greetings/USER.wav beside it wins */
	int max_message_seconds;
	int silence_seconds;
	char *spool;
	struct um_smtp_config *smtp; /* [smtp]; NULL: messages stay in the spool */
	struct um_gateway *gateways;
	size_t ngateways;
	char **errors; /* "file:line: message", when loading failed */
	size_t nerrors;
};

/*
 * Loads and checks a configuration. On CC_ERR-like failure (UM_ERR_CONFIG) *out still holds the
 * errors (every one found, not only the first) for the caller to print; free it either way.
 * `env` true applies the UMD_* environment overrides.
 */
enum um_err um_config_load(const char *path, bool env, struct um_config **out)
        __attribute__((warn_unused_result));
/*
 * As um_config_load, from the `len` bytes at `text` (they need not end in a NUL; a NUL byte ends
 * its line, as in a file); errors are given as `name`:line. The same parser as for a file:
 * gateways' addresses are resolved and pinned certificates read from their files.
 */
enum um_err um_config_parse(const char *name, const char *text, size_t len, bool env,
                            struct um_config **out) __attribute__((warn_unused_result));
void um_config_free(struct um_config *c);

const char *um_mode_name(enum um_mode m);
const char *um_client_ca_name(enum um_client_ca v);
const char *um_revocation_name(enum um_revocation v);

/* The gateways configured for a peer address (IPv4 or IPv6; port ignored). */
size_t um_config_gateways_for(const struct um_config *c, const struct sockaddr *sa,
                              const struct um_gateway **out, size_t max);

/* "1.2.3.4:5061" / "[::1]:5061" for a socket address; buf of at least 64 bytes. */
const char *um_addr_text(const struct sockaddr *sa, char *buf, size_t len);

#endif

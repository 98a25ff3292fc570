/* umd's configuration file (config.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/pem.h>

#include "certcore/store.h"
#include "config.h"

#define DEFAULT_LISTEN_TLS   "127.0.0.1:5061"
#define DEFAULT_LISTEN_PLAIN "127.0.0.1:5060"

struct load_ctx {
	struct um_config *c;
	FILE *f;         /* the file, or NULL: the text in buf */
	const char *buf; /* um_config_parse's text, len bytes, read from pos on */
	size_t len, pos;
	int line;              /* the line inih is on: counted by our reader */
	struct um_gateway *gw; /* the [gateway] section being read */
	bool in_umd;
	bool bad_section;
	bool mode_set, listen_set;
};

static void add_error(struct um_config *c, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
add_error(struct um_config *c, int line, const char *fmt, ...)
{
	char msg[512], *e, **ne;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0) {
		if (asprintf(&e, "%s:%d: %s", c->path, line, msg) < 0)
			return;
	} else if (asprintf(&e, "%s: %s", c->path, msg) < 0) {
		return;
	}
	if ((ne = realloc(c->errors, (c->nerrors + 1) * sizeof(*ne))) == NULL) {
		free(e);
		return;
	}
	c->errors = ne;
	ne[c->nerrors++] = e;
}

const char *
um_mode_name(enum um_mode m)
{
	switch (m) {
	case UM_MODE_UNSECURED:
		return "unsecured";
	case UM_MODE_SIPSECURED:
		return "sipsecured";
	case UM_MODE_SECURED:
		return "secured";
	}
	return "unknown";
}

const char *
um_client_ca_name(enum um_client_ca v)
{
	switch (v) {
	case UM_CLIENT_CA_STORE:
		return "store";
	case UM_CLIENT_CA_NONE:
		return "none";
	case UM_CLIENT_CA_ALL:
		return "all";
	}
	return "unknown";
}

const char *
um_revocation_name(enum um_revocation v)
{
	switch (v) {
	case UM_REVOCATION_SOFT:
		return "soft";
	case UM_REVOCATION_REQUIRE:
		return "require";
	}
	return "unknown";
}

static int
parse_client_ca(const char *v, enum um_client_ca *out)
{
	if (strcasecmp(v, "store") == 0)
		*out = UM_CLIENT_CA_STORE;
	else if (strcasecmp(v, "none") == 0)
		*out = UM_CLIENT_CA_NONE;
	else if (strcasecmp(v, "all") == 0)
		*out = UM_CLIENT_CA_ALL;
	else
		return -1;
	return 0;
}

static int
parse_revocation(const char *v, enum um_revocation *out)
{
	if (strcasecmp(v, "soft") == 0)
		*out = UM_REVOCATION_SOFT;
	else if (strcasecmp(v, "require") == 0)
		*out = UM_REVOCATION_REQUIRE;
	else
		return -1;
	return 0;
}

static int
parse_mode(const char *v, enum um_mode *m)
{
	if (strcasecmp(v, "unsecured") == 0)
		*m = UM_MODE_UNSECURED;
	else if (strcasecmp(v, "sipsecured") == 0)
		*m = UM_MODE_SIPSECURED;
	else if (strcasecmp(v, "secured") == 0)
		*m = UM_MODE_SECURED;
	else
		return -1;
	return 0;
}

/* "host:port", "[v6]:port". host is owned by the caller on success. */
static int
parse_hostport(const char *v, char **host, int *port)
{
	const char *colon, *h = v, *hend;
	char *end;
	long p;

	if (*v == '[') {
		if ((hend = strchr(v, ']')) == NULL || hend[1] != ':')
			return -1;
		h = v + 1;
		colon = hend + 1;
	} else {
		if ((colon = strrchr(v, ':')) == NULL || strchr(v, ':') != colon)
			return -1;
		hend = colon;
	}
	if (hend == h)
		return -1;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || p < 1 || p > 65535)
		return -1;
	if ((*host = strndup(h, (size_t)(hend - h))) == NULL)
		return -1;
	*port = (int)p;
	return 0;
}

static int
parse_int(const char *v, int lo, int hi, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi)
		return -1;
	*out = (int)n;
	return 0;
}

static int
set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (s == NULL)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

static bool
valid_fqdn(const char *s)
{
	size_t label = 0, i, n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || s[i] == '-') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* An HTTP proxy URL as OpenSSL's HTTP client takes it (OSSL_HTTP_get): http://host[:port]. */
static bool
valid_proxy(const char *v)
{
	char *host = NULL, *path = NULL, *query = NULL, *frag = NULL, *user = NULL;
	int ssl = 0, port = 0;
	bool ok;

	ok = strncasecmp(v, "http://", 7) == 0 &&
	     OSSL_HTTP_parse_url(v, &ssl, &user, &host, NULL, &port, &path, &query, &frag) == 1 &&
	     port > 0 && !ssl && (user == NULL || *user == '\0') && host != NULL && *host != '\0' &&
	     (query == NULL || *query == '\0') && (frag == NULL || *frag == '\0') &&
	     (path == NULL || strcmp(path, "/") == 0);
	OPENSSL_free(host);
	OPENSSL_free(path);
	OPENSSL_free(query);
	OPENSSL_free(frag);
	OPENSSL_free(user);
	ERR_clear_error();
	return ok;
}

/* media_ports: "LOW-HIGH", LOW even, at least one RTP/RTCP pair. */
static int
parse_ports(const char *v, int *lo, int *hi)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(v, &end, 10);
	if (end == v || *end != '-')
		return -1;
	v = end + 1;
	b = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || a < 1024 || b > 65535 || a % 2 != 0 ||
	    b < a + 1)
		return -1;
	*lo = (int)a;
	*hi = (int)b;
	return 0;
}

/*
 * The keys of umd's media and voice messages (README, "umd, the UM server"):
 * true when `name` is one of them (errors, if any, are added).
 */
static bool
media_key(struct load_ctx *x, const char *name, const char *v)
{
	struct um_config *c = x->c;
	unsigned char buf[sizeof(struct in6_addr)];

	if (strcmp(name, "media_address") == 0) {
		if (*v != '\0' && inet_pton(AF_INET, v, buf) != 1 &&
		    inet_pton(AF_INET6, v, buf) != 1)
			add_error(c, x->line, "media_address \"%s\": an IP address, or empty", v);
		else if (*v == '\0') {
			free(c->media_address);
			c->media_address = NULL;
		} else if (set_str(&c->media_address, v) == -1)
			add_error(c, x->line, "out of memory");
	} else if (strcmp(name, "media_ports") == 0) {
		if (parse_ports(v, &c->media_port_min, &c->media_port_max) == -1)
			add_error(c, x->line,
			          "media_ports \"%s\": LOW-HIGH, LOW even, 1024 to 65535, at least "
			          "two ports",
			          v);
	} else if (strcmp(name, "media_latching") == 0) {
		if (strcasecmp(v, "yes") == 0)
			c->media_latching = true;
		else if (strcasecmp(v, "no") == 0)
			c->media_latching = false;
		else
			add_error(c, x->line, "media_latching \"%s\": yes or no", v);
	} else if (strcmp(name, "max_calls") == 0) {
		if (parse_int(v, 1, 10000, &c->max_calls) == -1)
			add_error(c, x->line, "max_calls \"%s\": 1 to 10000", v);
	} else if (strcmp(name, "greeting") == 0) {
		if (*v == '\0')
			add_error(c, x->line, "greeting is empty");
		else if (set_str(&c->greeting, v) == -1)
			add_error(c, x->line, "out of memory");
	} else if (strcmp(name, "max_message_seconds") == 0) {
		if (parse_int(v, 5, 3600, &c->max_message_seconds) == -1)
			add_error(c, x->line, "max_message_seconds \"%s\": 5 to 3600", v);
	} else if (strcmp(name, "silence_seconds") == 0) {
		if (parse_int(v, 1, 600, &c->silence_seconds) == -1)
			add_error(c, x->line, "silence_seconds \"%s\": 1 to 600", v);
	} else if (strcmp(name, "spool") == 0) {
		if (*v == '\0')
			add_error(c, x->line, "spool is empty");
		else if (set_str(&c->spool, v) == -1)
			add_error(c, x->line, "out of memory");
	} else {
		return false;
	}
	return true;
}

static int
umd_key(struct load_ctx *x, const char *name, const char *v)
{
	struct um_config *c = x->c;
	char *host = NULL;
	int port;

	if (strcmp(name, "mode") == 0) {
		if (parse_mode(v, &c->mode) == -1)
			add_error(c, x->line, "mode \"%s\": unsecured, sipsecured or secured", v);
		x->mode_set = true;
	} else if (strcmp(name, "listen") == 0) {
		if (parse_hostport(v, &host, &port) == -1) {
			add_error(c, x->line, "listen \"%s\": host:port expected", v);
		} else {
			free(c->listen_host);
			c->listen_host = host;
			c->listen_port = port;
		}
		x->listen_set = true;
	} else if (strcmp(name, "fqdn") == 0) {
		if (!valid_fqdn(v))
			add_error(c, x->line, "fqdn \"%s\" is not a host name", v);
		else if (set_str(&c->fqdn, v) == -1)
			return 0;
	} else if (strcmp(name, "log_format") == 0) {
		if (cc_log_format_parse(v, &c->log_format) != CC_OK)
			add_error(c, x->line, "log_format \"%s\": text or json", v);
	} else if (strcmp(name, "store") == 0) {
		if (*v == '\0')
			add_error(c, x->line, "store is empty");
		else if (set_str(&c->store, v) == -1)
			return 0;
	} else if (strcmp(name, "renew_self_signed_days") == 0) {
		if (parse_int(v, 0, 365, &c->renew_self_signed_days) == -1)
			add_error(c, x->line, "renew_self_signed_days \"%s\": 0 to 365", v);
	} else if (strcmp(name, "http_listen") == 0) {
		if (*v != '\0' && parse_hostport(v, &host, &port) == -1)
			add_error(c, x->line, "http_listen \"%s\": host:port, or empty for none",
			          v);
		free(host);
		if (set_str(&c->http_listen, v) == -1)
			return 0;
	} else if (strcmp(name, "idle_seconds") == 0) {
		if (parse_int(v, 5, 86400, &c->idle_seconds) == -1)
			add_error(c, x->line, "idle_seconds \"%s\": 5 to 86400", v);
	} else if (strcmp(name, "handshake_seconds") == 0) {
		if (parse_int(v, 1, 300, &c->handshake_seconds) == -1)
			add_error(c, x->line, "handshake_seconds \"%s\": 1 to 300", v);
	} else if (strcmp(name, "client_ca_names") == 0) {
		if (parse_client_ca(v, &c->client_ca_names) == -1)
			add_error(c, x->line, "client_ca_names \"%s\": store, none or all", v);
	} else if (strcmp(name, "stall_seconds") == 0) {
		if (parse_int(v, 2, 300, &c->stall_seconds) == -1)
			add_error(c, x->line, "stall_seconds \"%s\": 2 to 300", v);
	} else if (strcmp(name, "gateway_revocation") == 0) {
		if (parse_revocation(v, &c->gateway_revocation) == -1)
			add_error(c, x->line, "gateway_revocation \"%s\": soft or require", v);
	} else if (strcmp(name, "gateway_crl_fetch") == 0) {
		if (strcasecmp(v, "yes") == 0)
			c->gateway_crl_fetch = true;
		else if (strcasecmp(v, "no") == 0)
			c->gateway_crl_fetch = false;
		else
			add_error(c, x->line, "gateway_crl_fetch \"%s\": yes or no", v);
	} else if (strcmp(name, "options_fast_path") == 0) {
		if (strcasecmp(v, "yes") == 0)
			c->options_fast_path = true;
		else if (strcasecmp(v, "no") == 0)
			c->options_fast_path = false;
		else
			add_error(c, x->line, "options_fast_path \"%s\": yes or no", v);
	} else if (strcmp(name, "gateway_crl_proxy") == 0) {
		if (*v == '\0') {
			free(c->gateway_crl_proxy);
			c->gateway_crl_proxy = NULL;
		} else if (!valid_proxy(v)) {
			add_error(c, x->line,
			          "gateway_crl_proxy \"%s\": http://host[:port], or empty for none",
			          v);
		} else if (set_str(&c->gateway_crl_proxy, v) == -1) {
			return 0;
		}
	} else if (!media_key(x, name, v)) {
		add_error(c, x->line, "unknown key \"%s\" in [umd]", name);
	}
	return 1;
}

static int
gateway_key(struct load_ctx *x, const char *name, const char *v)
{
	struct um_gateway *g = x->gw;
	char *copy, *p, *tok, **na;

	if (strcmp(name, "address") == 0) {
		if ((copy = strdup(v)) == NULL)
			return 0;
		for (p = copy; *p != '\0';) {
			while (*p == ',' || isspace((unsigned char)*p))
				*p++ = '\0';
			if (*p == '\0')
				break;
			tok = p;
			while (*p != '\0' && *p != ',' && !isspace((unsigned char)*p))
				p++;
			if (*p != '\0')
				*p++ = '\0';
			if ((na = realloc(g->addresses, (g->naddresses + 1) * sizeof(*na))) ==
			            NULL ||
			    (na[g->naddresses] = strdup(tok)) == NULL) {
				if (na != NULL)
					g->addresses = na;
				free(copy);
				return 0;
			}
			g->addresses = na;
			g->naddresses++;
		}
		free(copy);
	} else if (strcmp(name, "fqdn") == 0) {
		if (!valid_fqdn(v))
			add_error(x->c, x->line, "gateway %s: fqdn \"%s\" is not a host name",
			          g->name, v);
		else if (set_str(&g->fqdn, v) == -1)
			return 0;
	} else if (strcmp(name, "certificate") == 0) {
		if (set_str(&g->certificate, v) == -1)
			return 0;
	} else {
		add_error(x->c, x->line, "unknown key \"%s\" in [gateway %s]", name, g->name);
	}
	return 1;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *x = user;
	struct um_config *c = x->c;
	struct um_gateway *ng;

	if (strcmp(section, "umd") == 0)
		return umd_key(x, name, value);
	if (strncmp(section, "gateway ", 8) == 0 && section[8] != '\0') {
		if (x->gw == NULL || strcmp(x->gw->name, section + 8) != 0) {
			size_t i;

			for (i = 0; i < c->ngateways; i++) {
				if (strcmp(c->gateways[i].name, section + 8) == 0) {
					add_error(c, x->line, "[gateway %s] appears twice",
					          section + 8);
					break;
				}
			}
			if ((ng = realloc(c->gateways, (c->ngateways + 1) * sizeof(*ng))) == NULL)
				return 0;
			c->gateways = ng;
			x->gw = &ng[c->ngateways];
			memset(x->gw, 0, sizeof(*x->gw));
			x->gw->line = x->line;
			if ((x->gw->name = strdup(section + 8)) == NULL)
				return 0;
			c->ngateways++;
		}
		return gateway_key(x, name, value);
	}
	if (strcmp(section, "smtp") == 0) {
		char err[512];
		int rc;

		if (c->smtp == NULL && (c->smtp = um_smtp_config_new(x->line)) == NULL)
			return 0;
		if ((rc = um_smtp_config_key(c->smtp, name, value, err, sizeof(err))) == 1)
			add_error(c, x->line, "unknown key \"%s\" in [smtp]", name);
		else if (rc == -1)
			add_error(c, x->line, "%s", err);
		return 1;
	}
	add_error(c, x->line, "unknown section [%s]", section);
	return 1;
}

static void
smtp_error(void *arg, const char *msg)
{
	struct um_config *c = arg;

	add_error(c, c->smtp->line, "%s", msg);
}

/*
 * fgets(3) over the text um_config_parse was given: at most num - 1 bytes, up to and including
 * a newline; NULL at the end. A file and the same bytes in memory read alike.
 */
static char *
mem_gets(char *str, int num, struct load_ctx *x)
{
	size_t n = 0;

	if (num <= 0 || x->pos >= x->len)
		return NULL;
	while (n + 1 < (size_t)num && x->pos < x->len) {
		str[n] = x->buf[x->pos++];
		if (str[n++] == '\n')
			break;
	}
	str[n] = '\0';
	return str;
}

/* inih's line reader, counting lines so errors can name them (Debian's inih has no LINENO). */
static char *
reader(char *str, int num, void *stream)
{
	struct load_ctx *x = stream;
	char *r = x->f != NULL ? fgets(str, num, x->f) : mem_gets(str, num, x);

	if (r != NULL)
		x->line++;
	return r;
}

static void
resolve_gateways(struct um_config *c)
{
	struct addrinfo hints, *res, *ai;
	struct um_gateway *g;
	size_t i, j;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	for (i = 0; i < c->ngateways; i++) {
		g = &c->gateways[i];
		if (g->naddresses == 0)
			add_error(c, g->line, "gateway %s: no address", g->name);
		if (g->fqdn == NULL && c->mode != UM_MODE_UNSECURED)
			add_error(c, g->line, "gateway %s: no fqdn (its certificate must name one)",
			          g->name);
		for (j = 0; j < g->naddresses; j++) {
			if ((rc = getaddrinfo(g->addresses[j], NULL, &hints, &res)) != 0) {
				add_error(c, g->line, "gateway %s: address \"%s\": %s", g->name,
				          g->addresses[j], gai_strerror(rc));
				continue;
			}
			for (ai = res; ai != NULL; ai = ai->ai_next) {
				struct sockaddr_storage *na =
				        realloc(g->addrs, (g->naddrs + 1) * sizeof(*na));

				if (na == NULL)
					break;
				g->addrs = na;
				memset(&na[g->naddrs], 0, sizeof(na[0]));
				memcpy(&na[g->naddrs], ai->ai_addr, ai->ai_addrlen);
				g->naddrs++;
			}
			freeaddrinfo(res);
		}
		if (g->certificate != NULL) {
			FILE *f = fopen(g->certificate, "r");

			if (f == NULL) {
				add_error(c, g->line, "gateway %s: certificate %s: %s", g->name,
				          g->certificate, strerror(errno));
				continue;
			}
			g->pin = PEM_read_X509(f, NULL, NULL, NULL);
			fclose(f);
			if (g->pin == NULL) {
				unsigned long e = ERR_get_error();

				add_error(c, g->line, "gateway %s: certificate %s: %s", g->name,
				          g->certificate,
				          ERR_reason_error_string(e) ? ERR_reason_error_string(e)
				                                     : "not a PEM certificate");
				ERR_clear_error();
			}
		}
	}
}

static void
apply_env(struct um_config *c)
{
	const char *v;
	char *host = NULL;
	int port;

	if ((v = getenv("UMD_MODE")) != NULL && *v != '\0' && parse_mode(v, &c->mode) == -1)
		add_error(c, 0, "UMD_MODE \"%s\": unsecured, sipsecured or secured", v);
	if ((v = getenv("UMD_LISTEN")) != NULL && *v != '\0') {
		if (parse_hostport(v, &host, &port) == -1) {
			add_error(c, 0, "UMD_LISTEN \"%s\": host:port expected", v);
		} else {
			free(c->listen_host);
			c->listen_host = host;
			c->listen_port = port;
		}
	}
	if ((v = getenv("UMD_FQDN")) != NULL && *v != '\0') {
		if (!valid_fqdn(v))
			add_error(c, 0, "UMD_FQDN \"%s\" is not a host name", v);
		else
			(void)set_str(&c->fqdn, v);
	}
	if ((v = getenv("UMD_LOG_FORMAT")) != NULL && *v != '\0' &&
	    cc_log_format_parse(v, &c->log_format) != CC_OK)
		add_error(c, 0, "UMD_LOG_FORMAT \"%s\": text or json", v);
}

void
um_config_free(struct um_config *c)
{
	size_t i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->ngateways; i++) {
		struct um_gateway *g = &c->gateways[i];

		free(g->name);
		for (j = 0; j < g->naddresses; j++)
			free(g->addresses[j]);
		free(g->addresses);
		free(g->addrs);
		free(g->fqdn);
		free(g->certificate);
		X509_free(g->pin);
	}
	free(c->gateways);
	for (i = 0; i < c->nerrors; i++)
		free(c->errors[i]);
	free(c->errors);
	free(c->path);
	free(c->listen_host);
	free(c->fqdn);
	free(c->store);
	free(c->media_address);
	free(c->greeting);
	free(c->spool);
	um_smtp_config_free(c->smtp);
	free(c->gateway_crl_proxy);
	free(c->http_listen);
	free(c);
}

/* A configuration with every default, and the reader's context for it. */
static enum um_err
load_start(const char *name, struct load_ctx *x, struct um_config **out)
{
	struct um_config *c;

	*out = NULL;
	memset(x, 0, sizeof(*x));
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(name)) == NULL) {
		free(c);
		return um_seterr(UM_ERR_NOMEM, "config");
	}
	*out = c;
	c->mode = UM_MODE_SIPSECURED;
	c->log_format = CC_LOG_TEXT;
	c->renew_self_signed_days = 30;
	c->idle_seconds = 300;
	c->handshake_seconds = 10;
	c->client_ca_names = UM_CLIENT_CA_STORE;
	c->stall_seconds = 5;
	c->gateway_revocation = UM_REVOCATION_SOFT;
	c->gateway_crl_fetch = true;
	c->options_fast_path = true;
	c->media_port_min = 40000;
	c->media_port_max = 40999;
	c->max_calls = 500;
	c->max_message_seconds = 300;
	c->silence_seconds = 10;
	if ((c->store = strdup(CC_STORE_DEFAULT_PATH)) == NULL ||
	    (c->greeting = strdup(UM_GREETING_DEFAULT)) == NULL ||
	    (c->spool = strdup(UM_SPOOL_DEFAULT)) == NULL ||
	    (c->http_listen = strdup("127.0.0.1:9561")) == NULL)
		return um_seterr(UM_ERR_NOMEM, "config");
	x->c = c;
	return UM_OK;
}

/* Parses what x reads (a file or text), then applies the environment and checks the whole. */
static enum um_err
load_finish(struct load_ctx *x, bool env)
{
	struct um_config *c = x->c;
	int rc;

	rc = ini_parse_stream(reader, x, handler, x);
	if (rc > 0)
		add_error(c, rc, "not INI syntax");
	else if (rc < 0)
		return um_seterr(UM_ERR_NOMEM, "reading %s", c->path);
	if (env)
		apply_env(c);
	if (c->listen_host == NULL &&
	    parse_hostport(c->mode == UM_MODE_UNSECURED ? DEFAULT_LISTEN_PLAIN : DEFAULT_LISTEN_TLS,
	                   &c->listen_host, &c->listen_port) == -1)
		return um_seterr(UM_ERR_NOMEM, "config");
	resolve_gateways(c);
	if (c->smtp != NULL)
		(void)um_smtp_config_check(c->smtp, smtp_error, c);
	if (c->nerrors > 0)
		return um_seterr(UM_ERR_CONFIG, "%s", c->errors[0]);
	return UM_OK;
}

enum um_err
um_config_load(const char *path, bool env, struct um_config **out)
{
	struct load_ctx x;
	enum um_err r;

	if ((r = load_start(path, &x, out)) != UM_OK)
		return r;
	if ((x.f = fopen(path, "r")) == NULL)
		return um_seterr(UM_ERR_CONFIG, "%s: %s", path, strerror(errno));
	r = load_finish(&x, env);
	fclose(x.f);
	return r;
}

enum um_err
um_config_parse(const char *name, const char *text, size_t len, bool env, struct um_config **out)
{
	struct load_ctx x;
	enum um_err r;

	if ((r = load_start(name, &x, out)) != UM_OK)
		return r;
	x.buf = text;
	x.len = len;
	return load_finish(&x, env);
}

static bool
same_host(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family == AF_INET && b->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6 && b->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		              &((const struct sockaddr_in6 *)b)->sin6_addr,
		              sizeof(struct in6_addr)) == 0;
	/* An IPv4 peer seen on a dual-stack socket as ::ffff:a.b.c.d. */
	if (a->sa_family == AF_INET6 && b->ss_family == AF_INET) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)a)->sin6_addr;

		return IN6_IS_ADDR_V4MAPPED(v6) &&
		       memcmp(&v6->s6_addr[12], &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	}
	return false;
}

size_t
um_config_gateways_for(const struct um_config *c, const struct sockaddr *sa,
                       const struct um_gateway **out, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; sa != NULL && i < c->ngateways && n < max; i++) {
		for (j = 0; j < c->gateways[i].naddrs; j++) {
			if (same_host(sa, &c->gateways[i].addrs[j])) {
				out[n++] = &c->gateways[i];
				break;
			}
		}
	}
	return n;
}

const char *
um_addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa == NULL) {
		snprintf(buf, len, "unknown");
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "unknown");
	}
	return buf;
}

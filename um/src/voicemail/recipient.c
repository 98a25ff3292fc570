/* Who gets a voice message: the called number mapped to a mailbox address (recipient.h). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <ldap.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include "certcore/secret.h"
#include "certcore/store.h"
#include "certcore/trust.h"
#include "voicemail/recipient.h"

/* RFC 5322 section 3.2.3: the characters of an atom besides letters and digits. */
#define ATEXT_SPECIALS "!#$%&'*+-/=?^_`{|}~"

struct um_recipients {
	char *recipient;
	char *url;
	bool starttls; /* ldap://: StartTLS before anything else */
	char *base;
	char *filter;
	char *bind_dn;
	char *password_file;
	char *fallback;
	char *store;
	int timeout;
	LDAP *ld; /* the kept connection, bound; NULL until needed and after a failure */
	unsigned connects;
	/*
	 * The handshake's deadline. libldap 2.5 with GnuTLS does not keep LDAP_OPT_NETWORK_TIMEOUT
	 * during the TLS handshake of ldaps://: a server that takes the TCP connection and then
	 * says nothing (a hung slapd) makes it read a non-blocking socket in a loop, for good, at
	 * full CPU (seen with strace: read() = EAGAIN, no poll). A watchdog thread shuts the socket
	 * down at the deadline; libldap hands over the socket through a connect callback
	 * (LDAP_OPT_CONNECT_CB). `mu` guards `fd`, `done` and `fired`.
	 */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;                   /* the socket being connected; -1 when none */
	bool done;                /* the handshake is over: the watchdog leaves */
	bool fired;               /* the deadline passed and the socket was shut down */
	struct timespec deadline; /* CLOCK_MONOTONIC */
	struct ldap_conncb cb;    /* lives as long as the handles it is set on */
};

static void setwhy(char *why, size_t whylen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
setwhy(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/*
 * `len` bytes of `s` as printable ASCII for a log line: other bytes as \xNN (a CR, LF or NUL
 * from a SIP header or a directory value never reaches a log), cut with "..." when too long.
 */
static void
printable(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0, n;
	char one[8];

	if (outlen == 0)
		return;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f) {
			one[0] = (char)c;
			n = 1;
		} else {
			n = (size_t)snprintf(one, sizeof(one), "\\x%02X", c);
		}
		/* room for this piece, and for "..." and the NUL should another one follow */
		if (o + n + 4 > outlen && (i + 1 < len || o + n + 1 > outlen)) {
			if (o + 4 <= outlen) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, one, n);
		o += n;
	}
	out[o] = '\0';
}

static bool
set(const char *s)
{
	return s != NULL && *s != '\0';
}

const char *
um_recipient_how_name(enum um_recipient_how how)
{
	switch (how) {
	case UM_RECIPIENT_TEMPLATE:
		return "template";
	case UM_RECIPIENT_DIRECTORY:
		return "directory";
	case UM_RECIPIENT_FALLBACK:
		return "fallback";
	}
	return "unknown";
}

bool
um_recipient_user_part(const char *uri, char *user, size_t len, char *why, size_t whylen)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	url_t *u;
	char shown[96];
	size_t n;
	bool ok = false;

	if (len > 0)
		user[0] = '\0';
	if (!set(uri)) {
		setwhy(why, whylen, "no called party");
		return false;
	}
	printable(uri, strlen(uri), shown, sizeof(shown));
	/* sofia-sip's url_d (RFC 3261 section 19.1.1): escapes of unreserved characters undone */
	u = url_make(home, uri);
	if (u == NULL ||
	    (u->url_type != url_sip && u->url_type != url_sips && u->url_type != url_tel)) {
		setwhy(why, whylen, "the called party %s is not a sip:, sips: or tel: URI", shown);
		goto out;
	}
	/* a telephone number's parameters (RFC 3966 section 3, ";phone-context=...") are not
	 * part of the number looked up */
	n = u->url_user != NULL ? strcspn(u->url_user, ";") : 0;
	if (n == 0) {
		setwhy(why, whylen, "the called party %s has no user part", shown);
		goto out;
	}
	if (n >= len) {
		setwhy(why, whylen, "the user part of %s is longer than %zu characters", shown,
		       len - 1);
		goto out;
	}
	memcpy(user, u->url_user, n);
	user[n] = '\0';
	ok = true;
out:
	su_home_deinit(home);
	return ok;
}

bool
um_recipient_user_safe(const char *user, char *why, size_t whylen)
{
	char shown[96];
	size_t i, n = user != NULL ? strlen(user) : 0;

	if (n == 0) {
		setwhy(why, whylen, "empty user part");
		return false;
	}
	printable(user, n, shown, sizeof(shown));
	if (n > UM_RECIPIENT_USER_MAX) {
		setwhy(why, whylen, "user part %s is longer than %d characters", shown,
		       UM_RECIPIENT_USER_MAX);
		return false;
	}
	/* a conservative set: what a number or a plain mailbox name holds, nothing an address or
	 * an SMTP command line gives a meaning to (@, quotes, spaces, CR, LF, brackets) */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)user[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '+' || c == '-')
			continue;
		setwhy(why, whylen,
		       "user part %s holds the character 0x%02X, outside A-Z a-z 0-9 . _ + -",
		       shown, c);
		return false;
	}
	return true;
}

/* A directory search takes any printable ASCII (the filter escapes it) but '%', an escape
 * sofia-sip kept because SIP itself reserves the character. */
static bool
user_searchable(const char *user, char *why, size_t whylen)
{
	char shown[96];
	size_t i, n = strlen(user);

	printable(user, n, shown, sizeof(shown));
	if (n == 0 || n > UM_RECIPIENT_USER_MAX) {
		setwhy(why, whylen, "user part %s is empty or longer than %d characters", shown,
		       UM_RECIPIENT_USER_MAX);
		return false;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)user[i];

		if (c <= 0x20 || c >= 0x7f || c == '%') {
			setwhy(why, whylen, "user part %s holds the character 0x%02X", shown, c);
			return false;
		}
	}
	return true;
}

static bool
is_atext(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr(ATEXT_SPECIALS, c) != NULL);
}

static bool
is_ldh(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

bool
um_recipient_address_valid(const char *addr, size_t len, char *why, size_t whylen)
{
	size_t i, at = 0, nat = 0, label;
	unsigned char c;

	if (addr == NULL || len == 0) {
		setwhy(why, whylen, "is empty");
		return false;
	}
	if (len > UM_RECIPIENT_ADDRESS_MAX) {
		setwhy(why, whylen, "is longer than %d octets", UM_RECIPIENT_ADDRESS_MAX);
		return false;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)addr[i];
		if (c == '\0') {
			setwhy(why, whylen, "holds a NUL byte");
			return false;
		}
		if (c == '\r' || c == '\n') {
			setwhy(why, whylen, "holds a line break");
			return false;
		}
		if (c < 0x20 || c == 0x7f) {
			setwhy(why, whylen, "holds the control character 0x%02X", c);
			return false;
		}
		if (c >= 0x80) {
			setwhy(why, whylen,
			       "holds a non-ASCII byte (internationalized addresses "
			       "are not taken)");
			return false;
		}
		if (c == ' ') {
			setwhy(why, whylen, "holds a space");
			return false;
		}
		if (c == '"') {
			setwhy(why, whylen, "holds a quote (quoted local parts are not taken)");
			return false;
		}
		if (c == '@') {
			at = i;
			nat++;
		}
	}
	if (nat != 1) {
		setwhy(why, whylen, nat == 0 ? "has no @" : "has more than one @");
		return false;
	}
	if (at == 0) {
		setwhy(why, whylen, "has an empty local part");
		return false;
	}
	if (at > UM_RECIPIENT_LOCAL_MAX) {
		setwhy(why, whylen, "has a local part longer than %d octets",
		       UM_RECIPIENT_LOCAL_MAX);
		return false;
	}
	/* dot-atom (RFC 5322 section 3.2.3): atoms of atext joined by single dots */
	for (i = 0; i < at; i++) {
		c = (unsigned char)addr[i];
		if (c == '.') {
			if (i == 0 || i + 1 == at || addr[i + 1] == '.') {
				setwhy(why, whylen,
				       "has a leading, trailing or double dot in its local part");
				return false;
			}
		} else if (!is_atext(c)) {
			setwhy(why, whylen, "has '%c' in its local part", c);
			return false;
		}
	}
	if (at + 1 == len) {
		setwhy(why, whylen, "has no domain");
		return false;
	}
	if (addr[at + 1] == '[') {
		setwhy(why, whylen, "has an address literal for a domain (not taken)");
		return false;
	}
	/* the domain: LDH labels of 1 to 63 characters, no hyphen at either end (RFC 1035
	 * section 2.3.1, RFC 5321 section 4.1.2) */
	label = 0;
	for (i = at + 1; i <= len; i++) {
		c = i < len ? (unsigned char)addr[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63) {
				setwhy(why, whylen,
				       "has an empty domain label or one longer than 63 "
				       "characters");
				return false;
			}
			if (addr[i - 1] == '-' || addr[i - label] == '-') {
				setwhy(why, whylen,
				       "has a domain label starting or ending with '-'");
				return false;
			}
			label = 0;
		} else if (!is_ldh(c)) {
			setwhy(why, whylen, "has '%c' in its domain", c);
			return false;
		} else {
			label++;
		}
	}
	return true;
}

/* Whether a template uses %u (%%u is a percent and a u). */
static bool
uses_user(const char *tmpl)
{
	const char *p;

	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		if (p[1] == 'u')
			return true;
		if (p[1] == '%')
			p++;
	}
	return false;
}

/*
 * %u and %% of `tmpl` replaced into `out` (`len` bytes, or a NULL `out` to measure: *need
 * receives the length without the NUL).
 */
static enum um_err
expand(const char *tmpl, const char *value, char *out, size_t len, size_t *need)
{
	const char *p, *piece;
	size_t o = 0, n, vlen = strlen(value);

	if (out != NULL && len > 0)
		out[0] = '\0';
	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '%') {
			piece = p;
			n = 1;
		} else if (p[1] == 'u') {
			piece = value;
			n = vlen;
			p++;
		} else if (p[1] == '%') {
			piece = p;
			n = 1;
			p++;
		} else {
			if (p[1] == '\0')
				return um_seterr(UM_ERR_CONFIG, "a lone %% ends \"%s\"", tmpl);
			return um_seterr(
			        UM_ERR_CONFIG,
			        "%%%c in \"%s\": only %%u (the user part) and %%%% are known", p[1],
			        tmpl);
		}
		if (out != NULL) {
			if (o + n >= len) {
				out[0] = '\0';
				return um_seterr(UM_ERR_INVAL, "\"%s\" expanded is longer than %zu",
				                 tmpl, len - 1);
			}
			memcpy(out + o, piece, n);
		}
		o += n;
	}
	if (out != NULL)
		out[o] = '\0';
	if (need != NULL)
		*need = o;
	return UM_OK;
}

enum um_err
um_recipient_expand(const char *tmpl, const char *user, char *out, size_t len)
{
	if (tmpl == NULL || user == NULL || out == NULL || len == 0)
		return um_seterr(UM_ERR_INVAL, "um_recipient_expand: missing argument");
	return expand(tmpl, user, out, len, NULL);
}

enum um_err
um_recipient_filter(const char *tmpl, const char *user, char **out)
{
	struct berval in, esc = {0, NULL};
	enum um_err e;
	size_t need = 0;
	char *f = NULL;

	*out = NULL;
	if (tmpl == NULL || user == NULL)
		return um_seterr(UM_ERR_INVAL, "um_recipient_filter: missing argument");
	in.bv_val = (char *)user;
	in.bv_len = strlen(user);
	/* RFC 4515 section 3: the assertion value with *, (, ), \ and NUL as \XX */
	if (ldap_bv2escaped_filter_value(&in, &esc) != 0 || esc.bv_val == NULL)
		return um_seterr(UM_ERR_NOMEM, "escaping a filter value");
	if ((e = expand(tmpl, esc.bv_val, NULL, 0, &need)) != UM_OK)
		goto out;
	if ((f = malloc(need + 1)) == NULL) {
		e = um_seterr(UM_ERR_NOMEM, "filter");
		goto out;
	}
	if ((e = expand(tmpl, esc.bv_val, f, need + 1, NULL)) != UM_OK)
		goto out;
	*out = f;
	f = NULL;
	e = UM_OK;
out:
	free(f);
	ber_memfree(esc.bv_val);
	return e;
}

/* Closes the kept connection (after a failure: the next lookup connects again). */
static void
drop(struct um_recipients *r)
{
	if (r->ld != NULL)
		ldap_unbind_ext(r->ld, NULL, NULL);
	r->ld = NULL;
}

void
um_recipients_free(struct um_recipients *r)
{
	if (r == NULL)
		return;
	drop(r);
	free(r->recipient);
	free(r->url);
	free(r->base);
	free(r->filter);
	free(r->bind_dn);
	free(r->password_file);
	free(r->fallback);
	free(r->store);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

unsigned
um_recipients_connects(const struct um_recipients *r)
{
	return r->connects;
}

static enum um_err
watch_init(struct um_recipients *r)
{
	pthread_condattr_t ca;

	r->fd = -1;
	if (pthread_condattr_init(&ca) != 0)
		return um_seterr(UM_ERR_NOMEM, "condition attributes");
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&r->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		return um_seterr(UM_ERR_NOMEM, "condition variable");
	}
	pthread_condattr_destroy(&ca);
	if (pthread_mutex_init(&r->mu, NULL) != 0) {
		pthread_cond_destroy(&r->cv);
		return um_seterr(UM_ERR_NOMEM, "mutex");
	}
	return UM_OK;
}

static bool
dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!set(s))
		return true;
	return (*out = strdup(s)) != NULL;
}

/* Checks the directory keys; sets r->starttls. */
static enum um_err
check_directory(struct um_recipients *r)
{
	LDAPURLDesc *u = NULL;
	enum um_err e = UM_ERR_CONFIG;
	enum cc_err ce;
	char *pw = NULL, detail[512];
	size_t n;

	if (ldap_url_parse(r->url, &u) != LDAP_URL_SUCCESS) {
		e = um_seterr(UM_ERR_CONFIG, "directory_url %s is not an LDAP URL", r->url);
		goto out;
	}
	if (strcasecmp(u->lud_scheme, "ldaps") == 0) {
		r->starttls = false;
	} else if (strcasecmp(u->lud_scheme, "ldap") == 0) {
		r->starttls = true;
	} else {
		/* never plain text: ldapi:// and anything else are refused */
		e = um_seterr(UM_ERR_CONFIG,
		              "directory_url %s: the scheme must be ldaps or ldap "
		              "(with StartTLS)",
		              r->url);
		goto out;
	}
	/* the certificate must name the host: there has to be one */
	if (!set(u->lud_host)) {
		e = um_seterr(UM_ERR_CONFIG, "directory_url %s names no host", r->url);
		goto out;
	}
	if (r->base == NULL) {
		e = um_seterr(UM_ERR_CONFIG, "directory_url needs directory_base");
		goto out;
	}
	n = strlen(r->filter);
	if (r->filter[0] != '(' || r->filter[n - 1] != ')' || !uses_user(r->filter)) {
		e = um_seterr(UM_ERR_CONFIG,
		              "directory_filter \"%s\" must be one parenthesized filter using %%u",
		              r->filter);
		goto out;
	}
	if ((e = expand(r->filter, "x", NULL, 0, NULL)) != UM_OK) {
		snprintf(detail, sizeof(detail), "%s", um_errdetail());
		e = um_seterr(UM_ERR_CONFIG, "directory_filter: %s", detail);
		goto out;
	}
	if (r->password_file != NULL && r->bind_dn == NULL) {
		e = um_seterr(UM_ERR_CONFIG, "directory_password_file without directory_bind_dn");
		goto out;
	}
	if (r->bind_dn != NULL) {
		if (r->password_file == NULL) {
			e = um_seterr(UM_ERR_CONFIG,
			              "directory_bind_dn needs directory_password_file");
			goto out;
		}
		/* read once now so that a bad file stops umd at start; read again at each bind,
		 * so a changed password needs no restart */
		if ((ce = cc_secret_read_file(r->password_file, &pw)) != CC_OK) {
			e = um_seterr(UM_ERR_CONFIG, "directory_password_file: %s: %s",
			              cc_strerror(ce), cc_errdetail());
			goto out;
		}
	}
	if (r->store == NULL) {
		e = um_seterr(UM_ERR_CONFIG,
		              "the directory needs umd's store: its roots verify the directory");
		goto out;
	}
	e = UM_OK;
out:
	cc_secret_free(pw);
	if (u != NULL)
		ldap_free_urldesc(u);
	return e;
}

enum um_err
um_recipients_new(const struct um_recipient_conf *conf, struct um_recipients **out)
{
	struct um_recipients *r = NULL;
	enum um_err e = UM_ERR_NOMEM;
	char addr[UM_RECIPIENT_ADDRESS_MAX + 1], why[256];

	*out = NULL;
	if (conf == NULL)
		return um_seterr(UM_ERR_INVAL, "no recipient configuration");
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		e = um_seterr(UM_ERR_NOMEM, "recipient configuration");
		goto out;
	}
	if ((e = watch_init(r)) != UM_OK) {
		free(r);
		r = NULL;
		goto out;
	}
	if (!dup_opt(conf->recipient, &r->recipient) || !dup_opt(conf->directory_url, &r->url) ||
	    !dup_opt(conf->directory_base, &r->base) ||
	    !dup_opt(set(conf->directory_filter) ? conf->directory_filter : UM_RECIPIENT_FILTER,
	             &r->filter) ||
	    !dup_opt(conf->directory_bind_dn, &r->bind_dn) ||
	    !dup_opt(conf->directory_password_file, &r->password_file) ||
	    !dup_opt(conf->fallback_recipient, &r->fallback) || !dup_opt(conf->store, &r->store)) {
		e = um_seterr(UM_ERR_NOMEM, "recipient configuration");
		goto out;
	}
	if (conf->timeout < 0) {
		e = um_seterr(UM_ERR_CONFIG, "directory timeout %d: negative", conf->timeout);
		goto out;
	}
	r->timeout = conf->timeout > 0 ? conf->timeout : UM_RECIPIENT_TIMEOUT;
	if (r->recipient != NULL && r->url != NULL) {
		e = um_seterr(UM_ERR_CONFIG, "recipient and directory_url: set one of them");
		goto out;
	}
	if (r->recipient == NULL && r->url == NULL) {
		e = um_seterr(UM_ERR_CONFIG, "set recipient (a template) or directory_url");
		goto out;
	}
	if (r->recipient != NULL) {
		if (expand(r->recipient, "x", addr, sizeof(addr), NULL) != UM_OK) {
			snprintf(why, sizeof(why), "%s", um_errdetail());
			e = um_seterr(UM_ERR_CONFIG, "recipient: %s", why);
			goto out;
		}
		if (!um_recipient_address_valid(addr, strlen(addr), why, sizeof(why))) {
			e = um_seterr(UM_ERR_CONFIG,
			              "recipient = %s does not make an address (%s for user x: %s)",
			              r->recipient, addr, why);
			goto out;
		}
	} else if ((e = check_directory(r)) != UM_OK) {
		goto out;
	}
	if (r->fallback != NULL &&
	    !um_recipient_address_valid(r->fallback, strlen(r->fallback), why, sizeof(why))) {
		e = um_seterr(UM_ERR_CONFIG, "fallback_recipient %s: %s", r->fallback, why);
		goto out;
	}
	*out = r;
	r = NULL;
	e = UM_OK;
out:
	um_recipients_free(r);
	return e;
}

/*
 * A failure of libldap as UM_ERR_DIRECTORY (the directory could not be asked): what was tried,
 * ldap_err2string, and the handle's diagnostic message (a server's text, or libldap's TLS
 * reason such as GnuTLS's verification failure), made printable.
 */
static enum um_err ldap_fail(LDAP *ld, int rc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static enum um_err
ldap_fail(LDAP *ld, int rc, const char *fmt, ...)
{
	char what[512], raw[1536], shown[1024];
	char *diag = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (ld != NULL &&
	    (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) != LDAP_OPT_SUCCESS ||
	     (diag != NULL && (*diag == '\0' || strcmp(diag, "(unknown error code)") == 0)))) {
		ldap_memfree(diag);
		diag = NULL;
	}
	snprintf(raw, sizeof(raw), "%s: %s%s%s", what, ldap_err2string(rc), diag ? ": " : "",
	         diag ? diag : "");
	ldap_memfree(diag);
	printable(raw, strlen(raw), shown, sizeof(shown));
	return um_seterr(UM_ERR_DIRECTORY, "%s", shown);
}

/*
 * The store's trusted roots, and the system bundle, loaded afresh (a root added counts at
 * once) as one PEM file for libldap, whose GnuTLS reads CA certificates from a path: an
 * anonymous memory file (memfd_create) named through /proc/self/fd, so no file is left behind.
 * *fd is owned (close).
 */
static enum um_err
roots_file(const struct um_recipients *r, int *fd, char *path, size_t pathlen)
{
	struct cc_store *s = NULL;
	struct cc_trust *t = NULL;
	BIO *b = NULL;
	enum cc_err ce;
	enum um_err e = UM_ERR_DIRECTORY;
	const char *p;
	long n;
	ssize_t w;
	size_t i;
	int f = -1;

	*fd = -1;
	if ((ce = cc_store_open(r->store, 0, &s)) != CC_OK ||
	    (ce = cc_trust_load(s, NULL, &t)) != CC_OK) {
		e = um_seterr(UM_ERR_DIRECTORY, "%s: trusted roots of store %s: %s: %s", r->url,
		              r->store, cc_strerror(ce), cc_errdetail());
		goto out;
	}
	if (cc_trust_count(t) == 0) {
		e = um_seterr(UM_ERR_DIRECTORY,
		              "%s: store %s trusts no root: the directory's certificate cannot be "
		              "verified",
		              r->url, r->store);
		goto out;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL) {
		e = um_seterr(UM_ERR_NOMEM, "roots");
		goto out;
	}
	for (i = 0; i < cc_trust_count(t); i++) {
		if (PEM_write_bio_X509(b, cc_trust_cert(t, i)) != 1) {
			e = um_seterr(UM_ERR_NOMEM, "roots: PEM_write_bio_X509: %s",
			              ERR_reason_error_string(ERR_peek_last_error()));
			goto out;
		}
	}
	if ((f = memfd_create("umd-directory-roots", MFD_CLOEXEC)) < 0) {
		e = um_seterr(UM_ERR_DIRECTORY, "%s: memfd_create: %s", r->url, strerror(errno));
		goto out;
	}
	n = BIO_get_mem_data(b, (char **)&p);
	while (n > 0) {
		if ((w = write(f, p, (size_t)n)) < 0) {
			if (errno == EINTR)
				continue;
			e = um_seterr(UM_ERR_DIRECTORY, "%s: writing the roots: %s", r->url,
			              strerror(errno));
			goto out;
		}
		p += w;
		n -= w;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", f);
	*fd = f;
	f = -1;
	e = UM_OK;
out:
	if (f >= 0)
		close(f);
	BIO_free(b);
	cc_trust_free(t);
	cc_store_free(s);
	ERR_clear_error();
	return e;
}

/* A simple bind, waiting at most the timeout; `password` is the caller's (wiped by it). */
static enum um_err
bind_simple(struct um_recipients *r, LDAP *ld, const char *password)
{
	struct berval cred;
	struct timeval tv = {r->timeout, 0};
	LDAPMessage *res = NULL;
	char *diag = NULL, raw[1024], shown[1024];
	int msgid, rc, err = LDAP_OTHER;
	enum um_err e = UM_ERR_DIRECTORY;

	cred.bv_val = (char *)password;
	cred.bv_len = strlen(password);
	if ((rc = ldap_sasl_bind(ld, r->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, &msgid)) !=
	    LDAP_SUCCESS) {
		e = ldap_fail(ld, rc, "%s: bind as %s", r->url, r->bind_dn);
		goto out;
	}
	rc = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, &res);
	if (rc <= 0) {
		if (rc == 0)
			err = LDAP_TIMEOUT;
		else
			(void)ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &err);
		e = ldap_fail(ld, err, "%s: bind as %s", r->url, r->bind_dn);
		goto out;
	}
	rc = ldap_parse_result(ld, res, &err, NULL, &diag, NULL, NULL, 0);
	if (rc != LDAP_SUCCESS) {
		e = ldap_fail(ld, rc, "%s: bind as %s", r->url, r->bind_dn);
		goto out;
	}
	if (err != LDAP_SUCCESS) {
		snprintf(raw, sizeof(raw), "%s: bind as %s: %s%s%s", r->url, r->bind_dn,
		         ldap_err2string(err), diag && *diag ? ": " : "", diag ? diag : "");
		printable(raw, strlen(raw), shown, sizeof(shown));
		e = um_seterr(UM_ERR_DIRECTORY, "%s", shown);
		goto out;
	}
	e = UM_OK;
out:
	ldap_memfree(diag);
	ldap_msgfree(res);
	return e;
}

/* libldap's connect callback: the socket of the connection being made (for the watchdog). */
static int
conn_added(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr, struct ldap_conncb *ctx)
{
	struct um_recipients *r = ctx->lc_arg;
	ber_socket_t fd = -1;

	(void)ld;
	(void)srv;
	(void)addr;
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1)
		fd = -1;
	pthread_mutex_lock(&r->mu);
	r->fd = fd;
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static void
conn_deleted(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	struct um_recipients *r = ctx->lc_arg;

	(void)ld;
	(void)sb;
	pthread_mutex_lock(&r->mu);
	r->fd = -1;
	pthread_mutex_unlock(&r->mu);
}

/* The watchdog: at the deadline, unless the handshake is over, shuts the socket down (libldap
 * then reads the end of the stream and fails the handshake). */
static void *
watch(void *arg)
{
	struct um_recipients *r = arg;

	pthread_mutex_lock(&r->mu);
	while (!r->done) {
		if (pthread_cond_timedwait(&r->cv, &r->mu, &r->deadline) == ETIMEDOUT) {
			if (!r->done && r->fd >= 0) {
				shutdown(r->fd, SHUT_RDWR);
				r->fired = true;
			}
			break;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/*
 * ldap_connect (ldaps://) or StartTLS (ldap://) under the watchdog; *rc is libldap's answer.
 * UM_ERR_DIRECTORY when the deadline passed.
 */
static enum um_err
handshake(struct um_recipients *r, LDAP *ld, int *rc)
{
	pthread_t watcher;
	int err;

	r->cb.lc_add = conn_added;
	r->cb.lc_del = conn_deleted;
	r->cb.lc_arg = r;
	if (ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &r->cb) != LDAP_OPT_SUCCESS)
		return um_seterr(UM_ERR_DIRECTORY, "%s: libldap refused the connect callback",
		                 r->url);
	pthread_mutex_lock(&r->mu);
	r->done = false;
	r->fired = false;
	clock_gettime(CLOCK_MONOTONIC, &r->deadline);
	r->deadline.tv_sec += r->timeout;
	pthread_mutex_unlock(&r->mu);
	if ((err = pthread_create(&watcher, NULL, watch, r)) != 0)
		return um_seterr(UM_ERR_DIRECTORY, "%s: watchdog thread: %s", r->url,
		                 strerror(err));
	*rc = r->starttls ? ldap_start_tls_s(ld, NULL, NULL) : ldap_connect(ld);
	pthread_mutex_lock(&r->mu);
	r->done = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(watcher, NULL);
	if (r->fired)
		return um_seterr(UM_ERR_DIRECTORY,
		                 "%s: Timed out: no TLS handshake%s within %d s (the socket was "
		                 "shut down)",
		                 r->url, r->starttls ? " after StartTLS" : "", r->timeout);
	return UM_OK;
}

/*
 * After a handshake libldap failed: why, in OpenSSL's words. libldap 2.5 with GnuTLS keeps no
 * reason for a certificate it refused ("Can't contact LDAP server" and nothing more), so a
 * second handshake that takes any certificate, and is never bound, reads the one presented
 * (LDAP_OPT_X_TLS_PEERCERT, as edgesync's pin probe does); it is checked against the same
 * roots (X509_verify_cert: the leaf only, as libldap gives no chain) and the URL's host
 * (X509_check_host, X509_check_ip_asc). The reason is appended to the thread's detail.
 */
static void
why_refused(struct um_recipients *r)
{
	LDAP *ld = NULL;
	LDAPURLDesc *u = NULL;
	struct berval der = {0, NULL};
	struct cc_store *s = NULL;
	struct cc_trust *t = NULL;
	X509_STORE *st = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *x = NULL;
	const unsigned char *p;
	char before[1024], why[1024] = "", subject[256] = "", issuer[256] = "";
	int v = LDAP_VERSION3, req = LDAP_OPT_X_TLS_ALLOW, zero = 0, rc = LDAP_OTHER;
	struct timeval tv = {r->timeout, 0};

	snprintf(before, sizeof(before), "%s", um_errdetail());
	if (ldap_initialize(&ld, r->url) != LDAP_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS ||
	    handshake(r, ld, &rc) != UM_OK || rc != LDAP_SUCCESS)
		goto out; /* not even this: the first reason stands */
	if (ldap_get_option(ld, LDAP_OPT_X_TLS_PEERCERT, &der) != LDAP_OPT_SUCCESS ||
	    der.bv_val == NULL) {
		snprintf(why, sizeof(why), "the server presented no certificate");
		goto out;
	}
	p = (const unsigned char *)der.bv_val;
	if ((x = d2i_X509(NULL, &p, (long)der.bv_len)) == NULL) {
		snprintf(why, sizeof(why), "its certificate does not parse");
		goto out;
	}
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	X509_NAME_oneline(X509_get_issuer_name(x), issuer, sizeof(issuer));
	if (cc_store_open(r->store, 0, &s) != CC_OK || cc_trust_load(s, NULL, &t) != CC_OK ||
	    cc_trust_x509_store(t, &st) != CC_OK || (ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, st, x, NULL) != 1)
		goto out;
	if (X509_verify_cert(ctx) != 1) {
		snprintf(why, sizeof(why), "its certificate %s (issuer %s) does not verify: %s",
		         subject, issuer,
		         X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	if (ldap_url_parse(r->url, &u) == LDAP_URL_SUCCESS && set(u->lud_host) &&
	    X509_check_host(x, u->lud_host, 0, 0, NULL) != 1 &&
	    X509_check_ip_asc(x, u->lud_host, 0) != 1)
		snprintf(why, sizeof(why), "its certificate %s does not name %s", subject,
		         u->lud_host);
out:
	if (why[0] != '\0') {
		char raw[2100], shown[1024];

		snprintf(raw, sizeof(raw), "%s: %s", before, why);
		printable(raw, strlen(raw), shown, sizeof(shown));
		(void)um_seterr(UM_ERR_DIRECTORY, "%s", shown);
	} else {
		(void)um_seterr(UM_ERR_DIRECTORY, "%s", before);
	}
	if (u != NULL)
		ldap_free_urldesc(u);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(x);
	cc_trust_free(t);
	cc_store_free(s);
	ber_memfree(der.bv_val);
	/* never bound: closed without an Unbind request */
	if (ld != NULL)
		ldap_destroy(ld);
	ERR_clear_error();
}

/* Connects (TLS verified against the store's roots and the URL's host) and binds. */
static enum um_err
dir_connect(struct um_recipients *r)
{
	LDAP *ld = NULL;
	char cafile[64], *pw = NULL;
	int fd = -1, rc, v = LDAP_VERSION3, req = LDAP_OPT_X_TLS_DEMAND, zero = 0,
	    min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
	struct timeval tv = {r->timeout, 0};
	enum um_err e = UM_ERR_DIRECTORY;
	enum cc_err ce;

	if ((e = roots_file(r, &fd, cafile, sizeof(cafile))) != UM_OK)
		goto out;
	if ((rc = ldap_initialize(&ld, r->url)) != LDAP_SUCCESS) {
		e = ldap_fail(NULL, rc, "%s", r->url);
		goto out;
	}
	/*
	 * Options on this handle only, then a TLS context of its own (LDAP_OPT_X_TLS_NEWCTX, as
	 * edgesync's connections): DEMAND makes libldap fail the handshake unless the chain
	 * verifies against `cafile` and the certificate names the URL's host.
	 */
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cafile) != LDAP_OPT_SUCCESS) {
		e = um_seterr(UM_ERR_DIRECTORY, "%s: libldap refused a connection option", r->url);
		goto out;
	}
	/* the CA file is read here, into the new context: the memory file can go after */
	if ((rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero)) != LDAP_OPT_SUCCESS) {
		e = ldap_fail(ld, rc, "%s: TLS context", r->url);
		goto out;
	}
	close(fd);
	fd = -1;
	if ((e = handshake(r, ld, &rc)) != UM_OK)
		goto out;
	if (rc != LDAP_SUCCESS) {
		e = ldap_fail(ld, rc, "%s%s", r->url, r->starttls ? " (StartTLS)" : "");
		if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR)
			why_refused(r);
		goto out;
	}
	if (r->bind_dn != NULL) {
		if ((ce = cc_secret_read_file(r->password_file, &pw)) != CC_OK) {
			e = um_seterr(UM_ERR_DIRECTORY, "%s: directory_password_file: %s: %s",
			              r->url, cc_strerror(ce), cc_errdetail());
			goto out;
		}
		if ((e = bind_simple(r, ld, pw)) != UM_OK)
			goto out;
	}
	r->ld = ld;
	ld = NULL;
	r->connects++;
	e = UM_OK;
out:
	cc_secret_free(pw);
	if (fd >= 0)
		close(fd);
	if (ld != NULL)
		ldap_unbind_ext(ld, NULL, NULL);
	return e;
}

/* What one search answered: the entry and its address, or why the number maps to no one. */
static enum um_err
classify(struct um_recipients *r, LDAPMessage *res, int rc, const char *user, const char *filter,
         struct um_recipient *out, bool *nobody)
{
	LDAPMessage *entry;
	struct berval **vals = NULL;
	char *dn = NULL, *dn2 = NULL, vwhy[128], shown[128];
	int n, i;
	enum um_err e = UM_ERR_DIRECTORY;

	*nobody = true;
	if ((n = ldap_count_entries(r->ld, res)) < 0) {
		e = ldap_fail(r->ld, LDAP_DECODING_ERROR, "%s: search result", r->url);
		goto out;
	}
	entry = ldap_first_entry(r->ld, res);
	if (entry != NULL)
		dn = ldap_get_dn(r->ld, entry);
	if (n == 0 || entry == NULL) {
		setwhy(out->why, sizeof(out->why), "no directory entry for %s (%s under %s)", user,
		       filter, r->base);
		e = UM_OK;
		goto out;
	}
	if (n > 1 || rc == LDAP_SIZELIMIT_EXCEEDED) {
		LDAPMessage *second = ldap_next_entry(r->ld, entry);

		if (second != NULL)
			dn2 = ldap_get_dn(r->ld, second);
		setwhy(out->why, sizeof(out->why),
		       "ambiguous: more than one directory entry for %s (%s under %s: %s; %s%s)",
		       user, filter, r->base, dn ? dn : "?", dn2 ? dn2 : "?",
		       rc == LDAP_SIZELIMIT_EXCEEDED ? "; more" : "");
		e = UM_OK;
		goto out;
	}
	vals = ldap_get_values_len(r->ld, entry, "mail");
	if (vals == NULL || vals[0] == NULL) {
		setwhy(out->why, sizeof(out->why), "the directory entry %s for %s has no mail",
		       dn ? dn : "?", user);
		e = UM_OK;
		goto out;
	}
	for (i = 0; vals[i] != NULL; i++) {
		if (!um_recipient_address_valid(vals[i]->bv_val, vals[i]->bv_len, vwhy,
		                                sizeof(vwhy))) {
			printable(vals[i]->bv_val, vals[i]->bv_len, shown, sizeof(shown));
			setwhy(out->why, sizeof(out->why),
			       "the mail value %s of %s (for %s) is refused: it %s", shown,
			       dn ? dn : "?", user, vwhy);
			e = UM_OK;
			goto out;
		}
		/* mail compares without case (caseIgnoreIA5Match, RFC 4524 section 2.16) */
		if (i > 0 &&
		    (vals[i]->bv_len != vals[0]->bv_len ||
		     strncasecmp(vals[i]->bv_val, vals[0]->bv_val, vals[0]->bv_len) != 0)) {
			setwhy(out->why, sizeof(out->why),
			       "ambiguous: the directory entry %s for %s has several mail values",
			       dn ? dn : "?", user);
			e = UM_OK;
			goto out;
		}
	}
	memcpy(out->address, vals[0]->bv_val, vals[0]->bv_len);
	out->address[vals[0]->bv_len] = '\0';
	out->how = UM_RECIPIENT_DIRECTORY;
	printable(dn ? dn : "", dn ? strlen(dn) : 0, out->dn, sizeof(out->dn));
	*nobody = false;
	e = UM_OK;
out:
	if (*nobody && e == UM_OK) {
		/* the reason may quote a DN or a filter: keep the log line printable */
		char raw[sizeof(out->why)];

		memcpy(raw, out->why, sizeof(raw));
		printable(raw, strlen(raw), out->why, sizeof(out->why));
	}
	ldap_value_free_len(vals);
	ldap_memfree(dn);
	ldap_memfree(dn2);
	return e;
}

static enum um_err
from_directory(struct um_recipients *r, const char *user, struct um_recipient *out, bool *nobody)
{
	char mail[] = "mail", *attrs[] = {mail, NULL}, *filter = NULL;
	LDAPMessage *res = NULL;
	struct timeval tv = {r->timeout, 0};
	bool fresh = false;
	enum um_err e;
	int rc;

	*nobody = true;
	if (!user_searchable(user, out->why, sizeof(out->why)))
		return UM_OK;
	if ((e = um_recipient_filter(r->filter, user, &filter)) != UM_OK)
		goto out;
	for (;;) {
		if (r->ld == NULL) {
			if ((e = dir_connect(r)) != UM_OK)
				goto out;
			fresh = true;
		}
		/* a size limit of 2: two entries already make the answer ambiguous */
		rc = ldap_search_ext_s(r->ld, r->base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL,
		                       NULL, &tv, 2, &res);
		if (rc >= 0)
			break;
		/* libldap's own failure (server down, timeout, decoding): the connection is
		 * gone or out of step; the next lookup makes a new one */
		e = ldap_fail(r->ld, rc, "%s: search %s under %s", r->url, filter, r->base);
		ldap_msgfree(res);
		res = NULL;
		drop(r);
		/* a kept connection the server closed meanwhile (its idle timeout, a restart):
		 * once more on a new one; a fresh one that fails is the answer */
		if (fresh || (rc != LDAP_SERVER_DOWN && rc != LDAP_CONNECT_ERROR))
			goto out;
	}
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		/* the server could not answer (noSuchObject for the base, busy, unwilling...):
		 * not "no one", which would misroute the message */
		e = ldap_fail(r->ld, rc, "%s: search %s under %s", r->url, filter, r->base);
		goto out;
	}
	e = classify(r, res, rc, user, filter, out, nobody);
out:
	ldap_msgfree(res);
	free(filter);
	return e;
}

enum um_err
um_recipients_lookup(struct um_recipients *r, const char *to, struct um_recipient *out)
{
	char user[UM_RECIPIENT_USER_MAX + 1], why[256], shown[96];
	bool nobody = true;
	enum um_err e;

	memset(out, 0, sizeof(*out));
	if (!um_recipient_user_part(to, user, sizeof(user), out->why, sizeof(out->why))) {
		printable(to ? to : "", to ? strlen(to) : 0, shown, sizeof(shown));
		goto nobody;
	}
	printable(user, strlen(user), shown, sizeof(shown));
	if (r->recipient != NULL) {
		if (!um_recipient_user_safe(user, out->why, sizeof(out->why)))
			goto nobody;
		if (um_recipient_expand(r->recipient, user, out->address, sizeof(out->address)) !=
		            UM_OK ||
		    !um_recipient_address_valid(out->address, strlen(out->address), why,
		                                sizeof(why))) {
			setwhy(out->why, sizeof(out->why),
			       "recipient = %s does not make an address for %s%s%s", r->recipient,
			       shown, out->address[0] ? ": it " : " (too long)",
			       out->address[0] ? why : "");
			out->address[0] = '\0';
			goto nobody;
		}
		out->how = UM_RECIPIENT_TEMPLATE;
		return UM_OK;
	}
	if ((e = from_directory(r, user, out, &nobody)) != UM_OK) {
		memset(out, 0, sizeof(*out));
		return e;
	}
	if (!nobody)
		return UM_OK;
nobody:
	if (r->fallback == NULL) {
		e = um_seterr(UM_ERR_NO_RECIPIENT,
		              "no recipient for %s and no fallback_recipient: %s", shown, out->why);
		memset(out, 0, sizeof(*out));
		return e;
	}
	memset(out->dn, 0, sizeof(out->dn));
	snprintf(out->address, sizeof(out->address), "%s", r->fallback);
	out->how = UM_RECIPIENT_FALLBACK;
	return UM_OK;
}

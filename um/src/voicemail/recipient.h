/*
 * Who gets a voice message: the called party's URI (the spool's "to", sip:1001@um1.example.test)
 * mapped to a mailbox address, as Exchange UM found the mailbox of an extension.
 *
 * %u is the URI's user part (sip:, sips: or tel: URIs, parsed with sofia-sip's url_d), without
 * the parameters RFC 3966 lets a telephone number carry after a ';'. Two ways to map it:
 *
 *   - a template (`recipient = %u@example.test`): %u replaced by the user part, %% a percent. The
 *     user part must hold only A-Z a-z 0-9 . _ + - (at most UM_RECIPIENT_USER_MAX characters);
 *     any other one maps to no one. The result must be a valid address (below).
 *   - the directory (`directory_url`, ldaps:// or ldap:// with StartTLS required, never plain
 *     text): a subtree search under `directory_base` with `directory_filter` (default
 *     (telephoneNumber=%u)), the user part escaped into it as RFC 4515 section 3 requires
 *     (ldap_bv2escaped_filter_value), reading `mail`. Exactly one entry with one valid mail value
 *     (values equal but for case count as one): that address. No entry, an entry without mail,
 *     several entries or several mail values (ambiguous), a mail value that is not a valid
 *     address: no one. The server's certificate must chain to the certcore store's trusted roots
 *     (and the system bundle, as certcore's trust API loads them) and name the URL's host
 *     (libldap's checks, LDAP_OPT_X_TLS_REQUIRE_CERT demand, TLS 1.2 at least); the bind is
 *     simple with `directory_bind_dn` and the first line of `directory_password_file` (read with
 *     cc_secret_read_file: 0600 or 0400, wiped after the bind), or none (anonymous) without a DN.
 *     The connection is kept across lookups and made again after a failure (one immediate
 *     retry on a kept connection the server has closed); connect, TLS, bind and search each
 *     wait at most `timeout` seconds.
 *
 * A number that maps to no one goes to `fallback_recipient`, with the reason (UM_OK, how
 * UM_RECIPIENT_FALLBACK, `why`); without a fallback that is UM_ERR_NO_RECIPIENT, a permanent
 * failure. A directory that could not be asked (unreachable, TLS or certificate refused, bind
 * refused, timeout, a search the server failed) is UM_ERR_DIRECTORY, a temporary failure with
 * libldap's reason (ldap_err2string and the diagnostic message): the message must wait and be
 * tried again, never go to the fallback for an outage.
 *
 * Valid address (what umd hands to SMTP as RCPT TO): dot-atom "@" domain (RFC 5322 section
 * 3.4.1 without quoted strings or address literals), the domain of LDH labels of 1 to 63
 * characters, the local part at most 64 octets and the whole at most 254 (RFC 5321 section
 * 4.5.3.1), ASCII only: no NUL, CR, LF, space, quote or control character.
 *
 * A struct um_recipients is used by one thread at a time (the submission thread): it owns one
 * libldap handle. libldap may write to a socket the server closed: the process must ignore
 * SIGPIPE (umd does).
 */
#ifndef UM_VOICEMAIL_RECIPIENT_H
#define UM_VOICEMAIL_RECIPIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define UM_RECIPIENT_ADDRESS_MAX 254 /* RFC 5321 section 4.5.3.1.3: 256 with the <> */
#define UM_RECIPIENT_LOCAL_MAX   64  /* RFC 5321 section 4.5.3.1.1 */
#define UM_RECIPIENT_USER_MAX    64  /* the longest user part looked up */
#define UM_RECIPIENT_TIMEOUT     5   /* seconds, when the configuration gives 0 */
#define UM_RECIPIENT_FILTER      "(telephoneNumber=%u)"

/*
 * The [smtp] keys of the lookup (README, "[smtp]"), borrowed by um_recipients_new (copied). NULL
 * and "" both mean unset. Exactly one of `recipient` and `directory_url` is set.
 */
struct um_recipient_conf {
	const char *recipient;               /* the template, e.g. %u@example.test */
	const char *directory_url;           /* ldaps://host:port or ldap://host:port (StartTLS) */
	const char *directory_base;          /* required with directory_url */
	const char *directory_filter;        /* must hold %u; unset: UM_RECIPIENT_FILTER */
	const char *directory_bind_dn;       /* unset: anonymous */
	const char *directory_password_file; /* required with directory_bind_dn */
	const char *fallback_recipient;      /* unset: no fallback */
	const char *store;                   /* umd's certcore store: its trusted roots */
	int timeout;                         /* seconds; 0: UM_RECIPIENT_TIMEOUT */
};

enum um_recipient_how {
	UM_RECIPIENT_TEMPLATE,  /* from the template */
	UM_RECIPIENT_DIRECTORY, /* the mail of the directory entry `dn` */
	UM_RECIPIENT_FALLBACK,  /* fallback_recipient: the number maps to no one, `why` */
};

/* What a lookup found. Every string is NUL-terminated and printable ASCII, fit for a log line. */
struct um_recipient {
	char address[UM_RECIPIENT_ADDRESS_MAX + 1];
	enum um_recipient_how how;
	char dn[1024]; /* UM_RECIPIENT_DIRECTORY: the entry's DN (non-ASCII shown as \xNN) */
	char why[512]; /* UM_RECIPIENT_FALLBACK: why the number maps to no one */
};

struct um_recipients;

/*
 * Checks the configuration and copies it: the template or filter syntax, the URL's scheme, the
 * fallback's address, and that the password file is readable by cc_secret_read_file's rule
 * (UM_ERR_CONFIG naming the key and the reason). Does not connect: umd starts while the
 * directory is down. *out is owned; release it with um_recipients_free.
 */
enum um_err um_recipients_new(const struct um_recipient_conf *conf,
                              struct um_recipients **out) UM_WUR;
/* Closes the connection (unbind) and frees; NULL is a no-op. */
void um_recipients_free(struct um_recipients *r);

/*
 * Maps the called party's URI `to` to an address. UM_OK with *out filled (template, directory
 * or fallback); UM_ERR_DIRECTORY: temporary, the directory could not be asked (um_errdetail has
 * the URL and libldap's reason); UM_ERR_NO_RECIPIENT: permanent, no one and no fallback
 * (um_errdetail: "no recipient for 1001 (why) and no fallback_recipient"); UM_ERR_NOMEM.
 * Any failure but UM_ERR_NO_RECIPIENT is temporary. *out is zeroed on failure.
 */
enum um_err um_recipients_lookup(struct um_recipients *r, const char *to,
                                 struct um_recipient *out) UM_WUR;

/* Connections made to the directory so far (a reused connection is not counted again). */
unsigned um_recipients_connects(const struct um_recipients *r);

/* "template", "directory", "fallback". */
const char *um_recipient_how_name(enum um_recipient_how how);

/*
 * The rules one at a time (unit tests and fuzz targets call them; lookups are made of them).
 * `why` (may be NULL) receives the reason of a refusal, printable ASCII.
 */

/* The user part of a sip:, sips: or tel: URI, up to the first ';'. False when there is none,
 * it is empty or longer than `len` - 1. */
bool um_recipient_user_part(const char *uri, char *user, size_t len, char *why, size_t whylen);

/* A user part the template may put in an address: 1 to UM_RECIPIENT_USER_MAX of [A-Za-z0-9._+-]. */
bool um_recipient_user_safe(const char *user, char *why, size_t whylen);

/*
 * `len` bytes at `addr` (a directory value may hold a NUL) form a valid address (above).
 */
bool um_recipient_address_valid(const char *addr, size_t len, char *why, size_t whylen);

/*
 * The template with %u replaced by `user` and %% by '%' into `out`. UM_ERR_CONFIG for another
 * '%' sequence; UM_ERR_INVAL when the result does not fit. Nothing is validated here.
 */
enum um_err um_recipient_expand(const char *tmpl, const char *user, char *out, size_t len) UM_WUR;

/*
 * The filter template with %u replaced by `user` escaped as an RFC 4515 assertion value
 * (ldap_bv2escaped_filter_value) and %% by '%'. *out is owned
 * (free). UM_ERR_CONFIG for another '%' sequence.
 */
enum um_err um_recipient_filter(const char *tmpl, const char *user, char **out) UM_WUR;

#endif

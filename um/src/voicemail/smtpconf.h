/*
 * The [smtp] section of umd's configuration (README, "umd, the UM server"): where
 * and how voice messages are submitted. Absent: messages stay in the spool. Read by config.c's
 * parser, one key at a time; errors are returned as text for it to put at file:line.
 */
#ifndef UM_VOICEMAIL_SMTPCONF_H
#define UM_VOICEMAIL_SMTPCONF_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

struct um_smtp_config {
	char *smarthost_host; /* the hub's address or name, and port (default 25) */
	int smarthost_port;
	char *fqdn;            /* for certcore's SMTP selection and EHLO; NULL: umd's fqdn */
	char *hub_fqdn;        /* the hub's certificate must name this; default the smarthost */
	char *hub_certificate; /* or the hub's pinned certificate (direct trust) */
	X509 *hub_pin;         /* loaded from hub_certificate */
	char *from;
	char *recipient; /* address template, %u = the called user part */
	char *directory_url, *directory_base, *directory_filter, *directory_bind_dn,
	        *directory_password_file;
	char *fallback_recipient;
	int max_queue_days;
	int sent_retention_days; /* 0: a sent message is deleted at once */
	int line;                /* where the section starts */
};

/* A section with every default. NULL when out of memory. */
struct um_smtp_config *um_smtp_config_new(int line);
void um_smtp_config_free(struct um_smtp_config *s);

/*
 * Takes one key. 0 when taken; 1 when `name` is not a key of [smtp]; -1 when the value is wrong,
 * with why in err (the key named, as "smarthost \"x\": host:port expected").
 */
int um_smtp_config_key(struct um_smtp_config *s, const char *name, const char *value, char *err,
                       size_t errlen);

/*
 * Checks the section as a whole once read (smarthost and from given, a recipient rule, the
 * pinned certificate read). Calls add(arg, message) for each problem; returns their number.
 */
size_t um_smtp_config_check(struct um_smtp_config *s, void (*add)(void *arg, const char *msg),
                            void *arg);

#endif

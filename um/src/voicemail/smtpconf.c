/* The [smtp] section of umd's configuration (smtpconf.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "voicemail/recipient.h"
#include "voicemail/smtpconf.h"

struct um_smtp_config *
um_smtp_config_new(int line)
{
	struct um_smtp_config *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->smarthost_port = 25;
	s->max_queue_days = 5;
	s->sent_retention_days = 7;
	s->line = line;
	return s;
}

void
um_smtp_config_free(struct um_smtp_config *s)
{
	if (s == NULL)
		return;
	free(s->smarthost_host);
	free(s->fqdn);
	free(s->hub_fqdn);
	free(s->hub_certificate);
	X509_free(s->hub_pin);
	free(s->from);
	free(s->recipient);
	free(s->directory_url);
	free(s->directory_base);
	free(s->directory_filter);
	free(s->directory_bind_dn);
	free(s->directory_password_file);
	free(s->fallback_recipient);
	free(s);
}

static bool
valid_host(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != ':')
			return false;
	return true;
}

static int
set(char **dst, const char *v, char *err, size_t errlen)
{
	char *c = strdup(v);

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = c;
	return 0;
}

/* "host", "host:port", "[v6]:port" (a bare IPv6 literal needs the brackets). */
static int
smarthost(struct um_smtp_config *s, const char *v, char *err, size_t errlen)
{
	const char *h = v, *hend, *port = NULL;
	char *end, *host;
	long p = 25;

	if (*v == '[') {
		if ((hend = strchr(v, ']')) == NULL || (hend[1] != ':' && hend[1] != '\0'))
			goto bad;
		h = v + 1;
		port = hend[1] == ':' ? hend + 2 : NULL;
	} else if ((hend = strchr(v, ':')) != NULL) {
		if (strchr(hend + 1, ':') != NULL)
			goto bad;
		port = hend + 1;
	} else {
		hend = v + strlen(v);
	}
	if (port != NULL) {
		errno = 0;
		p = strtol(port, &end, 10);
		if (errno != 0 || end == port || *end != '\0' || p < 1 || p > 65535)
			goto bad;
	}
	if (hend == h || (host = strndup(h, (size_t)(hend - h))) == NULL || !valid_host(host)) {
		if (hend != h && host != NULL)
			free(host);
		goto bad;
	}
	free(s->smarthost_host);
	s->smarthost_host = host;
	s->smarthost_port = (int)p;
	return 0;
bad:
	snprintf(err, errlen, "smarthost \"%s\": host or host:port expected ([v6]:port)", v);
	return -1;
}

static int
days(const char *name, const char *v, int lo, int *out, char *err, size_t errlen)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < lo || n > 3650) {
		snprintf(err, errlen, "%s \"%s\": %d to 3650 days", name, v, lo);
		return -1;
	}
	*out = (int)n;
	return 0;
}

int
um_smtp_config_key(struct um_smtp_config *s, const char *name, const char *v, char *err,
                   size_t errlen)
{
	if (strcmp(name, "smarthost") == 0)
		return smarthost(s, v, err, errlen);
	if (strcmp(name, "max_queue_days") == 0)
		return days(name, v, 1, &s->max_queue_days, err, errlen);
	if (strcmp(name, "sent_retention_days") == 0)
		return days(name, v, 0, &s->sent_retention_days, err, errlen);
	if (strcmp(name, "from") == 0 || strcmp(name, "fallback_recipient") == 0) {
		if (*v != '\0' && !um_recipient_address_valid(v, strlen(v), NULL, 0)) {
			snprintf(err, errlen, "%s \"%s\" is not a mail address (local@domain)",
			         name, v);
			return -1;
		}
	}
	if ((strcmp(name, "fqdn") == 0 || strcmp(name, "hub_fqdn") == 0) && *v != '\0' &&
	    (!valid_host(v) || strchr(v, ':') != NULL)) {
		snprintf(err, errlen, "%s \"%s\" is not a host name", name, v);
		return -1;
	}
	{
		static const struct {
			const char *name;
			size_t off;
		} strs[] = {
		        {"fqdn", offsetof(struct um_smtp_config, fqdn)},
		        {"hub_fqdn", offsetof(struct um_smtp_config, hub_fqdn)},
		        {"hub_certificate", offsetof(struct um_smtp_config, hub_certificate)},
		        {"from", offsetof(struct um_smtp_config, from)},
		        {"recipient", offsetof(struct um_smtp_config, recipient)},
		        {"directory_url", offsetof(struct um_smtp_config, directory_url)},
		        {"directory_base", offsetof(struct um_smtp_config, directory_base)},
		        {"directory_filter", offsetof(struct um_smtp_config, directory_filter)},
		        {"directory_bind_dn", offsetof(struct um_smtp_config, directory_bind_dn)},
		        {"directory_password_file",
		         offsetof(struct um_smtp_config, directory_password_file)},
		        {"fallback_recipient", offsetof(struct um_smtp_config, fallback_recipient)},
		};
		size_t i;

		for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
			char **dst = (char **)((char *)s + strs[i].off);

			if (strcmp(name, strs[i].name) != 0)
				continue;
			if (*v == '\0') { /* empty: unset, as in um/conf/umd.conf's example */
				free(*dst);
				*dst = NULL;
				return 0;
			}
			return set(dst, v, err, errlen);
		}
	}
	return 1;
}

static void addf(void (*add)(void *, const char *), void *arg, size_t *n, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void
addf(void (*add)(void *, const char *), void *arg, size_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	add(arg, msg);
	(*n)++;
}

size_t
um_smtp_config_check(struct um_smtp_config *s, void (*add)(void *arg, const char *msg), void *arg)
{
	size_t n = 0;
	FILE *f;

	if (s->smarthost_host == NULL)
		addf(add, arg, &n, "[smtp]: no smarthost (the hub to submit voice messages to)");
	if (s->from == NULL)
		addf(add, arg, &n, "[smtp]: no from address");
	if (s->recipient == NULL && s->directory_url == NULL)
		addf(add, arg, &n,
		     "[smtp]: no recipient rule: recipient = %%u@DOMAIN, or directory_url");
	if (s->recipient != NULL && s->directory_url != NULL)
		addf(add, arg, &n, "[smtp]: recipient and directory_url: choose one");
	if (s->recipient != NULL && strstr(s->recipient, "%u") == NULL)
		addf(add, arg, &n, "[smtp]: recipient \"%s\" has no %%u (the called user)",
		     s->recipient);
	if (s->directory_url != NULL && (s->directory_base == NULL || s->directory_filter == NULL ||
	                                 strstr(s->directory_filter, "%u") == NULL))
		addf(add, arg, &n,
		     "[smtp]: directory_url needs directory_base and directory_filter with %%u");
	if (s->hub_fqdn == NULL && s->hub_certificate == NULL && s->smarthost_host != NULL) {
		/* The smarthost's name is the name the hub's certificate must hold. */
		if ((s->hub_fqdn = strdup(s->smarthost_host)) == NULL)
			addf(add, arg, &n, "out of memory");
	}
	if (s->hub_certificate != NULL) {
		if ((f = fopen(s->hub_certificate, "r")) == NULL) {
			addf(add, arg, &n, "[smtp]: hub_certificate %s: %s", s->hub_certificate,
			     strerror(errno));
		} else {
			X509_free(s->hub_pin);
			s->hub_pin = PEM_read_X509(f, NULL, NULL, NULL);
			fclose(f);
			if (s->hub_pin == NULL) {
				unsigned long e = ERR_get_error();

				addf(add, arg, &n, "[smtp]: hub_certificate %s: %s",
				     s->hub_certificate,
				     ERR_reason_error_string(e) ? ERR_reason_error_string(e)
				                                : "not a PEM certificate");
				ERR_clear_error();
			}
		}
	}
	return n;
}

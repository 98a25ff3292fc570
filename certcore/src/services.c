/* Service names and masks (SMTP, POP, IMAP, UM, IIS, LDAP). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "certcore/services.h"
#include "internal.h"

static const struct {
	enum cc_service bit;
	const char *name;
} names[] = {
        {CC_SVC_SMTP, "SMTP"}, {CC_SVC_POP, "POP"}, {CC_SVC_IMAP, "IMAP"},
        {CC_SVC_UM, "UM"},     {CC_SVC_IIS, "IIS"}, {CC_SVC_LDAP, "LDAP"},
};

const char *
cc_service_name(enum cc_service s)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].bit == s)
			return names[i].name;
	return NULL;
}

enum cc_err
cc_services_parse(const char *s, unsigned *out)
{
	unsigned mask = 0;
	const char *p = s, *start;
	size_t n, i;
	int found;

	*out = 0;
	if (s == NULL)
		return cc_seterr(CC_ERR_INVAL, "no services given");
	for (;;) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',' && !isspace((unsigned char)*p))
			p++;
		n = (size_t)(p - start);
		found = 0;
		if (n == 4 && strncasecmp(start, "none", 4) == 0)
			found = 1;
		for (i = 0; !found && i < sizeof(names) / sizeof(names[0]); i++) {
			if (strlen(names[i].name) == n &&
			    strncasecmp(start, names[i].name, n) == 0) {
				mask |= names[i].bit;
				found = 1;
			}
		}
		if (!found)
			return cc_seterr(CC_ERR_INVAL,
			                 "unknown service \"%.*s\" (expected SMTP, POP, IMAP, UM, "
			                 "IIS, LDAP or None)",
			                 (int)(n > 64 ? 64 : n), start);
	}
	*out = mask;
	return CC_OK;
}

const char *
cc_services_format(unsigned mask, char *buf, size_t len)
{
	size_t i, used = 0;
	int n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(mask & names[i].bit))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", names[i].name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(buf, len, "None");
	return buf;
}

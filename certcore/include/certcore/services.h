/* Services a certificate is enabled for (Exchange's names, plus LDAP for edge direct trust). */
#ifndef CERTCORE_SERVICES_H
#define CERTCORE_SERVICES_H

#include <stddef.h>

#include "certcore/error.h"

enum cc_service {
	CC_SVC_NONE = 0,
	CC_SVC_SMTP = 1 << 0,
	CC_SVC_POP = 1 << 1,
	CC_SVC_IMAP = 1 << 2,
	CC_SVC_UM = 1 << 3,
	CC_SVC_IIS = 1 << 4,
	CC_SVC_LDAP = 1 << 5,
	CC_SVC_ALL = (1 << 6) - 1
};

/*
 * Parses "UM,SMTP", "um smtp", "None" (case-insensitive, separated by commas and/or blanks) into
 * a mask. An unknown name fails with CC_ERR_INVAL and names it in cc_errdetail().
 */
enum cc_err cc_services_parse(const char *s, unsigned *out) CC_WUR;

/* Writes "SMTP, UM" (in the order of enum cc_service) or "None" to buf; returns buf. */
const char *cc_services_format(unsigned mask, char *buf, size_t len);

/* Name of a single service bit, or NULL. */
const char *cc_service_name(enum cc_service s);

#endif

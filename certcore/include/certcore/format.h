/* How certctl and the daemons print certificates (Get-ExchangeCertificate's three views). */
#ifndef CERTCORE_FORMAT_H
#define CERTCORE_FORMAT_H

#include <stdio.h>
#include <time.h>

#include "certcore/cert.h"
#include "certcore/error.h"

/* JSON object text (owned, free()) keyed by the Exchange property names; times in ISO 8601 UTC. */
enum cc_err cc_cert_to_json(const struct cc_cert *c, time_t now, char **out) CC_WUR;
/* JSON array of several certificates. */
enum cc_err cc_certs_to_json(struct cc_cert *const *certs, size_t n, time_t now, char **out) CC_WUR;

/* "Name : value" lines, as Get-ExchangeCertificate | fl. */
void cc_cert_print_list(const struct cc_cert *c, time_t now, FILE *f);

/* The table header and one row: Thumbprint, Services, Subject. */
void cc_cert_print_table_header(FILE *f);
void cc_cert_print_table_row(const struct cc_cert *c, FILE *f);

#endif

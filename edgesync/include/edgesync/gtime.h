/* LDAP GeneralizedTime (RFC 4517 section 3.3.13) in UTC, as edgesync writes and reads it. */
#ifndef EDGESYNC_GTIME_H
#define EDGESYNC_GTIME_H

#include <time.h>

#include "edgesync/error.h"

#define ES_GTIME_LEN 15 /* YYYYMMDDHHMMSSZ */

/* "20261128110000Z". Returns buf. */
const char *es_gtime_format(time_t t, char buf[ES_GTIME_LEN + 1]);

/*
 * Parses YYYYMMDDHH[MM[SS]][.fraction]Z (a fraction is dropped). Local times and offsets other
 * than Z are refused: edgesync only writes UTC.
 */
enum es_err es_gtime_parse(const char *s, time_t *out) ES_WUR;

#endif

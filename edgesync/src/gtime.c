/* GeneralizedTime in UTC (RFC 4517 section 3.3.13). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "edgesync/gtime.h"
#include "internal.h"

const char *
es_gtime_format(time_t t, char buf[ES_GTIME_LEN + 1])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, ES_GTIME_LEN + 1, "%Y%m%d%H%M%SZ", &tm) != ES_GTIME_LEN)
		memcpy(buf, "19700101000000Z", ES_GTIME_LEN + 1);
	return buf;
}

static int
digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

enum es_err
es_gtime_parse(const char *s, time_t *out)
{
	struct tm tm;
	size_t len = s != NULL ? strlen(s) : 0, pos;
	int v[6] = {0, 0, 0, 0, 0, 0}, i;
	static const int lo[6] = {1970, 1, 1, 0, 0, 0}, hi[6] = {9999, 12, 31, 23, 59, 60};

	*out = 0;
	if (len < 11)
		goto bad;
	v[0] = digits(s, 4);
	for (i = 1, pos = 4; i < 6 && pos + 2 <= len && isdigit((unsigned char)s[pos]);
	     i++, pos += 2)
		v[i] = digits(s + pos, 2);
	if (i < 4) /* YYYYMMDDHH at least */
		goto bad;
	for (i = 0; i < 6; i++)
		if (v[i] < 0 || v[i] < lo[i] || v[i] > hi[i])
			goto bad;
	if (pos < len && (s[pos] == '.' || s[pos] == ',')) {
		pos++;
		if (pos >= len || !isdigit((unsigned char)s[pos]))
			goto bad;
		while (pos < len && isdigit((unsigned char)s[pos]))
			pos++;
	}
	if (pos + 1 != len || s[pos] != 'Z')
		goto bad;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	*out = timegm(&tm);
	return ES_OK;
bad:
	return es_seterr(ES_ERR_PARSE, "\"%.40s\" is not a UTC GeneralizedTime (YYYYMMDDHHMMSSZ)",
	                 s != NULL ? s : "");
}

/*
 * meta/THUMB.ini, parsed with inih. The friendly name is percent-encoded (RFC 3986 section 2.1)
 * for the bytes inih would otherwise take as syntax (';' starts an inline comment, '#' a comment,
 * leading and trailing blanks are trimmed), so any printable name round-trips.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>
#include <jansson.h>

#include "certcore/services.h"
#include "internal.h"
#include "meta.h"

/*
 * The rendered "friendly_name = ..." line must fit inih's line buffer (INI_MAX_LINE, less "\r\n"
 * and the NUL): inih cuts a longer line and reads the rest as a line of its own, so a name with
 * many escaped bytes would be written but could not be read back.
 */
#define NAME_PREFIX  "friendly_name = "
#define NAME_ENC_MAX (INI_MAX_LINE - 3 - (int)(sizeof(NAME_PREFIX) - 1))

struct parse_ctx {
	struct meta_file *m;
	enum cc_err r;
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Bytes inih would take as syntax, and '%' itself. */
static bool
needs_escape(unsigned char c)
{
	return c == '%' || c == ';' || c == '#' || c == '=' || c == '[' || isspace(c);
}

/* Why a name cannot be used (static text), or NULL. */
/* jansson validates UTF-8 for every string it takes; the JSON views need it to be valid. */
static bool
valid_utf8(const char *s)
{
	json_t *j = json_string(s);
	bool ok = j != NULL;

	json_decref(j);
	return ok;
}

static const char *
name_problem(const char *name)
{
	const unsigned char *p;

	if (strlen(name) > CC_FRIENDLY_NAME_MAX)
		return "friendly name longer than 64 bytes";
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "friendly name contains a control character";
	if (!valid_utf8(name))
		return "friendly name is not valid UTF-8";
	return NULL;
}

static enum cc_err
pct_decode(const char *in, char **out)
{
	size_t n = strlen(in), i, o = 0;
	char *s;
	int hi, lo;

	*out = NULL;
	if ((s = malloc(n + 1)) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "friendly name");
	for (i = 0; i < n; i++) {
		if (in[i] != '%') {
			s[o++] = in[i];
			continue;
		}
		if (i + 2 >= n) {
			free(s);
			return cc_seterr(CC_ERR_PARSE, "truncated %%-escape in friendly_name");
		}
		hi = hexval((unsigned char)in[i + 1]);
		lo = hi < 0 ? -1 : hexval((unsigned char)in[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(s);
			return cc_seterr(CC_ERR_PARSE, "bad %%-escape in friendly_name");
		}
		s[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	s[o] = '\0';
	*out = s;
	return CC_OK;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	const char *why;
	enum cc_err r;

	if (ctx->r != CC_OK)
		return 0;
	if (strcmp(section, "certificate") != 0)
		return 1; /* later versions may add sections: ignore them */
	if (strcmp(name, "services") == 0) {
		if ((r = cc_services_parse(value, &ctx->m->services)) != CC_OK)
			ctx->r = r;
	} else if (strcmp(name, "exportable") == 0) {
		if (strcasecmp(value, "true") == 0)
			ctx->m->exportable = true;
		else if (strcasecmp(value, "false") == 0)
			ctx->m->exportable = false;
		else
			ctx->r = cc_seterr(CC_ERR_PARSE, "exportable must be true or false");
	} else if (strcmp(name, "made_by") == 0) {
		free(ctx->m->made_by);
		ctx->m->made_by = NULL;
		if ((r = cc_meta_check_made_by(value)) != CC_OK)
			ctx->r = r;
		else if (*value != '\0' && (ctx->m->made_by = strdup(value)) == NULL)
			ctx->r = cc_seterr(CC_ERR_NOMEM, "meta");
	} else if (strcmp(name, "friendly_name") == 0) {
		free(ctx->m->friendly_name);
		ctx->m->friendly_name = NULL;
		if ((r = pct_decode(value, &ctx->m->friendly_name)) != CC_OK)
			ctx->r = r;
		/* An escape can spell a control character ("%0A"): the rule of the writer holds. */
		else if ((why = name_problem(ctx->m->friendly_name)) != NULL)
			ctx->r = cc_seterr(CC_ERR_PARSE, "%s", why);
	}
	return ctx->r == CC_OK;
}

enum cc_err
cc_meta_parse(const char *text, struct meta_file *out)
{
	struct parse_ctx ctx = {out, CC_OK};
	int line;

	memset(out, 0, sizeof(*out));
	line = ini_parse_string(text, handler, &ctx);
	if (ctx.r != CC_OK) {
		char saved[512];

		snprintf(saved, sizeof(saved), "%s", cc_errdetail());
		cc_meta_clear(out);
		return cc_seterr(ctx.r, "line %d: %s", line, saved);
	}
	if (line != 0) {
		cc_meta_clear(out);
		return cc_seterr(CC_ERR_PARSE, "line %d: not INI syntax", line);
	}
	return CC_OK;
}

void
cc_meta_clear(struct meta_file *m)
{
	free(m->friendly_name);
	free(m->made_by);
	memset(m, 0, sizeof(*m));
}

enum cc_err
cc_meta_check_friendly_name(const char *name)
{
	const unsigned char *p;
	const char *why;
	int enc = 0;

	if (name == NULL)
		return CC_OK;
	if ((why = name_problem(name)) != NULL)
		return cc_seterr(CC_ERR_INVAL, "%s", why);
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		enc += needs_escape(*p) ? 3 : 1;
	if (enc > NAME_ENC_MAX)
		return cc_seterr(CC_ERR_INVAL,
		                 "friendly name has too many characters that must be escaped (%d "
		                 "bytes escaped, at most %d)",
		                 enc, NAME_ENC_MAX);
	return CC_OK;
}

enum cc_err
cc_meta_check_made_by(const char *who)
{
	size_t i;

	if (who == NULL)
		return CC_OK;
	for (i = 0; who[i] != '\0'; i++)
		if (i >= 32 || !((who[i] >= 'a' && who[i] <= 'z') ||
		                 (who[i] >= '0' && who[i] <= '9') || who[i] == '-'))
			return cc_seterr(
			        CC_ERR_INVAL,
			        "made_by must be a daemon's name: 1 to 32 of a-z, 0-9, '-'");
	return CC_OK;
}

enum cc_err
cc_meta_render(const struct cc_meta *m, char **out)
{
	char enc[CC_FRIENDLY_NAME_MAX * 3 + 1];
	char svc[64];
	const unsigned char *p;
	size_t o = 0;
	enum cc_err r;

	*out = NULL;
	enc[0] = '\0';
	if ((r = cc_meta_check_friendly_name(m->friendly_name)) != CC_OK ||
	    (r = cc_meta_check_made_by(m->made_by)) != CC_OK)
		return r;
	for (p = (const unsigned char *)(m->friendly_name ? m->friendly_name : ""); *p; p++) {
		if (needs_escape(*p)) {
			snprintf(enc + o, sizeof(enc) - o, "%%%02X", *p);
			o += 3;
		} else {
			enc[o++] = (char)*p;
		}
	}
	enc[o] = '\0';
	*out = cc_aprintf(
	        "[certificate]\nservices = %s\nexportable = %s\n" NAME_PREFIX "%s\n%s%s%s",
	        cc_services_format(m->services, svc, sizeof(svc)), m->exportable ? "true" : "false",
	        enc, m->made_by && *m->made_by ? "made_by = " : "",
	        m->made_by && *m->made_by ? m->made_by : "", m->made_by && *m->made_by ? "\n" : "");
	if (*out == NULL)
		return cc_seterr(CC_ERR_NOMEM, "meta");
	return CC_OK;
}

/*
 * meta.c: meta/THUMB.ini rendering and parsing (services, exportable, percent-encoded friendly
 * name), the friendly-name rules, and parse errors naming their line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certcore/error.h"
#include "certcore/services.h"
#include "meta.h"
#include "testutil.h"

/* Renders, parses back, and checks every field came back as it went in. */
static void
roundtrip(unsigned services, bool exportable, const char *name)
{
	struct cc_meta m = {services, exportable, name, NULL};
	struct meta_file f;
	char *text = NULL;
	enum cc_err r;

	r = cc_meta_render(&m, &text);
	CU_ASSERT_EQUAL_FATAL(r, CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	r = cc_meta_parse(text, &f);
	CU_ASSERT_EQUAL(r, CC_OK);
	if (r != CC_OK) {
		fprintf(stderr, "\n  name \"%s\" rendered as:\n%s  parse: %s\n",
		        name ? name : "(null)", text, cc_errdetail());
		free(text);
		return;
	}
	CU_ASSERT_EQUAL(f.services, services);
	CU_ASSERT_EQUAL(f.exportable, exportable);
	if (name == NULL || *name == '\0') {
		CU_ASSERT(f.friendly_name == NULL || *f.friendly_name == '\0');
	} else {
		CU_ASSERT_PTR_NOT_NULL_FATAL(f.friendly_name);
		CU_ASSERT_STRING_EQUAL(f.friendly_name, name);
		if (strcmp(f.friendly_name, name) != 0)
			fprintf(stderr, "\n  \"%s\" came back as \"%s\"\n", name, f.friendly_name);
	}
	cc_meta_clear(&f);
	free(text);
}

static void
test_roundtrip_services_exportable(void)
{
	static const unsigned masks[] = {CC_SVC_NONE, CC_SVC_SMTP,
	                                 CC_SVC_POP,  CC_SVC_IMAP,
	                                 CC_SVC_UM,   CC_SVC_IIS,
	                                 CC_SVC_LDAP, CC_SVC_UM | CC_SVC_SMTP,
	                                 CC_SVC_ALL,  CC_SVC_POP | CC_SVC_IMAP | CC_SVC_LDAP};
	size_t i;

	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		roundtrip(masks[i], false, NULL);
		roundtrip(masks[i], true, "name");
	}
}

static void
test_roundtrip_friendly_names(void)
{
	static const char *const names[] = {
	        "plain",
	        "semi;colon",
	        "a ; inline comment",
	        "#hash at start",
	        "mid#hash",
	        "100% sure",
	        "%41 is not an escape here",
	        "%",
	        "%%",
	        "key=value",
	        "=",
	        "[section]",
	        "[",
	        " leading space",
	        "trailing space ",
	        "  both  ",
	        "double  space",
	        " ",
	        "Zertifikat für UM",
	        "日本語の名前",
	        "quotes \"and\" 'apostrophes'",
	        "back\\slash",
	        "colon: yes",
	        "~!@$^&*()_+{}|<>?,./`",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		roundtrip(CC_SVC_UM, i % 2 == 0, names[i]);
}

/*
 * The longest names: 64 bytes of plain text, and 64 bytes made only of characters that are
 * escaped. Whatever render accepts, parse must read back (inih cuts lines at INI_MAX_LINE).
 */
static void
test_roundtrip_long_names(void)
{
	static const char fill[] = {'a', ';', '%', ' ', '#', '=', '[', 'x'};
	char name[CC_FRIENDLY_NAME_MAX + 1];
	struct cc_meta m = {CC_SVC_UM, false, name, NULL};
	char *text = NULL;
	size_t i, len;
	enum cc_err r;

	for (i = 0; i < sizeof(fill); i++) {
		for (len = 1; len <= CC_FRIENDLY_NAME_MAX; len++) {
			memset(name, fill[i], len);
			name[len] = '\0';
			/* Leading/trailing 'x' keeps a blank-only name meaningful. */
			if (fill[i] == ' ' && len > 2) {
				name[0] = 'x';
				name[len - 1] = 'x';
			}
			r = cc_meta_render(&m, &text);
			if (r == CC_OK) {
				free(text);
				text = NULL;
				roundtrip(CC_SVC_UM, false, name);
			} else {
				/* A refusal must be a clean one, and only of a name full of
				 * escapes. */
				CU_ASSERT_EQUAL(r, CC_ERR_INVAL);
				CU_ASSERT_PTR_NULL(text);
				CU_ASSERT(fill[i] != 'a' && fill[i] != 'x');
				CU_ASSERT(cc_meta_check_friendly_name(name) != CC_OK);
			}
		}
	}
	/* A 64-byte plain name is always fine. */
	memset(name, 'n', CC_FRIENDLY_NAME_MAX);
	name[CC_FRIENDLY_NAME_MAX] = '\0';
	CU_ASSERT_EQUAL(cc_meta_check_friendly_name(name), CC_OK);
	roundtrip(CC_SVC_ALL, true, name);
	/* A realistic long name with some blanks and a ';' still fits. */
	roundtrip(CC_SVC_UM, true, "Zertifikat für UM; Server in der Zentrale Frankfurt am Main");
}

static void
expect_refused(const char *name)
{
	struct cc_meta m = {CC_SVC_UM, false, name, NULL};
	char *text = (char *)"sentinel";

	CU_ASSERT_EQUAL(cc_meta_check_friendly_name(name), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_meta_render(&m, &text), CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(text);
	CU_ASSERT(strlen(cc_errdetail()) > 0);
}

static void
test_names_refused(void)
{
	char longname[CC_FRIENDLY_NAME_MAX + 2];
	size_t i;

	expect_refused("tab\there");
	expect_refused("new\nline");
	expect_refused("carriage\rreturn");
	expect_refused("escape\x1b[31m");
	expect_refused("del\x7f");
	expect_refused("\x01");
	memset(longname, 'a', CC_FRIENDLY_NAME_MAX + 1);
	longname[CC_FRIENDLY_NAME_MAX + 1] = '\0';
	expect_refused(longname);
	/* The limit is in bytes: 32 two-byte characters fit, one more byte does not. */
	longname[0] = '\0';
	for (i = 0; i < CC_FRIENDLY_NAME_MAX / 2; i++)
		memcpy(longname + 2 * i, "\xc3\xa4", 3); /* ä */
	CU_ASSERT_EQUAL(strlen(longname), CC_FRIENDLY_NAME_MAX);
	CU_ASSERT_EQUAL(cc_meta_check_friendly_name(longname), CC_OK);
	roundtrip(CC_SVC_UM, false, longname);
	longname[CC_FRIENDLY_NAME_MAX] = 'a';
	longname[CC_FRIENDLY_NAME_MAX + 1] = '\0';
	expect_refused(longname);
	/* The edges that are fine. */
	CU_ASSERT_EQUAL(cc_meta_check_friendly_name(NULL), CC_OK);
	CU_ASSERT_EQUAL(cc_meta_check_friendly_name(""), CC_OK);
	CU_ASSERT_EQUAL(cc_meta_check_friendly_name("~ printable ~"), CC_OK);
}

/* Parses text that must fail (CC_ERR_PARSE, or CC_ERR_INVAL for a bad value) naming `line`. */
static void
expect_parse_error(const char *text, int line, const char *detail_part)
{
	struct meta_file f;
	char want[32];
	enum cc_err r;

	memset(&f, 0x5a, sizeof(f));
	r = cc_meta_parse(text, &f);
	CU_ASSERT(r == CC_ERR_PARSE || r == CC_ERR_INVAL);
	snprintf(want, sizeof(want), "line %d", line);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), want));
	if (detail_part != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), detail_part));
	if (r == CC_OK || strstr(cc_errdetail(), want) == NULL)
		fprintf(stderr, "\n  text:\n%s  result %d, detail \"%s\"\n", text, r,
		        cc_errdetail());
	if (r == CC_OK) {
		cc_meta_clear(&f);
		return;
	}
	/* A failed parse leaves nothing allocated behind and the defaults in place. */
	CU_ASSERT_PTR_NULL(f.friendly_name);
	CU_ASSERT_EQUAL(f.services, 0);
	CU_ASSERT_FALSE(f.exportable);
}

static void
test_parse_errors(void)
{
	expect_parse_error("[certificate]\nservices = UM, FAX\n", 2, "FAX");
	expect_parse_error("[certificate]\nservices = SMTP\nexportable = maybe\n", 3, "exportable");
	expect_parse_error("[certificate]\nexportable = 1\n", 2, NULL);
	expect_parse_error("[certificate]\nexportable =\n", 2, NULL);
	expect_parse_error("[certificate]\nfriendly_name = bad %G1 escape\n", 2, "escape");
	expect_parse_error("[certificate]\nfriendly_name = bad %1G escape\n", 2, "escape");
	expect_parse_error("[certificate]\nfriendly_name = ends in %2\n", 2, "escape");
	expect_parse_error("[certificate]\nfriendly_name = %\n", 2, "escape");
	expect_parse_error("[certificate]\nfriendly_name = nul %00 byte\n", 2, "escape");
	/* Escapes that decode to what the writer refuses. */
	expect_parse_error("[certificate]\nfriendly_name = two%0Alines\n", 2, "control");
	expect_parse_error("[certificate]\nfriendly_name = bell%07\n", 2, "control");
	expect_parse_error("[certificate]\nfriendly_name = del%7F\n", 2, "control");
	expect_parse_error("[certificate]\nfriendly_name = "
	                   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
	                   2, "64");
	/* Not INI at all. */
	expect_parse_error("this is not an ini file\n", 1, NULL);
	expect_parse_error("[certificate]\nservices = UM\njunk without equals\n", 3, NULL);
	expect_parse_error("[certificate\nservices = UM\n", 1, NULL);
	/* The first bad line is the one named. */
	expect_parse_error("[certificate]\nservices = UM\n\n\nexportable = yes\nservices = BAD\n",
	                   5, NULL);
}

static void
test_parse_defaults_and_sections(void)
{
	struct meta_file f;

	CU_ASSERT_EQUAL_FATAL(cc_meta_parse("", &f), CC_OK);
	CU_ASSERT_EQUAL(f.services, 0);
	CU_ASSERT_FALSE(f.exportable);
	CU_ASSERT_PTR_NULL(f.friendly_name);
	cc_meta_clear(&f);

	CU_ASSERT_EQUAL_FATAL(cc_meta_parse("[certificate]\n", &f), CC_OK);
	CU_ASSERT_EQUAL(f.services, 0);
	CU_ASSERT_FALSE(f.exportable);
	CU_ASSERT_PTR_NULL(f.friendly_name);
	cc_meta_clear(&f);

	/* Sections a later version may add are ignored, before and after ours. */
	CU_ASSERT_EQUAL_FATAL(
	        cc_meta_parse("; written by a newer umedge\n"
	                      "[future]\nservices = NOT-A-SERVICE\nexportable = maybe\n"
	                      "[certificate]\nservices = um, smtp\nexportable = TRUE\n"
	                      "friendly_name = a%3Bb\n"
	                      "[later]\nfriendly_name = %G1\n",
	                      &f),
	        CC_OK);
	CU_ASSERT_EQUAL(f.services, CC_SVC_UM | CC_SVC_SMTP);
	CU_ASSERT_TRUE(f.exportable);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f.friendly_name);
	CU_ASSERT_STRING_EQUAL(f.friendly_name, "a;b");
	cc_meta_clear(&f);

	/* Keys outside any section are not ours either. */
	CU_ASSERT_EQUAL_FATAL(
	        cc_meta_parse("services = BOGUS\n[certificate]\nservices = None\n", &f), CC_OK);
	CU_ASSERT_EQUAL(f.services, 0);
	cc_meta_clear(&f);

	/* Lower-case escapes decode too. */
	CU_ASSERT_EQUAL_FATAL(cc_meta_parse("[certificate]\nfriendly_name = %3b%2a\n", &f), CC_OK);
	CU_ASSERT_STRING_EQUAL(f.friendly_name, ";*");
	cc_meta_clear(&f);
}

/* The rendered text is INI a person can read, and escapes only where inih would misread. */
static void
test_render_text(void)
{
	struct cc_meta m = {CC_SVC_UM | CC_SVC_SMTP, true, "Zertifikat für UM; 50%", NULL};
	char *text = NULL;

	CU_ASSERT_EQUAL_FATAL(cc_meta_render(&m, &text), CC_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "[certificate]\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "SMTP"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "UM"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "exportable = true\n"));
	/* UTF-8 is written as it is; ';', ' ' and '%' are escaped. */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "für"));
	CU_ASSERT_PTR_NULL(strchr(text, ';'));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "%3B"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "%25"));
	free(text);
}

static CU_TestInfo tests[] = {
        {"round trip: services and exportable", test_roundtrip_services_exportable},
        {"round trip: friendly names with INI syntax, blanks, UTF-8",
         test_roundtrip_friendly_names},
        {"round trip: longest names; what render accepts parses back", test_roundtrip_long_names},
        {"friendly names with control characters or over 64 bytes refused", test_names_refused},
        {"parse errors name their line", test_parse_errors},
        {"defaults; unknown sections ignored", test_parse_defaults_and_sections},
        {"rendered text", test_render_text},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("meta", tests);
}

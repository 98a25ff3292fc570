/* The event log (log.c, events.c): formats, field names, redaction, line safety. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certcore/events.h"
#include "certcore/log.h"
#include "testutil.h"

static time_t
fixed_clock(void *arg)
{
	(void)arg;
	return 1795863600; /* 2026-11-28T11:00:00Z */
}

/* Logs through a memory stream; returns what was written (owned). */
static char *
capture(enum cc_log_format fmt, int id, const struct cc_field *f, size_t n, const char *message)
{
	struct cc_log *log = NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_FATAL(cc_log_new(fmt, m, "test", false, &log) == CC_OK);
	cc_log_set_clock(log, fixed_clock, NULL);
	if (message != NULL)
		cc_log_message(log, CC_LOG_INFO, "%s", message);
	else
		cc_log_event(log, CC_LOG_WARNING, id, f, n);
	cc_log_free(log);
	fclose(m);
	return out;
}

static void
test_json_event(void)
{
	struct cc_field f[] = {
	        CC_FSTR("service", "UM"),
	        CC_FSTR("thumbprint", "ABCDEF"),
	        CC_FINT("days_left", 10),
	        CC_FSTR("not_after", NULL),
	};
	char *out = capture(CC_LOG_JSON, CC_EV_CERTIFICATE_EXPIRING, f, 4, NULL);
	json_error_t e;
	json_t *j;

	CU_ASSERT_FATAL(out != NULL);
	/* One line, ending in a newline, and nothing else. */
	CU_ASSERT_PTR_EQUAL(strchr(out, '\n'), out + strlen(out) - 1);
	CU_ASSERT_FATAL((j = json_loads(out, 0, &e)) != NULL);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "time")),
	                       "2026-11-28T11:00:00Z");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "level")), "warning");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "event_id")), 1010);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "event")),
	                       "CertificateExpiring");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "service")), "UM");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "days_left")), 10);
	CU_ASSERT(json_is_null(json_object_get(j, "not_after")));
	/* The documented order: time, level, event_id, event first. */
	CU_ASSERT_EQUAL(strncmp(out, "{\"time\":", 8), 0);
	json_decref(j);
	free(out);
}

static void
test_text_event(void)
{
	struct cc_field f[] = {
	        CC_FSTR("peer", "127.0.0.1:5555"),
	        CC_FSTR("reason", "certificate names gw9.example.test"),
	};
	char *out = capture(CC_LOG_TEXT, CC_EV_PEER_REJECTED, f, 2, NULL);

	CU_ASSERT_STRING_EQUAL(
	        out, "2026-11-28T11:00:00Z warning 1021 PeerRejected "
	             "peer=127.0.0.1:5555 reason=\"certificate names gw9.example.test\"\n");
	free(out);
}

/* A value supplied by a peer cannot start a second line or fake a field. */
static void
test_injection(void)
{
	struct cc_field f[] = {
	        CC_FSTR("reason", "x\n2026-11-28T11:00:00Z info 1000 Forged a=\"b\"")};
	char *out = capture(CC_LOG_TEXT, CC_EV_PEER_REJECTED, f, 1, NULL);
	json_error_t e;
	json_t *j;

	CU_ASSERT_EQUAL(strchr(out, '\n'), out + strlen(out) - 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\\n2026"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "a=\\\"b\\\""));
	free(out);
	out = capture(CC_LOG_JSON, CC_EV_PEER_REJECTED, f, 1, NULL);
	CU_ASSERT_EQUAL(strchr(out, '\n'), out + strlen(out) - 1);
	CU_ASSERT_FATAL((j = json_loads(out, 0, &e)) != NULL);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "reason")), f[0].str);
	json_decref(j);
	free(out);
	/* Invalid UTF-8 still makes valid JSON. */
	{
		struct cc_field g[] = {CC_FSTR("peer", "\xff\xfe CN")};

		out = capture(CC_LOG_JSON, CC_EV_PEER_REJECTED, g, 1, NULL);
		CU_ASSERT_FATAL((j = json_loads(out, 0, &e)) != NULL);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "peer")),
		                       "\\xff\\xfe CN");
		json_decref(j);
		free(out);
	}
}

static void
test_redaction(void)
{
	struct cc_field f[] = {
	        CC_FSTR("edge", "edge1"),
	        CC_FSTR("bind_password", "hunter2"),
	        CC_FSTR("private_key", "-----BEGIN PRIVATE KEY-----"),
	        CC_FSTR("Credential", "s3cret"),
	        CC_FSTR("client_secret", "abc"),
	};
	char *out = capture(CC_LOG_TEXT, CC_EV_EDGE_SYNC_FAILED, f, 5, NULL);

	CU_ASSERT_PTR_NULL(strstr(out, "hunter2"));
	CU_ASSERT_PTR_NULL(strstr(out, "BEGIN"));
	CU_ASSERT_PTR_NULL(strstr(out, "s3cret"));
	CU_ASSERT_PTR_NULL(strstr(out, "abc"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "edge=edge1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "bind_password=[redacted]"));
	free(out);
	out = capture(CC_LOG_JSON, CC_EV_EDGE_SYNC_FAILED, f, 5, NULL);
	CU_ASSERT_PTR_NULL(strstr(out, "hunter2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"bind_password\":\"[redacted]\""));
	free(out);
	CU_ASSERT_TRUE(cc_log_field_is_secret("admin_password_file"));
	CU_ASSERT_FALSE(cc_log_field_is_secret("thumbprint"));
	CU_ASSERT_FALSE(cc_log_field_is_secret("expected"));
}

static void
test_message(void)
{
	char *out = capture(CC_LOG_JSON, 0, NULL, 0, "listening on 127.0.0.1:5061");
	json_error_t e;
	json_t *j;

	CU_ASSERT_FATAL((j = json_loads(out, 0, &e)) != NULL);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "message")),
	                       "listening on 127.0.0.1:5061");
	CU_ASSERT_PTR_NULL(json_object_get(j, "event_id"));
	json_decref(j);
	free(out);
	out = capture(CC_LOG_TEXT, 0, NULL, 0, "started");
	CU_ASSERT_STRING_EQUAL(out, "2026-11-28T11:00:00Z info started\n");
	free(out);
}

/* The fixed table of the README ("Events"): every id, and nothing else. */
static void
test_event_table(void)
{
	static const struct {
		int id;
		const char *name;
	} want[] = {
	        {1000, "CertificateInUse"},
	        {1001, "CertificateChanged"},
	        {1002, "SelfSignedCertificateCreated"},
	        {1003, "SelfSignedCertificateRenewed"},
	        {1004, "CertificateRenewalFailed"},
	        {1005, "CertificateCheckFailed"},
	        {1010, "CertificateExpiring"},
	        {1011, "CertificateExpired"},
	        {1020, "TlsHandshakeFailed"},
	        {1021, "PeerRejected"},
	        {1022, "CrlFetched"},
	        {1023, "CrlFetchFailed"},
	        {1030, "CallAnswered"},
	        {1031, "CallEnded"},
	        {1032, "VoiceMessageRecorded"},
	        {1033, "MediaSecurityFailure"},
	        {1040, "VoiceMessageSubmitted"},
	        {1041, "VoiceMessageDeferred"},
	        {1042, "VoiceMessageFailed"},
	        {1050, "ConfigurationReloadFailed"},
	        {2000, "EdgeSyncCompleted"},
	        {2001, "EdgeSyncFailed"},
	        {2002, "EdgeCertificatePinMismatch"},
	        {2003, "EdgeLeaseAcquired"},
	        {2004, "EdgeCredentialRotated"},
	        {2005, "EdgeCredentialRotationFailed"},
	};
	size_t i;
	int id, known = 0;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(cc_event_name(want[i].id));
		CU_ASSERT_STRING_EQUAL(cc_event_name(want[i].id), want[i].name);
	}
	for (id = 0; id < 10000; id++)
		known += cc_event_name(id) != NULL;
	CU_ASSERT_EQUAL(known, (int)(sizeof(want) / sizeof(want[0])));
}

static void
test_format_parse(void)
{
	enum cc_log_format f;

	CU_ASSERT_EQUAL(cc_log_format_parse("json", &f), CC_OK);
	CU_ASSERT_EQUAL(f, CC_LOG_JSON);
	CU_ASSERT_EQUAL(cc_log_format_parse("TEXT", &f), CC_OK);
	CU_ASSERT_EQUAL(f, CC_LOG_TEXT);
	CU_ASSERT_EQUAL(cc_log_format_parse("xml", &f), CC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "xml"));
	CU_ASSERT_EQUAL(cc_log_format_parse(NULL, &f), CC_ERR_INVAL);
}

/* Seconds as a number with two decimals, flags as booleans: JSON types, and text for text. */
static void
test_real_and_bool(void)
{
	struct cc_field f[] = {CC_FSTR("id", "m1"), CC_FREAL("seconds", 4.376),
	                       CC_FBOOL("truncated", true), CC_FBOOL("other", false)};
	char *out = capture(CC_LOG_JSON, CC_EV_VOICE_MESSAGE_RECORDED, f, 4, NULL);
	json_error_t e;
	json_t *j;

	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_FATAL((j = json_loads(out, 0, &e)) != NULL);
	CU_ASSERT(json_is_real(json_object_get(j, "seconds")));
	CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(j, "seconds")), 4.38, 0.0001);
	CU_ASSERT(json_is_true(json_object_get(j, "truncated")));
	CU_ASSERT(json_is_false(json_object_get(j, "other")));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"seconds\":4.38,")); /* not 4.3799999999999999 */
	json_decref(j);
	free(out);
	out = capture(CC_LOG_TEXT, CC_EV_VOICE_MESSAGE_RECORDED, f, 4, NULL);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " seconds=4.38 truncated=true other=false"));
	free(out);
}

static CU_TestInfo tests[] = {
        {"JSON event line with the README's fields", test_json_event},
        {"seconds and flags as JSON numbers and booleans", test_real_and_bool},
        {"text event line", test_text_event},
        {"values cannot forge lines", test_injection},
        {"secrets are redacted", test_redaction},
        {"messages without an event id", test_message},
        {"event id table", test_event_table},
        {"log format names", test_format_parse},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("log", tests);
}

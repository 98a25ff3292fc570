/*
 * RFC 4533 refresh messages (syncmsg.c): each parser on whole, cut, empty and wrong values, then
 * es_source_sync's loop (source.c) against answers played over ldapi:// (libldap parses them as
 * over LDAPS): the malformed messages that made libldap 2.5.13's ldap_sync_init end the process
 * or leak now fail the read, naming the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "edgesync/conn.h"
#include "edgesync/error.h"
#include "edgesync/rule.h"
#include "edgesync/source.h"
#include "edgesync/syncmsg.h"
#include "testutil.h"

static struct es_rule *rules; /* the defaults: recipients copies cn mail proxyAddresses */
static size_t nrules;
static char dir[64];

/* A BER builder: definite lengths, short or two-byte long form. */
struct buf {
	uint8_t b[4096];
	size_t n;
};

static void
put(struct buf *d, const void *p, size_t n)
{
	CU_ASSERT_FATAL(d->n + n <= sizeof(d->b));
	memcpy(d->b + d->n, p, n);
	d->n += n;
}

static void
tlv(struct buf *d, uint8_t tag, const void *p, size_t n)
{
	uint8_t h[4];
	size_t k = 0;

	h[k++] = tag;
	if (n < 0x80) {
		h[k++] = (uint8_t)n;
	} else {
		h[k++] = 0x82;
		h[k++] = (uint8_t)(n >> 8);
		h[k++] = (uint8_t)n;
	}
	put(d, h, k);
	put(d, p, n);
}

static void
wrap(struct buf *d, uint8_t tag, const struct buf *content)
{
	tlv(d, tag, content->b, content->n);
}

static const uint8_t UUID1[16] = {0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33,
                                  0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};

static struct berval
bv(const struct buf *d)
{
	struct berval v = {d->n, (char *)d->b};

	return v;
}

/* Sync State value: { state, entryUUID of `ulen` bytes, cookie when not NULL } */
static void
state_value(struct buf *d, int state, size_t ulen, const char *cookie)
{
	struct buf s = {.n = 0};
	uint8_t e[] = {0x0a, 0x01, (uint8_t)state};

	put(&s, e, sizeof(e));
	tlv(&s, 0x04, UUID1, ulen);
	if (cookie != NULL)
		tlv(&s, 0x04, cookie, strlen(cookie));
	d->n = 0;
	wrap(d, 0x30, &s);
}

static void
test_state(void)
{
	struct buf d;
	struct berval v, cookie;
	char key[40];
	int state;

	state_value(&d, LDAP_SYNC_ADD, 16, "rid=000,csn=1");
	v = bv(&d);
	CU_ASSERT_EQUAL_FATAL(es_sync_state_parse(&v, &state, key, &cookie), ES_OK);
	CU_ASSERT_EQUAL(state, LDAP_SYNC_ADD);
	CU_ASSERT_STRING_EQUAL(key, "11111111-2222-3333-4444-555555555555");
	CU_ASSERT_EQUAL(cookie.bv_len, 13);
	CU_ASSERT_STRING_EQUAL(cookie.bv_val, "rid=000,csn=1");
	free(cookie.bv_val);
	state_value(&d, LDAP_SYNC_PRESENT, 16, NULL);
	v = bv(&d);
	CU_ASSERT_EQUAL_FATAL(es_sync_state_parse(&v, &state, key, &cookie), ES_OK);
	CU_ASSERT_EQUAL(state, LDAP_SYNC_PRESENT);
	CU_ASSERT_PTR_NULL(cookie.bv_val);

	/* no value at all, or an empty one: never handed to liblber */
	v.bv_val = NULL;
	v.bv_len = 0;
	CU_ASSERT_EQUAL(es_sync_state_parse(&v, &state, key, &cookie), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "Sync State control without a value"));
	CU_ASSERT_EQUAL(es_sync_state_parse(NULL, &state, key, &cookie), ES_ERR_SOURCE);
	v.bv_val = (char *)"";
	CU_ASSERT_EQUAL(es_sync_state_parse(&v, &state, key, &cookie), ES_ERR_SOURCE);
	/* cut short: the SEQUENCE claims more than the value holds */
	state_value(&d, LDAP_SYNC_ADD, 16, "c");
	v = bv(&d);
	v.bv_len -= 2;
	CU_ASSERT_EQUAL(es_sync_state_parse(&v, &state, key, &cookie), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NULL(cookie.bv_val);
	/* bytes after the SEQUENCE */
	state_value(&d, LDAP_SYNC_ADD, 16, NULL);
	put(&d, "\x04\x00", 2);
	v = bv(&d);
	CU_ASSERT_EQUAL(es_sync_state_parse(&v, &state, key, &cookie), ES_ERR_SOURCE);
	/* a 15-byte entryUUID, an unknown state, a field too many inside */
	state_value(&d, LDAP_SYNC_ADD, 15, NULL);
	v = bv(&d);
	CU_ASSERT_EQUAL(es_sync_state_parse(&v, &state, key, &cookie), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "15 bytes"));
	state_value(&d, 7, 16, NULL);
	v = bv(&d);
	CU_ASSERT_EQUAL(es_sync_state_parse(&v, &state, key, &cookie), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "unknown state 7"));
	{
		struct buf s = {.n = 0};

		put(&s, "\x0a\x01\x01", 3);
		tlv(&s, 0x04, UUID1, 16);
		put(&s, "\x04\x01x\x01\x01\x00", 6);
		d.n = 0;
		wrap(&d, 0x30, &s);
		v = bv(&d);
		CU_ASSERT_EQUAL(es_sync_state_parse(&v, &state, key, &cookie), ES_ERR_SOURCE);
		CU_ASSERT_PTR_NULL(cookie.bv_val);
	}
	/* not a SEQUENCE; a SEQUENCE without the entryUUID */
	v.bv_val = (char *)"\x31\x03\x0a\x01\x01";
	v.bv_len = 5;
	CU_ASSERT_EQUAL(es_sync_state_parse(&v, &state, key, &cookie), ES_ERR_SOURCE);
	v.bv_val = (char *)"\x30\x03\x0a\x01\x01";
	CU_ASSERT_EQUAL(es_sync_state_parse(&v, &state, key, &cookie), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "no entryUUID"));
}

static void
test_done(void)
{
	struct berval v, cookie;
	bool del = true;

	v.bv_val = (char *)"\x30\x07\x04\x02"
	                   "c2"
	                   "\x01\x01\xff";
	v.bv_len = 9;
	CU_ASSERT_EQUAL_FATAL(es_sync_done_parse(&v, &cookie, &del), ES_OK);
	CU_ASSERT(del);
	CU_ASSERT_STRING_EQUAL(cookie.bv_val, "c2");
	free(cookie.bv_val);
	v.bv_val = (char *)"\x30\x00";
	v.bv_len = 2;
	CU_ASSERT_EQUAL_FATAL(es_sync_done_parse(&v, &cookie, &del), ES_OK);
	CU_ASSERT(!del); /* DEFAULT FALSE */
	CU_ASSERT_PTR_NULL(cookie.bv_val);
	v.bv_val = NULL;
	v.bv_len = 0;
	CU_ASSERT_EQUAL(es_sync_done_parse(&v, &cookie, &del), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "Sync Done control without a value"));
	v.bv_val = (char *)"\x30\x07\x04\x02"
	                   "c2"
	                   "\x01\x01";
	v.bv_len = 8;
	CU_ASSERT_EQUAL(es_sync_done_parse(&v, &cookie, &del), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NULL(cookie.bv_val);
	v.bv_val = (char *)"\x30\x03\x02\x01\x05"; /* an INTEGER where nothing belongs */
	v.bv_len = 5;
	CU_ASSERT_EQUAL(es_sync_done_parse(&v, &cookie, &del), ES_ERR_SOURCE);
}

/* IntermediateResponse { responseName `name` (none when NULL), responseValue `val` } */
static void
intermediate(struct buf *d, const char *name, const struct buf *val)
{
	struct buf s = {.n = 0};

	if (name != NULL)
		tlv(&s, 0x80, name, strlen(name));
	if (val != NULL)
		wrap(&s, 0x81, val);
	d->n = 0;
	wrap(d, 0x79, &s);
}

static void
test_info(void)
{
	struct buf d, val, seq, set;
	struct es_sync_info i;
	struct berval op;

	/* newcookie */
	val.n = 0;
	tlv(&val, 0x80, "c1", 2);
	intermediate(&d, LDAP_SYNC_INFO, &val);
	op = bv(&d);
	CU_ASSERT_EQUAL_FATAL(es_sync_info_parse(&op, &i), ES_OK);
	CU_ASSERT_EQUAL(i.kind, ES_SYNC_INFO_NEW_COOKIE);
	CU_ASSERT_STRING_EQUAL(i.cookie.bv_val, "c1");
	es_sync_info_clear(&i);
	/* refreshPresent { refreshDone FALSE }, and with refreshDone left to its default */
	val.n = 0;
	tlv(&val, 0xa2, "\x01\x01\x00", 3);
	intermediate(&d, LDAP_SYNC_INFO, &val);
	op = bv(&d);
	CU_ASSERT_EQUAL_FATAL(es_sync_info_parse(&op, &i), ES_OK);
	CU_ASSERT_EQUAL(i.kind, ES_SYNC_INFO_REFRESH_PRESENT);
	CU_ASSERT(!i.refresh_done);
	es_sync_info_clear(&i);
	val.n = 0;
	tlv(&val, 0xa1, "", 0);
	intermediate(&d, LDAP_SYNC_INFO, &val);
	op = bv(&d);
	CU_ASSERT_EQUAL_FATAL(es_sync_info_parse(&op, &i), ES_OK);
	CU_ASSERT_EQUAL(i.kind, ES_SYNC_INFO_REFRESH_DELETE);
	CU_ASSERT(i.refresh_done);
	es_sync_info_clear(&i);
	/* syncIdSet { cookie, refreshDeletes TRUE, { two UUIDs } } */
	set.n = 0;
	tlv(&set, 0x04, UUID1, 16);
	tlv(&set, 0x04, UUID1, 16);
	seq.n = 0;
	tlv(&seq, 0x04, "c3", 2);
	put(&seq, "\x01\x01\xff", 3);
	wrap(&seq, 0x31, &set);
	val.n = 0;
	wrap(&val, 0xa3, &seq);
	intermediate(&d, LDAP_SYNC_INFO, &val);
	op = bv(&d);
	CU_ASSERT_EQUAL_FATAL(es_sync_info_parse(&op, &i), ES_OK);
	CU_ASSERT_EQUAL(i.kind, ES_SYNC_INFO_ID_SET);
	CU_ASSERT(i.refresh_deletes);
	CU_ASSERT_EQUAL(i.ids.n, 2);
	CU_ASSERT_STRING_EQUAL(i.cookie.bv_val, "c3");
	es_sync_info_clear(&i);
	/* ... with a 15-byte UUID */
	set.n = 0;
	tlv(&set, 0x04, UUID1, 15);
	seq.n = 0;
	wrap(&seq, 0x31, &set);
	val.n = 0;
	wrap(&val, 0xa3, &seq);
	intermediate(&d, LDAP_SYNC_INFO, &val);
	op = bv(&d);
	CU_ASSERT_EQUAL(es_sync_info_parse(&op, &i), ES_ERR_SOURCE);
	es_sync_info_clear(&i);

	/* an empty responseName (ldap_parse_intermediate's assertion), none, another one */
	val.n = 0;
	tlv(&val, 0x80, "c1", 2);
	intermediate(&d, "", &val);
	op = bv(&d);
	CU_ASSERT_EQUAL(es_sync_info_parse(&op, &i), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "empty responseName"));
	es_sync_info_clear(&i);
	intermediate(&d, NULL, &val);
	op = bv(&d);
	CU_ASSERT_EQUAL(es_sync_info_parse(&op, &i), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "without a responseName"));
	es_sync_info_clear(&i);
	intermediate(&d, "1.2.3", &val);
	op = bv(&d);
	CU_ASSERT_EQUAL(es_sync_info_parse(&op, &i), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "1.2.3, not syncInfo"));
	es_sync_info_clear(&i);
	/* syncInfo without a value, with an empty one, with an unknown choice */
	intermediate(&d, LDAP_SYNC_INFO, NULL);
	op = bv(&d);
	CU_ASSERT_EQUAL(es_sync_info_parse(&op, &i), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "syncInfo without a value"));
	es_sync_info_clear(&i);
	val.n = 0;
	intermediate(&d, LDAP_SYNC_INFO, &val);
	op = bv(&d);
	CU_ASSERT_EQUAL(es_sync_info_parse(&op, &i), ES_ERR_SOURCE);
	es_sync_info_clear(&i);
	tlv(&val, 0xa5, "", 0);
	intermediate(&d, LDAP_SYNC_INFO, &val);
	op = bv(&d);
	CU_ASSERT_EQUAL(es_sync_info_parse(&op, &i), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "unknown choice"));
	es_sync_info_clear(&i);
	/* the protocolOp cut short, and not an intermediate response */
	val.n = 0;
	tlv(&val, 0x80, "c1", 2);
	intermediate(&d, LDAP_SYNC_INFO, &val);
	op = bv(&d);
	op.bv_len--;
	CU_ASSERT_EQUAL(es_sync_info_parse(&op, &i), ES_ERR_SOURCE);
	es_sync_info_clear(&i);
	op.bv_len++;
	d.b[0] = 0x78;
	CU_ASSERT_EQUAL(es_sync_info_parse(&op, &i), ES_ERR_SOURCE);
	es_sync_info_clear(&i);
	op.bv_val = NULL;
	op.bv_len = 0;
	CU_ASSERT_EQUAL(es_sync_info_parse(&op, &i), ES_ERR_SOURCE);
	es_sync_info_clear(&i);
}

static void
test_request(void)
{
	struct berval v, cookie = {3, (char *)"abc"};

	CU_ASSERT_EQUAL_FATAL(es_sync_request_encode(LDAP_SYNC_REFRESH_ONLY, &cookie, &v), ES_OK);
	CU_ASSERT_EQUAL(v.bv_len, 13);
	CU_ASSERT(memcmp(v.bv_val,
	                 "\x30\x0b\x0a\x01\x01\x04\x03"
	                 "abc"
	                 "\x01\x01\x00",
	                 13) == 0);
	ber_memfree(v.bv_val);
	CU_ASSERT_EQUAL_FATAL(es_sync_request_encode(LDAP_SYNC_REFRESH_ONLY, NULL, &v), ES_OK);
	CU_ASSERT_EQUAL(v.bv_len, 8);
	CU_ASSERT(memcmp(v.bv_val, "\x30\x06\x0a\x01\x01\x01\x01\x00", 8) == 0);
	ber_memfree(v.bv_val);
}

/* LDAPMessage { messageID 1, `op`, controls when `ctrls` is not NULL } appended to `d`. */
static void
message(struct buf *d, const struct buf *op, const struct buf *ctrls)
{
	struct buf s = {.n = 0};

	put(&s, "\x02\x01\x01", 3);
	put(&s, op->b, op->n);
	if (ctrls != NULL)
		wrap(&s, 0xa0, ctrls);
	wrap(d, 0x30, &s);
}

/* Control { oid, value (none when NULL) } appended to `d`. */
static void
control(struct buf *d, const char *oid, const struct buf *value)
{
	struct buf s = {.n = 0};

	tlv(&s, 0x04, oid, strlen(oid));
	if (value != NULL)
		wrap(&s, 0x04, value);
	wrap(d, 0x30, &s);
}

/* searchResultEntry uid=u1 { cn: User 1 }, with a Sync State control (its value `state`) when
 * `with_state` */
static void
entry(struct buf *d, const struct buf *state, bool with_state)
{
	struct buf op = {.n = 0}, s = {.n = 0}, attrs = {.n = 0}, a = {.n = 0}, vals = {.n = 0},
	           ctrls = {.n = 0};
	static const char dn[] = "uid=u1,ou=people,dc=corp,dc=test";

	tlv(&vals, 0x04, "User 1", 6);
	tlv(&a, 0x04, "cn", 2);
	wrap(&a, 0x31, &vals);
	wrap(&attrs, 0x30, &a);
	tlv(&s, 0x04, dn, strlen(dn));
	wrap(&s, 0x30, &attrs);
	wrap(&op, 0x64, &s);
	control(&ctrls, LDAP_CONTROL_SYNC_STATE, state);
	message(d, &op, with_state ? &ctrls : NULL);
}

/* searchResultDone success with a Sync Done control { cookie } */
static void
done(struct buf *d, const char *cookie)
{
	struct buf op = {.n = 0}, v = {.n = 0}, s = {.n = 0}, ctrls = {.n = 0};

	put(&op, "\x65\x07\x0a\x01\x00\x04\x00\x04\x00", 9);
	tlv(&s, 0x04, cookie, strlen(cookie));
	wrap(&v, 0x30, &s);
	control(&ctrls, LDAP_CONTROL_SYNC_DONE, &v);
	message(d, &op, &ctrls);
}

/* syncInfo newcookie, or an intermediate response named `name` */
static void
info(struct buf *d, const char *name, const struct buf *val)
{
	struct buf op;

	intermediate(&op, name, val);
	message(d, &op, NULL);
}

/*
 * es_source_sync against `answer`, played over ldapi:// and the connection shut for writing
 * after it (the read ends by the answer or the closed connection, never by a timeout).
 */
static enum es_err
play(const struct buf *answer, struct es_changes *ch)
{
	struct sockaddr_un sa;
	char path[128], u[400];
	struct es_conn_opts o = {u, 5, NULL, NULL, 0, NULL, NULL};
	struct es_conn *c = NULL;
	struct berval cookie = {2, (char *)"c0"};
	enum es_err r;
	size_t i, n;
	int lfd, sfd;

	snprintf(path, sizeof(path), "%s/ldapi", dir);
	unlink(path);
	n = (size_t)snprintf(u, sizeof(u), "ldapi://");
	for (i = 0; path[i] != '\0' && n + 4 < sizeof(u); i++)
		n += (size_t)(path[i] == '/' ? snprintf(u + n, 4, "%%2F")
		                             : snprintf(u + n, 2, "%c", path[i]));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	                listen(lfd, 1) == 0);
	CU_ASSERT_EQUAL_FATAL(es_conn_open(&o, &c, NULL, NULL), ES_OK);
	sfd = accept(lfd, NULL, NULL);
	close(lfd);
	CU_ASSERT_FATAL(sfd >= 0);
	CU_ASSERT_FATAL(write(sfd, answer->b, answer->n) == (ssize_t)answer->n);
	CU_ASSERT_FATAL(shutdown(sfd, SHUT_WR) == 0);
	r = es_source_sync(c, &rules[0], "dc=corp,dc=test", &cookie, ch);
	es_conn_close(c);
	close(sfd);
	return r;
}

static void
test_loop_good(void)
{
	struct buf a = {.n = 0}, state, val = {.n = 0};
	struct es_changes ch;

	tlv(&val, 0x80, "c1", 2);
	info(&a, LDAP_SYNC_INFO, &val);
	state_value(&state, LDAP_SYNC_ADD, 16, NULL);
	entry(&a, &state, true);
	put(&a, "\x30\x0b\x02\x01\x01\x73\x06\x04\x04ldap", 13); /* a referral: not followed */
	done(&a, "c2");
	CU_ASSERT_EQUAL_FATAL(play(&a, &ch), ES_OK);
	CU_ASSERT(ch.synced);
	CU_ASSERT(!ch.complete);
	CU_ASSERT(ch.present_phase); /* refreshDeletes FALSE */
	CU_ASSERT_EQUAL(ch.changed.n, 1);
	CU_ASSERT_STRING_EQUAL(ch.cookie.bv_val, "c2");
	es_changes_clear(&ch);
}

/* searchResultDone success with a Sync Done control { refreshDeletes TRUE }, no cookie */
static void
done_deletes(struct buf *d)
{
	struct buf op = {.n = 0}, v = {.n = 0}, ctrls = {.n = 0};

	put(&op, "\x65\x07\x0a\x01\x00\x04\x00\x04\x00", 9);
	put(&v, "\x30\x03\x01\x01\xff", 5);
	control(&ctrls, LDAP_CONTROL_SYNC_DONE, &v);
	message(d, &op, &ctrls);
}

static void
test_loop_phases(void)
{
	struct buf a = {.n = 0}, val, seq, set;
	struct es_changes ch;

	/* a present phase ended by refreshPresent (refreshDone FALSE), then a delete phase whose
	 * ids come in a syncIdSet; no cookie anywhere: the old one stays */
	val.n = 0;
	tlv(&val, 0xa2, "\x01\x01\x00", 3);
	info(&a, LDAP_SYNC_INFO, &val);
	set.n = 0;
	tlv(&set, 0x04, UUID1, 16);
	seq.n = 0;
	put(&seq, "\x01\x01\xff", 3);
	wrap(&seq, 0x31, &set);
	val.n = 0;
	wrap(&val, 0xa3, &seq);
	info(&a, LDAP_SYNC_INFO, &val);
	done_deletes(&a);
	CU_ASSERT_EQUAL_FATAL(play(&a, &ch), ES_OK);
	CU_ASSERT(!ch.present_phase); /* refreshDeletes TRUE */
	CU_ASSERT_EQUAL(ch.deleted.n, 1);
	CU_ASSERT(es_keyset_has(&ch.deleted, "11111111-2222-3333-4444-555555555555"));
	CU_ASSERT_STRING_EQUAL(ch.cookie.bv_val, "c0");
	es_changes_clear(&ch);
	/* a refreshPresent after the end of a delete phase is out of order */
	a.n = 0;
	val.n = 0;
	tlv(&val, 0xa1, "\x01\x01\x00", 3);
	info(&a, LDAP_SYNC_INFO, &val);
	val.n = 0;
	tlv(&val, 0xa2, "\x01\x01\x00", 3);
	info(&a, LDAP_SYNC_INFO, &val);
	done_deletes(&a);
	CU_ASSERT_EQUAL(play(&a, &ch), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "message 2 (intermediateResponse): syncInfo "
	                                              "refreshPresent after the end of a delete "
	                                              "phase"));
}

static void
test_loop_malformed(void)
{
	struct buf a, state, val;
	struct es_changes ch;

	/* a Sync State control without a value (libldap's reader: an assertion) */
	a.n = 0;
	entry(&a, NULL, true);
	done(&a, "c2");
	CU_ASSERT_EQUAL(play(&a, &ch), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "RFC 4533 refresh of dc=corp,dc=test: "
	                                              "message 1 (searchResultEntry): Sync State "
	                                              "control without a value"));
	CU_ASSERT_EQUAL(ch.changed.n, 0);
	CU_ASSERT_PTR_NULL(ch.cookie.bv_val);
	/* an intermediate response with an empty name (ldap_parse_intermediate: an assertion) */
	a.n = 0;
	val.n = 0;
	tlv(&val, 0x80, "c1", 2);
	info(&a, "", &val);
	done(&a, "c2");
	CU_ASSERT_EQUAL(play(&a, &ch), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "message 1 (intermediateResponse): "
	                                              "intermediate response with an empty "
	                                              "responseName"));
	/* a message a search never receives (libldap's reader leaked it) */
	a.n = 0;
	put(&a, "\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00", 14);
	done(&a, "c2");
	CU_ASSERT_EQUAL(play(&a, &ch), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "message 1 (a message a search never"));
	/* a protocolOp with tag 0: ldap_result returns 0 as for a timeout, with the message */
	a.n = 0;
	put(&a, "\x30\x07\x02\x01\x01\x00\x02\x04\x00", 9);
	done(&a, "c2");
	CU_ASSERT_EQUAL(play(&a, &ch), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "message 1 (a message a search never"));
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "type 0x0"));
	/* an entry without a Sync State control would be taken for gone in a present phase */
	a.n = 0;
	state_value(&state, LDAP_SYNC_ADD, 16, NULL);
	entry(&a, &state, false);
	done(&a, "c2");
	CU_ASSERT_EQUAL(play(&a, &ch), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "no Sync State control"));
	/* success without Sync Done */
	a.n = 0;
	put(&a, "\x30\x0c\x02\x01\x01\x65\x07\x0a\x01\x00\x04\x00\x04\x00", 14);
	CU_ASSERT_EQUAL(play(&a, &ch), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "success without a Sync Done control"));
	/* refreshDone TRUE: the end of refreshAndPersist's refresh stage, not of refreshOnly */
	a.n = 0;
	val.n = 0;
	tlv(&val, 0xa2, "", 0);
	info(&a, LDAP_SYNC_INFO, &val);
	done(&a, "c2");
	CU_ASSERT_EQUAL(play(&a, &ch), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "refreshPresent with refreshDone TRUE"));
}

static void
test_loop_cut(void)
{
	struct buf a = {.n = 0}, state;
	struct es_changes ch;

	/* the connection closes after an entry: the error says so, not "Success" */
	state_value(&state, LDAP_SYNC_ADD, 16, NULL);
	entry(&a, &state, true);
	CU_ASSERT_EQUAL(play(&a, &ch), ES_ERR_CONNECT);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "the connection ended before "
	                                              "searchResultDone, after 1 messages"));
	CU_ASSERT_PTR_NULL(strstr(es_errdetail(), "Success"));
	CU_ASSERT_EQUAL(ch.changed.n, 0);
	/* and with nothing at all */
	a.n = 0;
	CU_ASSERT_EQUAL(play(&a, &ch), ES_ERR_CONNECT);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "after 0 messages"));
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"Sync State control", test_state},
	        {"Sync Done control", test_done},
	        {"syncInfo intermediate response", test_info},
	        {"Sync Request control", test_request},
	        {"a refresh read whole", test_loop_good},
	        {"present and delete phases", test_loop_phases},
	        {"malformed messages fail the read, named", test_loop_malformed},
	        {"a refresh without its searchResultDone", test_loop_cut},
	        CU_TEST_INFO_NULL,
	};
	size_t i;
	int r;

	snprintf(dir, sizeof(dir), "%s", "/tmp/umedge-syncmsg.XXXXXX");
	if (mkdtemp(dir) == NULL || es_rules_default(&rules, &nrules) != ES_OK)
		return 1;
	r = tu_run("es_syncmsg", tests);
	for (i = 0; i < nrules; i++)
		es_rule_clear(&rules[i]);
	free(rules);
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/ldapi", dir);
		unlink(path);
		rmdir(dir);
	}
	return r;
}

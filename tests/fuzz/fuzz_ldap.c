/*
 * The LDAP answers edgesync reads from a source or an edge, as they arrive on the wire: each input
 * is the server's side of one connection, played to edgesync's real readers over an ldapi://
 * socket (no TLS; libldap parses the messages exactly as over LDAPS):
 *
 *   mode 0  es_source_full: paged search results (entries, the RFC 2696 cookie), then screening
 *   mode 1  es_source_sync: an RFC 4533 refresh (Sync State controls on entries, syncInfo
 *           intermediate responses, the Sync Done control and its cookie), from a cookie or none
 *   mode 2  es_source_dirsync: DirSync answers (objectGUIDs, tombstones, the response control)
 *   mode 3  es_edge_load: an edge's copies (umedgeSourceUUID, umedgeArea)
 *   mode 4  es_subscription_list: subscription objects (pins, credentials, per-area cookies
 *           read back with es_subscription_cookie)
 *
 * Input: a mode byte, a flags byte (bit 0: screen as for Active Directory; bit 1: a cookie
 * follows as a length byte and its bytes), then messages, each a message id byte, a two-byte
 * big-endian length and the LDAPMessage's content after its messageID (protocolOp and optional
 * controls, RFC 4511 section 4.1.1). The harness wraps each in its SEQUENCE. Everything is
 * written before edgesync reads, then the server's side is shut for writing: libldap sees the
 * end of the answer as a closed connection, so nothing waits on a timeout.
 *
 * A message whose protocolOp does not even start with a tag and a length that fit is not played
 * (the input is skipped): libldap 2.5.13 drops such a message itself, before edgesync sees
 * anything, and leaks doing so (result.c, try_read1msg: after ldap_find_request_by_msgid took a
 * reference on the request, `ber_peek_tag(ber) == LBER_ERROR` returns without
 * ldap_return_request, and the request with its BER, about 4 KB, is never freed, unbind or not;
 * unchanged upstream). Nor, for an RFC 4533 refresh, is a Sync State or Sync Done control
 * without a value, or a syncInfo message without one: libldap's ldap_sync_init, which reads and
 * parses the refresh itself, hands the missing value to liblber's ber_init, whose assertion ends
 * the process (libldap 2.5.13, ldap_sync.c) before edgesync's callbacks run. That one is a way for
 * a broken or hostile source to stop the replicator, and is not fixed: edgesync would have to read
 * the refresh with its own loop to refuse such a message. The same loop leaks a message of a type
 * a search never receives (ldap_sync_init returns without ldap_msgfree), and an intermediate
 * response without a responseName meets an assertion (ldap_parse_intermediate). So a refresh is
 * played only with entries, references, intermediate responses and results whose layout is sound
 * (the protocolOp, then at most one list of controls, each with a value, nothing left over; an
 * intermediate response with a responseName); what is inside the elements stays the fuzzer's, as
 * does everything about the other modes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "edgesync/conn.h"
#include "edgesync/dirsync.h"
#include "edgesync/edge.h"
#include "edgesync/entry.h"
#include "edgesync/rule.h"
#include "edgesync/source.h"
#include "edgesync/subscription.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], sock_path[128], url[256];
static int lfd = -1;
static struct es_rule *rules;
static size_t nrules;

static void
cleanup(void)
{
	if (lfd >= 0)
		close(lfd);
	unlink(sock_path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sa;
	size_t i, o = 0;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s", "/tmp/umedge-fuzz-ldap.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(sock_path, sizeof(sock_path), "%s/s", dir);
	/* ldapi://PATH, the path percent-encoded */
	o = (size_t)snprintf(url, sizeof(url), "ldapi://");
	for (i = 0; sock_path[i] != '\0' && o + 4 < sizeof(url); i++)
		o += (size_t)(sock_path[i] == '/' ? snprintf(url + o, 4, "%%2F")
		                                  : snprintf(url + o, 2, "%c", sock_path[i]));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 4) != 0)
		abort();
	atexit(cleanup);
	if (es_rules_default(&rules, &nrules) != ES_OK || nrules == 0)
		abort();
	return 0;
}

static void
put_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			abort(); /* the socket buffer holds what -max_len allows */
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Whether `p` starts with one BER element (a one-byte tag) whose length fits in `n` bytes. */
static bool
element_fits(const uint8_t *p, size_t n)
{
	size_t len = 0, i, k;

	if (n < 2 || (p[0] & 0x1f) == 0x1f)
		return false;
	if (p[1] < 0x80)
		return (size_t)p[1] <= n - 2;
	k = p[1] & 0x7f;
	if (k == 0 || k > 3 || n < 2 + k)
		return false;
	for (i = 0; i < k; i++)
		len = len << 8 | p[2 + i];
	return len <= n - 2 - k;
}

/* The header of the element at `p`: its tag, the header's size and the content's length. */
static bool
element(const uint8_t *p, size_t n, uint8_t *tag, size_t *hdr, size_t *len)
{
	size_t i, k;

	if (!element_fits(p, n))
		return false;
	*tag = p[0];
	if (p[1] < 0x80) {
		*hdr = 2;
		*len = p[1];
		return true;
	}
	k = p[1] & 0x7f;
	*hdr = 2 + k;
	*len = 0;
	for (i = 0; i < k; i++)
		*len = *len << 8 | p[2 + i];
	return true;
}

static bool
is_sync_info(const uint8_t *p, size_t n)
{
	return n == strlen(LDAP_SYNC_INFO) && memcmp(p, LDAP_SYNC_INFO, n) == 0;
}

/*
 * Whether a message's content is well formed enough for libldap's refresh reader: the protocolOp,
 * then nothing or exactly one controls element, each control a SEQUENCE of its OID, an optional
 * criticality and a value, nothing left over; a sync control or syncInfo message with a value
 * (see the top of the file). What is inside the elements stays the fuzzer's.
 */
static bool
refresh_playable(const uint8_t *p, size_t n)
{
	size_t h, len, ch, clen, eh, elen, rest;
	uint8_t tag, t;
	const uint8_t *c, *e;

	if (!element(p, n, &tag, &h, &len))
		return false;
	if (tag == LDAP_RES_INTERMEDIATE) { /* [0] responseName, [1] responseValue */
		c = p + h;
		clen = len;
		/* an empty responseName (or one a NUL ends at once): ldap_parse_intermediate's
		 * assertion ends the process */
		if (!element(c, clen, &t, &eh, &elen) || t != 0x80 || elen == 0 || c[eh] == '\0')
			return false;
		if (is_sync_info(c + eh, elen)) {
			c += eh + elen;
			clen -= eh + elen;
			if (!element(c, clen, &t, &eh, &elen) || t != 0x81 || elen == 0)
				return false;
		}
	}
	p += h + len;
	n -= h + len;
	if (n == 0)
		return true;
	if (!element(p, n, &tag, &h, &len) || tag != 0xa0 || h + len != n)
		return false;
	for (c = p + h, clen = len; clen > 0; c += ch + elen, clen -= ch + elen) {
		/* Control ::= SEQUENCE { controlType, criticality DEFAULT FALSE, controlValue } */
		if (!element(c, clen, &t, &ch, &elen) || t != 0x30)
			return false;
		e = c + ch;
		rest = elen;
		if (!element(e, rest, &t, &eh, &len) || t != 0x04)
			return false;
		e += eh + len;
		rest -= eh + len;
		if (rest > 0 && element(e, rest, &t, &eh, &len) && t == 0x01) {
			e += eh + len;
			rest -= eh + len;
		}
		if (!element(e, rest, &t, &eh, &len) || t != 0x04 || len == 0 || eh + len != rest)
			return false;
	}
	return true;
}

/* Whether every message of the input can be played (see the top of the file). */
static bool
playable(const uint8_t *p, size_t n, bool refresh)
{
	size_t len;

	while (n >= 3) {
		len = (size_t)p[1] << 8 | p[2];
		if (len > n - 3)
			len = n - 3;
		if (!element_fits(p + 3, len))
			return false;
		if (refresh &&
		    (!refresh_playable(p + 3, len) ||
		     (p[3] != LDAP_RES_SEARCH_ENTRY && p[3] != LDAP_RES_SEARCH_RESULT &&
		      p[3] != LDAP_RES_SEARCH_REFERENCE && p[3] != LDAP_RES_INTERMEDIATE)))
			return false;
		p += 3 + len;
		n -= 3 + len;
	}
	return true;
}

/* The messages of the input, each wrapped as SEQUENCE { messageID INTEGER, content }. */
static void
play(int fd, const uint8_t *p, size_t n)
{
	uint8_t hdr[8];
	size_t len, body, h;

	while (n >= 3) {
		len = (size_t)p[1] << 8 | p[2];
		if (len > n - 3)
			len = n - 3;
		body = 3 + len; /* 02 01 ID, then the content */
		h = 0;
		hdr[h++] = 0x30;
		if (body < 0x80) {
			hdr[h++] = (uint8_t)body;
		} else if (body < 0x100) {
			hdr[h++] = 0x81;
			hdr[h++] = (uint8_t)body;
		} else {
			hdr[h++] = 0x82;
			hdr[h++] = (uint8_t)(body >> 8);
			hdr[h++] = (uint8_t)body;
		}
		hdr[h++] = 0x02;
		hdr[h++] = 0x01;
		hdr[h++] = p[0] & 0x7f; /* a positive id */
		put_all(fd, hdr, h);
		put_all(fd, p + 3, len);
		p += 3 + len;
		n -= 3 + len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct es_conn_opts o = {.url = url, .timeout = 5};
	struct es_conn *c = NULL;
	struct es_changes ch;
	struct es_entryset edge;
	struct es_subscription **subs = NULL;
	struct berval cookie = {0, NULL};
	const struct es_rule *r;
	size_t nsubs = 0, i, j;
	int mode, flags, sfd = -1, dflags = 0;

	if (size < 2 || size > 60000)
		return 0;
	mode = data[0] % 5;
	flags = data[1];
	data += 2;
	size -= 2;
	if (flags & 2) {
		if (size < 1 || data[0] > size - 1)
			return 0;
		cookie.bv_len = data[0];
		cookie.bv_val = (char *)data + 1;
		data += 1 + cookie.bv_len;
		size -= 1 + cookie.bv_len;
	}
	if (!playable(data, size, mode == 1))
		return 0;
	r = &rules[(size_t)(flags >> 4) % nrules];
	if (es_conn_open(&o, &c, NULL, NULL) != ES_OK)
		abort();
	if ((sfd = accept(lfd, NULL, NULL)) < 0)
		abort();
	play(sfd, data, size);
	if (shutdown(sfd, SHUT_WR) != 0)
		abort();

	es_changes_init(&ch);
	es_entryset_init(&edge);
	switch (mode) {
	case 0:
		if (es_source_full(c, r, "dc=corp,dc=test", &ch) == ES_OK)
			(void)es_source_screen(r, flags & 1, &ch);
		break;
	case 1:
		if (es_source_sync(c, r, "dc=corp,dc=test", (flags & 2) ? &cookie : NULL, &ch) ==
		    ES_OK)
			(void)es_source_screen(r, false, &ch);
		break;
	case 2:
		if (es_source_dirsync(c, r, "OU=People,DC=corp,DC=test", "DC=corp,DC=test",
		                      (flags & 2) ? &cookie : NULL, &dflags, &ch) == ES_OK)
			(void)es_source_screen(r, true, &ch);
		break;
	case 3:
		(void)es_edge_load(c, r, "dc=edge1,dc=test", &edge);
		break;
	default:
		if (es_subscription_list(c, "cn=Edge Subscriptions,dc=corp,dc=test", &subs,
		                         &nsubs) != ES_OK)
			break;
		for (i = 0; i < nsubs; i++)
			for (j = 0; j < nrules; j++)
				(void)es_subscription_cookie(subs[i], rules[j].name, "x");
		es_subscription_list_free(subs, nsubs);
		break;
	}
	es_entryset_clear(&edge);
	es_changes_clear(&ch);
	es_conn_close(c);
	close(sfd);
	return 0;
}

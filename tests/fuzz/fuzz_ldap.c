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
 * unchanged upstream). Every other message is played, an RFC 4533 refresh's too: edgesync reads
 * a refresh with its own loop and parses its controls and syncInfo messages itself (syncmsg.c),
 * so a Sync State or Sync Done control without a value, a syncInfo message without one, an
 * intermediate response with an empty name or a message a search never receives must fail the
 * read cleanly (libldap's ldap_sync_init ended the process on the first three and leaked the
 * last).
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

/* Whether every message of the input can be played (see the top of the file). */
static bool
playable(const uint8_t *p, size_t n)
{
	size_t len;

	while (n >= 3) {
		len = (size_t)p[1] << 8 | p[2];
		if (len > n - 3)
			len = n - 3;
		if (!element_fits(p + 3, len))
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
	if (!playable(data, size))
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

/*
 * The messages of an RFC 4533 refresh, encoded and parsed by edgesync with liblber (the refresh
 * loop is es_source_sync's, source.c). Every parser takes the bytes of one value, checks that
 * they are present and whole before liblber reads them (liblber asserts on a NULL buffer), reads
 * every field the RFC defines, refuses anything left over, and names what was wrong in the
 * error detail (ES_ERR_SOURCE; ES_ERR_NOMEM when memory runs out).
 *
 *   Sync Request control value (section 2.2): SEQUENCE { mode ENUMERATED, cookie OPTIONAL,
 *     reloadHint BOOLEAN }
 *   Sync State control value (2.3): SEQUENCE { state ENUMERATED, entryUUID (16 bytes),
 *     cookie OPTIONAL }
 *   Sync Done control value (2.4): SEQUENCE { cookie OPTIONAL, refreshDeletes DEFAULT FALSE }
 *   syncInfo intermediate response (2.5): IntermediateResponse ([APPLICATION 25]) named
 *     1.3.6.1.4.1.4203.1.9.1.4 whose value is a CHOICE of newcookie [0], refreshDelete [1] and
 *     refreshPresent [2] (each { cookie OPTIONAL, refreshDone DEFAULT TRUE }), syncIdSet [3]
 *     { cookie OPTIONAL, refreshDeletes DEFAULT FALSE, syncUUIDs SET OF (16 bytes) }
 *
 * Cookies come back owned (malloc'd, NUL-terminated after bv_len bytes; bv_val NULL when the
 * message had none); UUIDs in their text form (es_uuid_format).
 */
#ifndef EDGESYNC_SYNCMSG_H
#define EDGESYNC_SYNCMSG_H

#include <stdbool.h>

#include <ldap.h>

#include "edgesync/error.h"
#include "edgesync/source.h"

/* *out owned (ber_memfree its bv_val). reloadHint is FALSE, as libldap's ldap_sync_init sent. */
enum es_err es_sync_request_encode(int mode, const struct berval *cookie,
                                   struct berval *out) ES_WUR;

/* state: LDAP_SYNC_PRESENT, _ADD, _MODIFY or _DELETE (another value is an error). */
enum es_err es_sync_state_parse(const struct berval *value, int *state, char key[40],
                                struct berval *cookie) ES_WUR;

enum es_err es_sync_done_parse(const struct berval *value, struct berval *cookie,
                               bool *refresh_deletes) ES_WUR;

enum es_sync_info_kind {
	ES_SYNC_INFO_NEW_COOKIE,
	ES_SYNC_INFO_REFRESH_DELETE,
	ES_SYNC_INFO_REFRESH_PRESENT,
	ES_SYNC_INFO_ID_SET,
};

struct es_sync_info {
	enum es_sync_info_kind kind;
	struct berval cookie; /* owned; bv_val NULL when absent */
	bool refresh_done;    /* refreshDelete, refreshPresent */
	bool refresh_deletes; /* syncIdSet: the ids are deleted (else present) */
	struct es_keyset ids; /* syncIdSet */
};

void es_sync_info_clear(struct es_sync_info *i);

/*
 * `op`: the bytes of an IntermediateResponse protocolOp, its [APPLICATION 25] tag and length
 * included. A responseName other than syncInfo's, an empty or absent one, or no value, is an
 * error. *out is initialized first; es_sync_info_clear it whatever the result.
 */
enum es_err es_sync_info_parse(const struct berval *op, struct es_sync_info *out) ES_WUR;

/*
 * The protocolOp of a message ldap_result() returned, as bytes borrowed from the message (valid
 * while it is): its tag, length and content. ES_ERR_SOURCE when libldap holds no readable
 * element there.
 */
enum es_err es_sync_message_op(LDAPMessage *m, struct berval *op) ES_WUR;

#endif

/*
 * Reading an area of an Active Directory source with the DirSync control
 * (LDAP_SERVER_DIRSYNC_OID 1.2.840.113556.1.4.841, [MS-ADTS] 3.1.1.3.4.1.3):
 *
 *   - without a cookie: the server's cookie first (a DirSync search nothing matches), then the
 *     whole content of the area by a paged search (es_source_full: DirSync answers leave out
 *     some attributes, cn among them), `complete`; a change made in between comes again in the
 *     next cycle;
 *   - with the cookie of the last cycle: the objects changed since, whatever changed on them
 *     (filter (objectClass=*): a change that makes an entry stop matching the rule, and a
 *     tombstone, whose attributes are gone, must be seen too). DirSync returns only the
 *     attributes that changed, so each changed object still under the rule's base is read again
 *     whole, by objectGUID, with the rule's filter; what is deleted (isDeleted, seen through the
 *     show-deleted control 1.2.840.113556.1.4.417), moved out of the base or no longer matching
 *     is a deleted key. The cost is what changed, not what exists.
 *
 * DirSync searches the naming context `nc` (AD takes it only at the root of a partition) and
 * cannot be paged; it bounds each answer itself and says "more data", and the loop asks again
 * with the cookie it returned. Keys are objectGUIDs in their standard string form, so renames
 * and moves inside the base keep the edge entry. An object without objectGUID fails the area.
 *
 * `flags` (in and out): the DirSync flags. Without the "Replicating Directory Changes" right
 * (not a domain administrator) AD refuses a DirSync search without
 * LDAP_CONTROL_X_DIRSYNC_OBJECT_SECURITY (insufficientAccessRights): the search is made again
 * with it (AD then returns what the account may read), and *flags keeps it for the next area.
 * Such an account may not read tombstones either, so with that flag an incremental read also
 * reads the area's keys (objectGUID only, paged) as a present phase: deletes cost a key per
 * entry of the area, changes still only what changed.
 *
 * A cookie the server refuses (expired, from another server, garbage): ES_ERR_COOKIE; the caller
 * starts again without one (a full resync, compared with the edge, so nothing is lost there).
 */
#ifndef EDGESYNC_DIRSYNC_H
#define EDGESYNC_DIRSYNC_H

#include <ldap.h>

#include "edgesync/conn.h"
#include "edgesync/error.h"
#include "edgesync/rule.h"
#include "edgesync/source.h"

#define ES_DIRSYNC_MAX_BYTES 1048576 /* the size of one answer the server is asked to keep to */

enum es_err es_source_dirsync(struct es_conn *c, const struct es_rule *r, const char *base,
                              const char *nc, const struct berval *cookie, int *flags,
                              struct es_changes *out) ES_WUR;

/*
 * The BER value of a DirSync request control: SEQUENCE { flags, maxBytes, cookie }
 * ([MS-ADTS] 3.1.1.3.4.1.3), and the response's SEQUENCE { moreResults, unused, cookie }.
 * Encoded and decoded with liblber. es_dirsync_parse: *cookie owned (ber_memfree its bv_val).
 */
enum es_err es_dirsync_encode(int flags, int max_bytes, const struct berval *cookie,
                              struct berval *out) ES_WUR;
enum es_err es_dirsync_parse(const struct berval *value, bool *more, struct berval *cookie) ES_WUR;

#endif

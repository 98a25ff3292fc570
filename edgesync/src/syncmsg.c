/* The values of an RFC 4533 refresh, read with liblber (syncmsg.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "edgesync/entry.h"
#include "edgesync/syncmsg.h"
#include "internal.h"

/*
 * libldap's accessor to a message's BER, read position at the protocolOp (ldap_pvt.h, which
 * Debian does not install; exported under OPENLDAP_2.5 and used by slapd's back-ldap and
 * back-meta). ldap_parse_intermediate cannot be used: 2.5.13 asserts on an empty
 * responseName. unit_es_syncmsg reads an intermediate response through it.
 */
#if LDAP_VENDOR_VERSION < 20500 || LDAP_VENDOR_VERSION >= 20700
#error "check that libldap still exports ldap_get_message_ber as 2.5 and 2.6 do"
#endif
BerElement *ldap_get_message_ber(LDAPMessage *m);

static ber_len_t
remaining(BerElement *ber)
{
	ber_len_t n = 0;

	if (ber_get_option(ber, LBER_OPT_REMAINING_BYTES, &n) != LBER_OPT_SUCCESS)
		return 0;
	return n;
}

/* Opens `v` and enters its one element, which must have `tag` and fill `v` to the last byte. */
static enum es_err
open_value(const struct berval *v, ber_tag_t tag, const char *what, BerElement **out)
{
	BerElement *ber;
	ber_tag_t t;
	ber_len_t len = 0, rest;

	*out = NULL;
	/* liblber asserts on a NULL buffer: nothing reaches it that is not there */
	if (v == NULL || v->bv_val == NULL || v->bv_len == 0)
		return es_seterr(ES_ERR_SOURCE, "%s without a value", what);
	if ((ber = ber_init((struct berval *)v)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "%s", what);
	if ((t = ber_skip_tag(ber, &len)) == LBER_DEFAULT) {
		ber_free(ber, 1);
		return es_seterr(ES_ERR_SOURCE, "%s: its %lu bytes are not a BER element cut whole",
		                 what, (unsigned long)v->bv_len);
	}
	if (t != tag) {
		ber_free(ber, 1);
		return es_seterr(ES_ERR_SOURCE, "%s: tag 0x%lx where 0x%lx belongs", what,
		                 (unsigned long)t, (unsigned long)tag);
	}
	if (len != (rest = remaining(ber))) {
		ber_free(ber, 1);
		return es_seterr(ES_ERR_SOURCE,
		                 "%s: an element of %lu bytes in a value that holds %lu after its "
		                 "header",
		                 what, (unsigned long)len, (unsigned long)rest);
	}
	*out = ber;
	return ES_OK;
}

static enum es_err
nothing_left(BerElement *ber, const char *what)
{
	ber_len_t n = remaining(ber);

	if (n != 0)
		return es_seterr(ES_ERR_SOURCE, "%s: %lu bytes after its last field", what,
		                 (unsigned long)n);
	return ES_OK;
}

static bool
next_is(BerElement *ber, ber_tag_t tag)
{
	ber_len_t len;

	return remaining(ber) > 0 && ber_peek_tag(ber, &len) == tag;
}

static enum es_err
set_cookie(struct berval *dst, const struct berval *src)
{
	free(dst->bv_val);
	dst->bv_len = 0;
	if ((dst->bv_val = malloc(src->bv_len + 1)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "cookie");
	if (src->bv_len > 0)
		memcpy(dst->bv_val, src->bv_val, src->bv_len);
	dst->bv_val[src->bv_len] = '\0';
	dst->bv_len = src->bv_len;
	return ES_OK;
}

/* cookie syncCookie OPTIONAL (an OCTET STRING) */
static enum es_err
opt_cookie(BerElement *ber, const char *what, struct berval *cookie)
{
	struct berval bv;

	if (!next_is(ber, LDAP_TAG_SYNC_COOKIE))
		return ES_OK;
	if (ber_scanf(ber, "m", &bv) == LBER_ERROR)
		return es_seterr(ES_ERR_SOURCE, "%s: its cookie cannot be read", what);
	return set_cookie(cookie, &bv);
}

/* a BOOLEAN with a DEFAULT */
static enum es_err
opt_bool(BerElement *ber, const char *what, const char *field, bool *v)
{
	ber_int_t b = 0;

	if (!next_is(ber, LBER_BOOLEAN))
		return ES_OK;
	if (ber_scanf(ber, "b", &b) == LBER_ERROR)
		return es_seterr(ES_ERR_SOURCE, "%s: %s cannot be read", what, field);
	*v = b != 0;
	return ES_OK;
}

static enum es_err
uuid(const struct berval *raw, const char *what, char key[40])
{
	if (raw->bv_len != 16 || !es_uuid_format(raw, key))
		return es_seterr(ES_ERR_SOURCE, "%s: an entryUUID of %lu bytes (16 expected)", what,
		                 (unsigned long)raw->bv_len);
	return ES_OK;
}

enum es_err
es_sync_request_encode(int mode, const struct berval *cookie, struct berval *out)
{
	BerElement *ber;
	enum es_err r = ES_OK;
	int rc;

	out->bv_val = NULL;
	out->bv_len = 0;
	if ((ber = ber_alloc_t(LBER_USE_DER)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "Sync Request control");
	/* reloadHint FALSE, written out as libldap's ldap_sync_init did (slapd accepts both) */
	if (cookie != NULL && cookie->bv_val != NULL)
		rc = ber_printf(ber, "{eOb}", (ber_int_t)mode, cookie, (ber_int_t)0);
	else
		rc = ber_printf(ber, "{eb}", (ber_int_t)mode, (ber_int_t)0);
	if (rc == -1 || ber_flatten2(ber, out, 1) == -1)
		r = es_seterr(ES_ERR_NOMEM, "Sync Request control: BER encoding failed");
	ber_free(ber, 1);
	return r;
}

/* A failed parse hands out no cookie. */
static void
drop_cookie(struct berval *cookie)
{
	free(cookie->bv_val);
	cookie->bv_val = NULL;
	cookie->bv_len = 0;
}

enum es_err
es_sync_state_parse(const struct berval *value, int *state, char key[40], struct berval *cookie)
{
	static const char what[] = "Sync State control";
	BerElement *ber = NULL;
	struct berval id;
	ber_int_t st = -1;
	enum es_err r;

	*state = -1;
	key[0] = '\0';
	cookie->bv_val = NULL;
	cookie->bv_len = 0;
	if ((r = open_value(value, LBER_SEQUENCE, what, &ber)) != ES_OK)
		goto out;
	if (!next_is(ber, LBER_ENUMERATED) || ber_scanf(ber, "e", &st) == LBER_ERROR) {
		r = es_seterr(ES_ERR_SOURCE, "%s: no state", what);
		goto out;
	}
	if (st != LDAP_SYNC_PRESENT && st != LDAP_SYNC_ADD && st != LDAP_SYNC_MODIFY &&
	    st != LDAP_SYNC_DELETE) {
		r = es_seterr(ES_ERR_SOURCE, "%s: unknown state %ld", what, (long)st);
		goto out;
	}
	if (!next_is(ber, LBER_OCTETSTRING) || ber_scanf(ber, "m", &id) == LBER_ERROR) {
		r = es_seterr(ES_ERR_SOURCE, "%s: no entryUUID", what);
		goto out;
	}
	if ((r = uuid(&id, what, key)) != ES_OK || (r = opt_cookie(ber, what, cookie)) != ES_OK ||
	    (r = nothing_left(ber, what)) != ES_OK)
		goto out;
	*state = (int)st;
	r = ES_OK;
out:
	ber_free(ber, 1);
	if (r != ES_OK)
		drop_cookie(cookie);
	return r;
}

enum es_err
es_sync_done_parse(const struct berval *value, struct berval *cookie, bool *refresh_deletes)
{
	static const char what[] = "Sync Done control";
	BerElement *ber = NULL;
	enum es_err r;

	cookie->bv_val = NULL;
	cookie->bv_len = 0;
	*refresh_deletes = false;
	if ((r = open_value(value, LBER_SEQUENCE, what, &ber)) != ES_OK ||
	    (r = opt_cookie(ber, what, cookie)) != ES_OK ||
	    (r = opt_bool(ber, what, "refreshDeletes", refresh_deletes)) != ES_OK ||
	    (r = nothing_left(ber, what)) != ES_OK)
		goto out;
	r = ES_OK;
out:
	ber_free(ber, 1);
	if (r != ES_OK)
		drop_cookie(cookie);
	return r;
}

void
es_sync_info_clear(struct es_sync_info *i)
{
	free(i->cookie.bv_val);
	es_keyset_clear(&i->ids);
	memset(i, 0, sizeof(*i));
	es_keyset_init(&i->ids);
}

/* The syncInfoValue CHOICE (RFC 4533 section 2.5). */
static enum es_err
info_value(const struct berval *v, struct es_sync_info *out)
{
	static const char what[] = "syncInfo";
	BerElement *ber = NULL;
	struct berval bv;
	ber_len_t len;
	ber_tag_t t;
	enum es_err r;
	char key[40];

	if (v->bv_len == 0)
		return es_seterr(ES_ERR_SOURCE, "%s with an empty value", what);
	if ((ber = ber_init((struct berval *)v)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "%s", what);
	t = ber_peek_tag(ber, &len);
	switch (t) {
	case LDAP_TAG_SYNC_NEW_COOKIE:
		out->kind = ES_SYNC_INFO_NEW_COOKIE;
		if (ber_scanf(ber, "m", &bv) == LBER_ERROR) {
			r = es_seterr(ES_ERR_SOURCE, "%s newcookie: cut short", what);
			goto out;
		}
		if ((r = set_cookie(&out->cookie, &bv)) != ES_OK)
			goto out;
		break;
	case LDAP_TAG_SYNC_REFRESH_DELETE:
	case LDAP_TAG_SYNC_REFRESH_PRESENT:
		out->kind = t == LDAP_TAG_SYNC_REFRESH_DELETE ? ES_SYNC_INFO_REFRESH_DELETE
		                                              : ES_SYNC_INFO_REFRESH_PRESENT;
		out->refresh_done = true; /* DEFAULT TRUE */
		if (ber_skip_tag(ber, &len) == LBER_DEFAULT || len != remaining(ber)) {
			r = es_seterr(ES_ERR_SOURCE, "%s %s: its element does not fill the value",
			              what,
			              t == LDAP_TAG_SYNC_REFRESH_DELETE ? "refreshDelete"
			                                                : "refreshPresent");
			goto out;
		}
		if ((r = opt_cookie(ber, what, &out->cookie)) != ES_OK ||
		    (r = opt_bool(ber, what, "refreshDone", &out->refresh_done)) != ES_OK)
			goto out;
		break;
	case LDAP_TAG_SYNC_ID_SET:
		out->kind = ES_SYNC_INFO_ID_SET;
		if (ber_skip_tag(ber, &len) == LBER_DEFAULT || len != remaining(ber)) {
			r = es_seterr(ES_ERR_SOURCE,
			              "%s syncIdSet: its element does not fill the value", what);
			goto out;
		}
		if ((r = opt_cookie(ber, what, &out->cookie)) != ES_OK ||
		    (r = opt_bool(ber, what, "refreshDeletes", &out->refresh_deletes)) != ES_OK)
			goto out;
		if (!next_is(ber, LBER_SET) || ber_skip_tag(ber, &len) == LBER_DEFAULT ||
		    len != remaining(ber)) {
			r = es_seterr(ES_ERR_SOURCE, "%s syncIdSet: no whole set of syncUUIDs",
			              what);
			goto out;
		}
		while (remaining(ber) > 0) {
			if (!next_is(ber, LBER_OCTETSTRING) ||
			    ber_scanf(ber, "m", &bv) == LBER_ERROR) {
				r = es_seterr(ES_ERR_SOURCE,
				              "%s syncIdSet: syncUUID %zu cannot be read", what,
				              out->ids.n + 1);
				goto out;
			}
			if ((r = uuid(&bv, "syncInfo syncIdSet", key)) != ES_OK ||
			    (r = es_keyset_add(&out->ids, key)) != ES_OK)
				goto out;
		}
		break;
	default:
		r = es_seterr(ES_ERR_SOURCE, "%s: unknown choice (tag 0x%lx)", what,
		              (unsigned long)t);
		goto out;
	}
	r = nothing_left(ber, what);
out:
	ber_free(ber, 1);
	return r;
}

/* Whether a responseName can go into a message as it is. */
static bool
printable(const struct berval *v)
{
	ber_len_t i;

	if (v->bv_len > 64)
		return false;
	for (i = 0; i < v->bv_len; i++)
		if (!isprint((unsigned char)v->bv_val[i]))
			return false;
	return true;
}

enum es_err
es_sync_info_parse(const struct berval *op, struct es_sync_info *out)
{
	static const char what[] = "intermediate response";
	BerElement *ber = NULL;
	struct berval name, value;
	enum es_err r;

	memset(out, 0, sizeof(*out));
	es_keyset_init(&out->ids);
	if ((r = open_value(op, LDAP_RES_INTERMEDIATE, what, &ber)) != ES_OK)
		goto out;
	/* IntermediateResponse ::= [APPLICATION 25] SEQUENCE { responseName [0] OPTIONAL,
	 * responseValue [1] OPTIONAL } (RFC 4511 section 4.13) */
	if (!next_is(ber, LDAP_TAG_IM_RES_OID) || ber_scanf(ber, "m", &name) == LBER_ERROR) {
		r = es_seterr(ES_ERR_SOURCE, "%s without a responseName", what);
		goto out;
	}
	if (name.bv_len == 0) {
		r = es_seterr(ES_ERR_SOURCE, "%s with an empty responseName", what);
		goto out;
	}
	if (name.bv_len != strlen(LDAP_SYNC_INFO) ||
	    memcmp(name.bv_val, LDAP_SYNC_INFO, name.bv_len) != 0) {
		if (printable(&name))
			r = es_seterr(ES_ERR_SOURCE, "%s %.*s, not syncInfo (%s)", what,
			              (int)name.bv_len, name.bv_val, LDAP_SYNC_INFO);
		else
			r = es_seterr(ES_ERR_SOURCE,
			              "%s with a %lu-byte responseName, not syncInfo", what,
			              (unsigned long)name.bv_len);
		goto out;
	}
	if (!next_is(ber, LDAP_TAG_IM_RES_VALUE) || ber_scanf(ber, "m", &value) == LBER_ERROR) {
		r = es_seterr(ES_ERR_SOURCE, "syncInfo without a value");
		goto out;
	}
	if ((r = nothing_left(ber, what)) != ES_OK || (r = info_value(&value, out)) != ES_OK)
		goto out;
	r = ES_OK;
out:
	ber_free(ber, 1);
	return r;
}

enum es_err
es_sync_message_op(LDAPMessage *m, struct berval *op)
{
	BerElement *b, *d;
	ber_tag_t t;

	op->bv_val = NULL;
	op->bv_len = 0;
	if (m == NULL || (b = ldap_get_message_ber(m)) == NULL)
		return es_seterr(ES_ERR_SOURCE, "a message without its BER");
	/* a copy of the read position: the message's own stays where libldap left it */
	if ((d = ber_dup(b)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "message");
	t = ber_skip_raw(d, op);
	ber_free(d, 0);
	if (t == LBER_DEFAULT) {
		op->bv_val = NULL;
		op->bv_len = 0;
		return es_seterr(ES_ERR_SOURCE, "a message whose protocolOp cannot be read");
	}
	return ES_OK;
}

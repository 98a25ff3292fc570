/*
 * edgesync's key holder's requests (keyholder.h, keyserve.h), over certcore's key process
 * (certcore/keyproc.h): one datagram, native byte order, a fixed header then `len` bytes.
 * Nothing in it is parsed but numbers, a thumbprint and (DECRYPT) the CMS envelope, which only
 * OpenSSL parses, in the holder.
 *
 *   LOAD     thumb; no data         reply: ok, nothing (the holder has the key of `thumb`)
 *   DECRYPT  thumb; the envelope     reply: ok, the password (at most ES_CREDENTIAL_MAX bytes)
 *
 * A refusal's reply is its reason, text.
 */
#ifndef EDGESYNC_KEYPROTO_H
#define EDGESYNC_KEYPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "certcore/cert.h"
#include "edgesync/error.h"

/*
 * Bytes of an envelope the holder opens: a credential of ES_CREDENTIAL_MAX bytes encrypted to
 * some thirty RSA 4096 replicators; the source keeps more than that for no subscription.
 */
#define ES_KEYP_ENVELOPE_MAX 16384

enum es_keyp_op {
	ES_KEYP_LOAD = 1,   /* (re)read the store and say whether the key of `thumb` is usable */
	ES_KEYP_DECRYPT = 2 /* open the envelope with the key of `thumb` */
};

struct es_keyp_req {
	uint8_t op;
	uint8_t pad[3]; /* zero */
	uint32_t len;   /* bytes after the header */
	char thumb[CC_THUMB_LEN];
};

#define ES_KEYP_REQ_MAX (sizeof(struct es_keyp_req) + ES_KEYP_ENVELOPE_MAX)

/*
 * Checks one request of `n` bytes: the header whole, `len` the bytes that follow, the padding
 * zero, `thumb` 40 upper-case hex digits, a known op with its length (LOAD: none; DECRYPT: 1 to
 * ES_KEYP_ENVELOPE_MAX). ES_OK: *req a copy of the header, `thumb` (41 bytes) the thumbprint as
 * a string, *data and *len the bytes after it (borrowed from `buf`). ES_ERR_PARSE: why, as the
 * detail.
 */
enum es_err es_keyp_parse(const unsigned char *buf, size_t n, struct es_keyp_req *req,
                          char thumb[CC_THUMB_LEN + 1], const unsigned char **data,
                          size_t *len) ES_WUR;

#endif

/*
 * The key holder's wire format (keyholder.h, keyserve.h): one request, one reply, each one
 * datagram of a SOCK_SEQPACKET socketpair between two processes of the same binary, so native
 * byte order and a fixed layout. Fixed sizes, nothing parsed but lengths and numbers, as
 * OpenSMTPD's ca.c keeps its imsg to a key id and a digest.
 *
 *   request: struct um_keyp_req, then `len` bytes (SIGN: the digest; LOAD: nothing)
 *   reply:   struct um_keyp_rep, then `len` bytes (ok: the signature; else: why, text)
 */
#ifndef UM_KEYS_KEYPROTO_H
#define UM_KEYS_KEYPROTO_H

#include <stdint.h>

#include "certcore/cert.h"

#define UM_KEYP_MAX 1024 /* a signature of RSA 8192, a digest, or a reason */

enum um_keyp_op {
	UM_KEYP_LOAD = 1, /* (re)read the store and hold the key of `thumb` */
	UM_KEYP_SIGN = 2  /* sign the digest with the key of `thumb` */
};

enum um_keyp_alg {
	UM_KEYP_RSA_PKCS1 = 1, /* RSASSA-PKCS1-v1_5 (RFC 8017 8.2) of a `md_nid` digest */
	UM_KEYP_RSA_PSS = 2,   /* RSASSA-PSS (RFC 8017 8.1): md, MGF1 md and salt length */
	UM_KEYP_ECDSA = 3      /* ECDSA of a `md_nid` digest, DER signature */
};

struct um_keyp_req {
	uint8_t op;  /* enum um_keyp_op */
	uint8_t alg; /* enum um_keyp_alg (SIGN) */
	uint16_t len;
	int32_t md_nid;
	int32_t mgf1_nid; /* PSS */
	int32_t saltlen;  /* PSS: bytes, or RSA_PSS_SALTLEN_DIGEST / _MAX */
	char thumb[CC_THUMB_LEN];
};

struct um_keyp_rep {
	uint8_t ok;
	uint8_t pad;
	uint16_t len;
};

#endif

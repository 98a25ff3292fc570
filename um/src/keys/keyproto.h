/*
 * The key holder's wire format (keyholder.h, keyserve.h): one request, one reply, each one
 * datagram of a SOCK_SEQPACKET socketpair between two processes of the same binary, so native
 * byte order and a fixed layout. Fixed sizes, nothing parsed but lengths and numbers (and, in
 * the holder, a certificate's DER by OpenSSL), as OpenSMTPD's ca.c keeps its imsg to a key id
 * and a digest.
 *
 *   request: struct um_keyp_req, then `len` bytes (see enum um_keyp_op)
 *   reply:   struct um_keyp_rep, then `len` bytes (ok: SIGN's signature, MAKE's public key,
 *            WRITE's thumbprint, else nothing; not ok: why, text)
 *
 * Keys are named by `thumb`, 40 upper-case hex digits: a certificate's thumbprint (its key is
 * keys/THUMB.key), or, for a key the holder made and has not written yet, the SHA-1 of its
 * public key (SubjectPublicKeyInfo DER), the name MAKE's reply gives.
 */
#ifndef UM_KEYS_KEYPROTO_H
#define UM_KEYS_KEYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certcore/cert.h"

#define UM_KEYP_MAX    16384 /* a request's data (a certificate's DER), a reply's */
#define UM_KEYP_DIGEST 64    /* the longest digest signed (SHA-512) */

enum um_keyp_op {
	UM_KEYP_LOAD = 1,  /* hold the key of certificate `thumb` (keys/THUMB.key); data: the
	                      certificate (DER), whose key it must be */
	UM_KEYP_SIGN = 2,  /* sign the digest (data) with the key `thumb` */
	UM_KEYP_MAKE = 3,  /* make a key of `key_type` (enum cc_key_type); no data; reply: its
	                      public key (DER), named by its SHA-1 from then on */
	UM_KEYP_WRITE = 4, /* write the made key `thumb` as keys/CERT.key, CERT the thumbprint of
	                      the certificate (DER) in data, which must carry that key; never
	                      over an existing file. The key is held as CERT's from then on */
	UM_KEYP_REMOVE = 5 /* remove keys/THUMB.key, written by WRITE of this holder, when the
	                      store's write it was part of failed before its commit point */
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
	int32_t key_type; /* MAKE: enum cc_key_type */
	char thumb[CC_THUMB_LEN];
};

struct um_keyp_rep {
	uint8_t ok;
	uint8_t pad;
	uint16_t len;
};

/* A request as the holder takes it (um_keyp_parse): the header, the name, the data. */
struct um_keyp_parsed {
	struct um_keyp_req h;
	char thumb[CC_THUMB_LEN + 1]; /* NUL-terminated copy of h.thumb */
	const unsigned char *data;    /* h.len bytes inside the datagram (NULL when 0) */
};

/*
 * The holder's parser of one request datagram `buf` of `n` bytes, from a process it does not
 * trust (the one that parses SIP). Pure: checks the length against the header, the name, the
 * operation and what each operation's data and fields may be. false with a static reason in
 * *why; true with *out filled, out->data pointing into `buf`.
 */
bool um_keyp_parse(const void *buf, size_t n, struct um_keyp_parsed *out, const char **why);

#endif

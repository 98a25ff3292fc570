#!/bin/bash
# Writes the seed corpora of tests/fuzz/corpus/<target>/ (run once; the files are checked in).
# Seeds are valid and near-valid inputs; certificates are made here with openssl and do not rot
# as seeds (a fuzzer does not care that one has expired). Run from anywhere:
#   tests/fuzz/make_corpus.sh            (replaces every corpus)
#   tests/fuzz/make_corpus.sh crl sip    (replaces only these, leaving the others' seeds as they are)
set -eu
cd "$(dirname "$0")"
ALL="cert x500 import crl meta config sdp sip subscription wav recipient smtpreply ldap keyproto"
TARGETS=${*:-$ALL}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
C=$T/corpus # everything is made here; the targets asked for are copied to corpus/ at the end
for t in $ALL; do mkdir -p "$C/$t"; done
o() { openssl "$@" 2>/dev/null; }
put() { cat >"$C/$1"; } # put TARGET/NAME: stdin to a seed

# --- certificates: an EC root, an RSA intermediate, leaves ---------------------------------------
o ecparam -name prime256v1 -genkey -noout -out "$T/root.key"
o req -x509 -new -key "$T/root.key" -subj "/C=US/O=Contoso Corp/CN=Contoso Root" -days 3650 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out "$T/root.pem"
o genrsa -out "$T/int.key" 1024
o req -new -key "$T/int.key" -subj "/O=Contoso Corp/CN=Contoso Issuing" -out "$T/int.csr"
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$T/int.ext"
o x509 -req -in "$T/int.csr" -CA "$T/root.pem" -CAkey "$T/root.key" -set_serial 2 -days 3650 \
	-extfile "$T/int.ext" -out "$T/int.pem"
o ecparam -name prime256v1 -genkey -noout -out "$T/leaf.key"
o req -new -key "$T/leaf.key" -subj "/CN=um1.example.test" -out "$T/leaf.csr"
printf 'subjectAltName=DNS:um1.example.test,DNS:*.example.test,IP:127.0.0.1,email:a@b.test\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyAgreement\ncrlDistributionPoints=URI:http://127.0.0.1/crl.pem\n' >"$T/leaf.ext"
o x509 -req -in "$T/leaf.csr" -CA "$T/int.pem" -CAkey "$T/int.key" -set_serial 0x0123456789ABCDEF \
	-days 365 -extfile "$T/leaf.ext" -out "$T/leaf.pem"
o genrsa -out "$T/ss.key" 1024
o req -x509 -new -key "$T/ss.key" -subj "/C=us/O=contoso corp/CN=mail.contoso.com/emailAddress=x@contoso.com" \
	-addext "subjectAltName=DNS:mail.contoso.com,DNS:autodiscover.contoso.com" -days 30 -out "$T/ss.pem"
o req -x509 -new -key "$T/ss.key" -subj "/CN=a+CN=b/OU=multi valued" -addext "extendedKeyUsage=emailProtection" \
	-days 1 -out "$T/odd.pem"

cp "$T/leaf.pem" "$C/cert/leaf.pem"
cat "$T/leaf.pem" "$T/int.pem" "$T/root.pem" >"$C/cert/chain.pem"
cp "$T/ss.pem" "$C/cert/selfsigned-rsa.pem"
o x509 -in "$T/ss.pem" -outform DER -out "$C/cert/selfsigned-rsa.der"
o x509 -in "$T/root.pem" -outform DER -out "$C/cert/root-ec.der"
o x509 -in "$T/odd.pem" -outform DER -out "$C/cert/multivalued-rdn.der"
head -c 200 "$C/cert/root-ec.der" >"$C/cert/truncated.der"
sed '3s/./!/' "$T/leaf.pem" >"$C/cert/bad-base64.pem"
{ cat "$T/leaf.pem"; printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'; } >"$C/cert/bad-chain.pem"

# --- CRLs: the intermediate's (the leaf revoked) and the root's (none), with their certificates --
cat >"$T/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $T/index.txt
crlnumber = $T/crlnumber
default_md = sha256
default_crl_days = 30
CNF
: >"$T/index.txt"
echo 01 >"$T/crlnumber"
o ca -config "$T/ca.cnf" -keyfile "$T/int.key" -cert "$T/int.pem" -revoke "$T/leaf.pem" -crl_reason keyCompromise
o ca -config "$T/ca.cnf" -keyfile "$T/int.key" -cert "$T/int.pem" -gencrl -out "$T/int.crl"
: >"$T/index.txt"
o ca -config "$T/ca.cnf" -keyfile "$T/root.key" -cert "$T/root.pem" -gencrl -crldays 1 -out "$T/root.crl"
cp "$T/int.crl" "$C/crl/int.crl.pem"
o crl -in "$T/int.crl" -outform DER -out "$C/crl/int.crl.der"
cat "$T/int.crl" "$T/int.pem" "$T/leaf.pem" >"$C/crl/revoked-with-issuer.pem"
cat "$T/root.crl" "$T/int.crl" "$T/root.pem" "$T/int.pem" >"$C/crl/two-crls-two-issuers.pem"
cat "$T/int.crl" "$T/root.pem" >"$C/crl/wrong-issuer.pem"
o x509 -in "$T/leaf.pem" -outform DER -out "$C/crl/leaf-with-cdp.der"

# --- X.500 subjects -------------------------------------------------------------------------------
printf 'c=us,o=contoso corp,cn=mail.contoso.com' | put x500/exchange
printf 'CN=um1.example.test' | put x500/cn
printf 'cn=a\\,b,ou=x\\+y,o=\\"q\\",l=Z\\C3\\BCrich,st=\\23x' | put x500/escapes
printf 'cn=a+ou=b,dc=example,dc=test' | put x500/multivalued
printf 'emailAddress=x@contoso.com,serialNumber=12,cn=x' | put x500/types
printf 'cn=#0403616263' | put x500/hex
printf 'cn=a\\00b' | put x500/nul
printf '2.5.4.3=oid' | put x500/oid

# --- import: PEM, DER, .p7b, PKCS#12 (password "fuzz", a cheap KDF so mutations run fast) --------
cat "$T/leaf.pem" "$T/int.pem" >"$C/import/chain.pem"
cp "$C/cert/selfsigned-rsa.der" "$C/import/cert.der"
o crl2pkcs7 -nocrl -certfile "$T/leaf.pem" -certfile "$T/int.pem" -out "$C/import/chain.p7b.pem"
o crl2pkcs7 -nocrl -certfile "$T/leaf.pem" -certfile "$T/int.pem" -outform DER -out "$C/import/chain.p7b"
o pkcs12 -export -in "$T/leaf.pem" -inkey "$T/leaf.key" -certfile "$T/int.pem" -name "um1 friendly" \
	-passout pass:fuzz -iter 1 -maciter -macalg sha256 -out "$C/import/leaf-chain.pfx"
o pkcs12 -export -in "$T/ss.pem" -inkey "$T/ss.key" -passout pass:fuzz -iter 1 -nomaciter \
	-certpbe AES-128-CBC -keypbe AES-128-CBC -out "$C/import/rsa.pfx"
o pkcs12 -export -in "$T/ss.pem" -nokeys -passout pass:fuzz -iter 1 -nomaciter -out "$C/import/nokey.pfx"
o pkcs12 -export -in "$T/ss.pem" -inkey "$T/ss.key" -passout pass:other -iter 1 -nomaciter -out "$C/import/wrong-password.pfx"
o pkcs12 -export -in "$T/ss.pem" -inkey "$T/ss.key" -passout pass:fuzz -iter 1 -nomac -out "$C/import/nomac.pfx"
{ cat "$T/ss.pem" "$T/ss.key"; } >"$C/import/cert-and-key.pem"
cp "$T/leaf.csr" "$C/import/request.csr"

# --- meta INI ------------------------------------------------------------------------------------
printf '[certificate]\nservices = UM,SMTP\nexportable = true\nfriendly_name = umd%%20cert\n' | put meta/full
printf '[certificate]\nservices = \nexportable = false\n' | put meta/empty
printf '[certificate]\nfriendly_name = a%%3Bb%%23c%%25d%%3De\n[request]\ncreated = 2026-11-28T11:00:00Z\n' | put meta/request
printf '[certificate]\nservices = IMAP,POP,UM,IIS,SMTP,LDAP\nfriendly_name = %%C3%%A9t%%C3%%A9\n' | put meta/all
printf '[certificate]\nfriendly_name = bad%%0A\n' | put meta/control
printf '[certificate]\nexportable = maybe\n' | put meta/bad

# --- umd's configuration -------------------------------------------------------------------------
put config/full <<'CONF'
[umd]
mode = sipsecured
listen = 127.0.0.1:5061
fqdn = um1.example.test
log_format = json
store = /var/lib/umedge/store
renew_self_signed_days = 30
http_listen = 127.0.0.1:9561
idle_seconds = 300
handshake_seconds = 10

[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = gw.pem

[gateway gw2]
address = ::1, 127.0.0.2 127.0.0.3
fqdn = gw2.example.test
CONF
printf '[umd]\nmode = unsecured\nlisten = [::1]:5060\nhttp_listen =\n[gateway pbx]\naddress = 127.0.0.1\n' | put config/unsecured
printf '[umd]\nmode = secured\n; comment\n# comment\n[gateway a]\naddress = 127.0.0.1\nfqdn = a.test\n[gateway a]\naddress = 127.0.0.9\n' | put config/duplicate
printf '[umd]\nmode = loud\nlisten = 127.0.0.1\nbogus = 1\n[gateway x]\nfqdn = not a name\n[other]\nk = v\nnot ini\n' | put config/errors
printf '[umd]\nidle_seconds = 99999999999999999999\nhandshake_seconds = -1\nrenew_self_signed_days = 366\n' | put config/ranges

# --- SDP offers ------------------------------------------------------------------------------------
printf 'v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n' | put sdp/avp
printf 'v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 8\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32\r\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n' | put sdp/savp
printf 'v=0\r\no=gw 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\na=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:x\r\nm=video 5000 RTP/AVP 96\r\nm=audio 0 RTP/AVP 0\r\nm=audio 4002 RTP/SAVP 0\r\nm=audio 4004 RTP/AVP 18\r\n' | put sdp/mixed
printf 'v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 F8_128_HMAC_SHA1_80 inline:abc\r\n' | put sdp/unsupported-suite
printf 'v=0\r\nm=audio\r\n' | put sdp/broken

# --- SIP: first byte 0x80 = one UDP datagram; else the stream's piece size (0 = all at once) -----
sipmsg() { # METHOD [BODY]
	local body=${2:-} ct=""
	[ -z "$body" ] || ct="Content-Type: application/sdp\r\n"
	printf '%s sips:um1.example.test;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5555;branch=z9hG4bK776asdhds;rport\r\nMax-Forwards: 70\r\nFrom: "GW" <sips:gw@gw1.example.test>;tag=1928301774\r\nTo: <sips:um1.example.test>\r\nCall-ID: a84b4c76e66710@gw1.example.test\r\nCSeq: 314159 %s\r\nContact: <sips:gw@127.0.0.1:5555;transport=tls>\r\nAllow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\nSupported: timer\r\nSession-Expires: 1800;refresher=uac\r\nRecord-Route: <sip:127.0.0.1;lr>\r\n%bContent-Length: %d\r\n\r\n%s' \
		"$1" "$1" "$ct" "${#body}" "$body"
}
{ printf '\0'; sipmsg OPTIONS; } | put sip/options-stream
{ printf '\x07'; sipmsg OPTIONS; sipmsg INVITE "$(cat "$C/sdp/savp")"; } | put sip/two-in-pieces
{ printf '\x80'; sipmsg INVITE "$(cat "$C/sdp/avp")"; } | put sip/invite-udp
{ printf '\x80'; printf 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'; } | put sip/response-udp
{ printf '\0'; printf 'OPTIONS sip:um SIP/2.0\r\nv: SIP/2.0/TCP x\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\ni: y\r\nCSeq: 1 OPTIONS\r\nl: 5\r\n\r\nabc'; } | put sip/compact-short-body
{ printf '\0'; printf '\r\n\r\nBYE sip:um SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: y\r\nCSeq: 2 BYE\r\nContent-Length: 99999999999\r\n\r\n'; } | put sip/huge-length
{ printf '\x80'; printf 'INVITE sip:um SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:5060;branch=z9hG4bKa;received=::1\r\nFrom: sip:a@[::1]\r\nTo: sip:b@b\r\nCall-ID: z\r\nCSeq: x INVITE\r\n\r\n'; } | put sip/bad-cseq

# --- the edgesync subscription file ------------------------------------------------------------------
python3 - "$T/leaf.pem" >"$C/subscription/valid.json" <<'PY'
import json, sys
pem = open(sys.argv[1]).read()
print(json.dumps({"version": 1, "edge_name": "edge1", "fqdn": "edge1.example.test",
                  "url": "ldaps://127.0.0.1:50636", "base": "dc=edge1,dc=test",
                  "certificate": pem, "bind_dn": "cn=edgesync,dc=edge1,dc=test",
                  "bind_password": "s3cret", "effective": "2026-11-28T11:00:00Z",
                  "duration_minutes": 1440}, indent=2))
PY
sed 's/"version": 1/"version": 2/' "$C/subscription/valid.json" >"$C/subscription/version2.json"
sed 's/ldaps:/http:/' "$C/subscription/valid.json" >"$C/subscription/bad-url.json"
sed 's/"duration_minutes": 1440/"duration_minutes": 1440, "duration_minutes": 1/' "$C/subscription/valid.json" >"$C/subscription/duplicate.json"
printf '{"version": 1}' >"$C/subscription/short.json"

# --- greetings: WAV files umd plays (8 kHz mono PCM 16, u-law, A-law) and ones it refuses ---------
python3 - "$C/wav" <<'PY'
import math, struct, sys
d = sys.argv[1]
def chunk(tag, body):
    return tag + struct.pack('<I', len(body)) + body + (b'\0' if len(body) % 2 else b'')
def wav(tag, ch, rate, bits, data, extra=b'', before_data=b'', riff=None, data_len=None):
    fmt = struct.pack('<HHIIHH', tag, ch, rate, rate * ch * bits // 8, ch * bits // 8, bits) + extra
    body = b'WAVE' + chunk(b'fmt ', fmt) + before_data
    body += b'data' + struct.pack('<I', len(data) if data_len is None else data_len) + data
    return b'RIFF' + struct.pack('<I', len(body) if riff is None else riff) + body
pcm = b''.join(struct.pack('<h', int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(200))
g711 = bytes((i * 37) & 0xff for i in range(200))
guid = struct.pack('<IHH', 1, 0, 0x10) + bytes([0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71])
seeds = {
    'pcm16.wav': wav(1, 1, 8000, 16, pcm),
    'ulaw.wav': wav(7, 1, 8000, 8, g711, extra=struct.pack('<H', 0)),
    'alaw.wav': wav(6, 1, 8000, 8, g711, extra=struct.pack('<H', 0)),
    'wavex.wav': wav(0xfffe, 1, 8000, 16, pcm, extra=struct.pack('<HHI', 22, 16, 4) + guid),
    'list-chunk.wav': wav(1, 1, 8000, 16, pcm, before_data=chunk(b'LIST', b'INFO' + chunk(b'INAM', b'greeting\0'))),
    'cd-44100.wav': wav(1, 1, 44100, 16, pcm),
    'stereo.wav': wav(1, 2, 8000, 16, pcm),
    'u8.wav': wav(1, 1, 8000, 8, g711),
    'float.wav': wav(3, 1, 8000, 32, pcm),
    'cut-in-data.wav': wav(1, 1, 8000, 16, pcm[:100], data_len=len(pcm)),
    'unclosed.wav': wav(1, 1, 8000, 16, pcm, riff=8, data_len=0),
}
seeds['cut-in-header.wav'] = seeds['pcm16.wav'][:30]
for name, data in seeds.items():
    open(d + '/' + name, 'wb').write(data)
PY

chmod 644 "$C"/*/*
# --- recipients: called URIs, mail values from a directory, templates (fuzz_recipient) ------------
printf 'sip:1001@um1.example.test' | put recipient/called
printf 'tel:+14255550100;phone-context=+1425' | put recipient/tel
printf 'sip:10%%0D%%0A01@um1.example.test' | put recipient/escaped-crlf
printf 'sip:1001)(mail=*@um1.example.test' | put recipient/injection
printf 'alice@example.test' | put recipient/mail
printf 'dave@example.test\r\nRCPT TO:<mallory@evil.test>' | put recipient/mail-crlf
printf 'alice@example.test\0evil' | put recipient/mail-nul
printf '"a b"@[127.0.0.1]' | put recipient/mail-quoted

# --- the key holder's requests (fuzz_keyproto): struct um_keyp_req, little-endian x86-64 ------
# op, alg (u8), len (u16), md_nid, mgf1_nid, saltlen, key_type (i32), 40 hex digits, then data.
python3 - "$C/keyproto" "$T/leaf.pem" <<'PY'
import struct, subprocess, sys
d, leaf = sys.argv[1], sys.argv[2]
der = subprocess.run(["openssl", "x509", "-in", leaf, "-outform", "DER"], capture_output=True).stdout
T = b"0123456789ABCDEF0123456789ABCDEF01234567"
def req(name, op, alg=0, md=0, mgf1=0, salt=0, kt=0, thumb=T, data=b""):
    open(f"{d}/{name}", "wb").write(struct.pack("<BBHiiii40s", op, alg, len(data), md, mgf1, salt, kt, thumb) + data)
req("load", 1, data=der)
req("sign-pkcs1-sha256", 2, 1, 672, data=b"\x07" * 32)
req("sign-pss-sha384", 2, 2, 673, 673, -1, data=b"\x07" * 48)
req("sign-ecdsa-sha512", 2, 3, 674, data=b"\x07" * 64)
req("make-ec256", 3, kt=3)
req("make-rsa4096", 3, kt=2)
req("write-cert", 4, data=der)
req("remove", 5)
req("bad-thumb", 1, thumb=b"../../../../../../../../etc/passwd\0\0\0\0\0\0")
req("long-digest", 2, 1, 672, data=b"\x07" * 65)
PY

# --- SMTP replies as a hub sends them (fuzz_smtpreply) -------------------------------------------
printf '250 2.0.0 Ok: queued as 4F1D2A\r\n' | put smtpreply/queued
printf '250-PIPELINING\r\n' | put smtpreply/ehlo-line
printf '550 5.1.1 <9999@example.test>: Recipient address rejected: User unknown\r\n' | put smtpreply/unknown
printf '554 5.7.1 <x@y>: Client host rejected: Access denied\r\n' | put smtpreply/policy
printf '451 4.3.0 Error: queue file write error\r\n' | put smtpreply/temporary
printf '550 User unknown\r\n' | put smtpreply/no-enhanced
printf '552 5.3.4 Message size exceeds fixed limit\r\n' | put smtpreply/too-big
printf '554 4.9.99999999999 odd\r\n' | put smtpreply/odd-enhanced
printf '%%u.vm@example.test%%%%' | put recipient/template

# --- LDAP answers of a source or an edge, as fuzz_ldap plays them (see its header) ---------------
o x509 -in "$T/leaf.pem" -outform DER -out "$T/leaf.der"
python3 - "$C/ldap" "$T/leaf.der" <<'PY'
import os, struct, sys, uuid
out = sys.argv[1]
leaf = open(sys.argv[2], "rb").read()
def L(n):
    if n < 0x80: return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b
def tlv(t, c): return bytes([t]) + L(len(c)) + c
def s(x): return tlv(0x04, x if isinstance(x, bytes) else x.encode())
def seq(*a): return tlv(0x30, b"".join(a))
def st(*a): return tlv(0x31, b"".join(a))
def i(n): return tlv(0x02, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True))
def en(n): return tlv(0x0A, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big"))
def bo(v): return tlv(0x01, b"\xff" if v else b"\x00")
def entry(dn, attrs): return tlv(0x64, s(dn) + seq(*[seq(s(a), st(*[s(v) for v in vs])) for a, vs in attrs]))
def done(code=0, diag=""): return tlv(0x65, en(code) + s("") + s(diag))
def ctrls(*c): return tlv(0xA0, b"".join(c))
def ctrl(oid, val=None, crit=False):
    return seq(s(oid), *( [bo(True)] if crit else []), *([s(val)] if val is not None else []))
PAGED, STATE, DONE, INFO, DIRSYNC = ("1.2.840.113556.1.4.319", "1.3.6.1.4.1.4203.1.9.1.2",
    "1.3.6.1.4.1.4203.1.9.1.3", "1.3.6.1.4.1.4203.1.9.1.4", "1.2.840.113556.1.4.841")
def paged(cookie=b""): return ctrl(PAGED, seq(i(0), s(cookie)))
def frame(msgid, content): return bytes([msgid]) + struct.pack(">H", len(content)) + content
def put(name, mode, flags, frames, cookie=None):
    head = bytes([mode, flags | (2 if cookie is not None else 0)])
    if cookie is not None: head += bytes([len(cookie)]) + cookie
    open(os.path.join(out, name), "wb").write(head + b"".join(frames))
U = [uuid.UUID(int=n * 0x1111111111111111) for n in range(1, 5)]
def person(n, u, extra=()):
    return entry("uid=u%d,ou=people,dc=corp,dc=test" % n,
                 [("cn", ["User %d" % n]), ("mail", ["u%d@corp.test" % n]),
                  ("proxyAddresses", ["SMTP:u%d@corp.test" % n, "smtp:x%d@corp.test" % n]),
                  ("entryUUID", [str(u)])] + list(extra))
# es_source_full: one page, then two pages joined by the RFC 2696 cookie
put("full", 0, 0, [frame(1, person(1, U[0])), frame(1, person(2, U[1])), frame(1, done() + ctrls(paged()))])
put("full-pages", 0, 0, [frame(1, person(1, U[0])), frame(1, done() + ctrls(paged(b"p1\0"))),
                         frame(2, person(2, U[1])), frame(2, done() + ctrls(paged()))])
put("full-sizelimit", 0, 0, [frame(1, person(1, U[0])), frame(1, done(4, "size limit"))])
# values the screening sets aside (a NUL, bad UTF-8); Active Directory's objectGUID key
put("full-screened", 0, 1, [frame(1, entry("CN=a,OU=People,DC=corp,DC=test",
                                           [("mail", [b"a\0b@corp.test"]), ("objectGUID", [U[2].bytes])])),
                            frame(1, entry("CN=b,OU=People,DC=corp,DC=test",
                                           [("mail", [b"b\xc3(@corp.test"]), ("objectGUID", [U[3].bytes])])),
                            frame(1, done() + ctrls(paged()))])
# es_source_sync: RFC 4533 refreshOnly, the Sync State control on entries, syncInfo, Sync Done
def state(n, u, cookie=None): return ctrl(STATE, seq(en(n), s(u.bytes), *([s(cookie)] if cookie else [])))
put("sync-refresh", 1, 0, [frame(1, person(1, U[0]) + ctrls(state(1, U[0]))),
                           frame(1, person(2, U[1]) + ctrls(state(1, U[1], b"rid=000,csn=1"))),
                           frame(1, done() + ctrls(ctrl(DONE, seq(s(b"rid=000,csn=3")))))])
# a refreshPresent syncInfo that does not end the refresh, then one that does (refreshDone TRUE)
put("sync-info-present", 1, 0, [frame(1, person(1, U[0]) + ctrls(state(1, U[0]))),
                                frame(1, tlv(0x79, tlv(0x80, INFO.encode()) + tlv(0x81, tlv(0xA2, s(b"rid=000,csn=2") + bo(False))))),
                                frame(1, done() + ctrls(ctrl(DONE, seq(s(b"rid=000,csn=3"), bo(True)))))])
put("sync-info-done", 1, 0, [frame(1, person(1, U[0]) + ctrls(state(1, U[0]))),
                             frame(1, tlv(0x79, tlv(0x80, INFO.encode()) + tlv(0x81, tlv(0xA2, s(b"rid=000,csn=2")))))])
put("sync-deletes", 1, 0, [frame(1, entry("uid=u3,ou=people,dc=corp,dc=test", []) + ctrls(state(3, U[2]))),
                           frame(1, entry("uid=u1,ou=people,dc=corp,dc=test", []) + ctrls(state(0, U[0]))),
                           frame(1, tlv(0x79, tlv(0x80, INFO.encode()) +
                                        tlv(0x81, tlv(0xA3, s(b"rid=000,csn=4") + bo(True) + st(s(U[3].bytes), s(U[1].bytes)))))),
                           frame(1, tlv(0x79, tlv(0x80, INFO.encode()) + tlv(0x81, tlv(0x80, b"rid=000,csn=5")))),
                           frame(1, done() + ctrls(ctrl(DONE, seq(s(b"rid=000,csn=6"), bo(True)))))],
    cookie=b"rid=000,csn=0")
put("sync-refused-cookie", 1, 0, [frame(1, done(4096, "e-syncRefreshRequired"))], cookie=b"rid=000,csn=9")
# es_source_dirsync: the first cycle (the server's cookie, then a paged read), and a later one
def dirsync(more, cookie): return ctrl(DIRSYNC, seq(i(more), i(0), s(cookie)))
def adperson(n, u, extra=()):
    return entry("CN=u%d,OU=People,DC=corp,DC=test" % n,
                 [("cn", ["u%d" % n]), ("mail", ["u%d@corp.test" % n]), ("objectGUID", [u.bytes])] + list(extra))
put("dirsync-first", 2, 0, [frame(1, done() + ctrls(dirsync(0, b"\x4d\x53\x44\x53" + bytes(20)))),
                            frame(2, adperson(1, U[0])), frame(2, adperson(2, U[1])),
                            frame(2, done() + ctrls(paged()))])
put("dirsync-changes", 2, 0, [frame(1, entry("CN=u1,OU=People,DC=corp,DC=test", [("mail", ["new@corp.test"]), ("objectGUID", [U[0].bytes])])),
                              frame(1, entry("CN=u2\\0ADEL:x,CN=Deleted Objects,DC=corp,DC=test",
                                             [("isDeleted", ["TRUE"]), ("objectGUID", [U[1].bytes])])),
                              frame(1, done() + ctrls(dirsync(1, b"MSDS-more"))),
                              frame(2, done() + ctrls(dirsync(0, b"MSDS-last"))),
                              frame(3, adperson(1, U[0])), frame(3, done())],
    cookie=b"MSDS-cookie")
# es_edge_load: an edge's copies
def copy(u, area="recipients"):
    return entry("umedgeSourceUUID=%s,ou=Recipients,dc=edge1,dc=test" % u,
                 [("objectClass", ["umedgeEdgeObject", "umedgeReplicated"]), ("umedgeSourceUUID", [str(u)]),
                  ("umedgeArea", [area]), ("cn", ["x"]), ("mail", ["0" * 64])])
put("edge", 3, 0, [frame(1, copy(U[0])), frame(1, copy(U[1], "connectors")), frame(1, done() + ctrls(paged()))])
put("edge-duplicate", 3, 0, [frame(1, copy(U[0])), frame(1, copy(U[0])), frame(1, done() + ctrls(paged()))])
# es_subscription_list: a subscription object with its per-area cookies
put("subscriptions", 4, 0, [frame(1, entry("cn=edge1,cn=Edge Subscriptions,dc=corp,dc=test",
    [("objectClass", ["umedgeEdgeSubscription"]), ("umedgeEdgeName", ["edge1"]), ("umedgeEdgeFQDN", ["edge1.example.test"]),
     ("umedgeEdgeURL", ["ldaps://127.0.0.1:50636"]), ("umedgeEdgeBaseDN", ["dc=edge1,dc=test"]),
     ("umedgeBindDN", ["cn=edgesync,dc=edge1,dc=test"]), ("umedgePinnedCertificate", [leaf]),
     ("umedgeEncryptedCredential", [b"\x30\x00"]), ("umedgeLeaseHolder", ["host:1"]), ("umedgeLeaseExpiry", ["20261202120000Z"]),
     ("umedgeSyncCookie", ["recipients " + "0" * 16 + " rid=000,csn=1", "bad"]),
     ("umedgeSubscriptionStart", ["20261202110000Z"]), ("umedgeSubscriptionMinutes", ["1440"])])),
    frame(1, done() + ctrls(paged()))])
PY

for t in $TARGETS; do
	[ -d "$C/$t" ] || { echo "make_corpus: no target $t (targets: $ALL)" >&2; exit 2; }
	rm -rf "corpus/$t"
	mkdir -p corpus
	cp -R "$C/$t" "corpus/$t"
	printf '%-14s %3d files %6d bytes\n' "$t" "$(ls "corpus/$t" | wc -l)" "$(cat "corpus/$t"/* | wc -c)"
done

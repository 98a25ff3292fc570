#!/bin/bash
# The first run: every certctl verb that writes, on a store that does not exist yet, on one with
# only its top directory, and on one in use. Those that can create the store do (new, request,
# import with a key, trust add); a verb that fails leaves the file tree exactly as it found it
# (checked by a listing of every path, mode and content before and after).
. "$(dirname "$0")/lib.sh"
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
export UMEDGE_CA_BUNDLE=""
M="$WORK/mat"
mkdir -p "$M"

# --- material: a root, a leaf it issued, a PKCS#12 with a key, garbage ---------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$M/root.key" \
	-out "$M/root.pem" -subj "/CN=First Run Root" -days 30 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	>/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$M/leaf.key" \
	-out "$M/leaf.csr" -subj "/CN=leaf.example.test" >/dev/null 2>&1
openssl x509 -req -in "$M/leaf.csr" -CA "$M/root.pem" -CAkey "$M/root.key" -CAcreateserial \
	-days 30 -out "$M/leaf.pem" -extfile <(printf 'subjectAltName=DNS:leaf.example.test\n') \
	>/dev/null 2>&1
printf 'right horse\n' >"$M/pw"
printf 'wrong horse\n' >"$M/badpw"
chmod 600 "$M/pw" "$M/badpw"
openssl pkcs12 -export -inkey "$M/leaf.key" -in "$M/leaf.pem" -certfile "$M/root.pem" \
	-passout file:"$M/pw" -out "$M/leaf.pfx" 2>/dev/null
printf 'not a certificate\n' >"$M/garbage.pem"
check "test material made" test -s "$M/root.pem" -a -s "$M/leaf.pem" -a -s "$M/leaf.pfx"
NOTHUMB=0123456789ABCDEF0123456789ABCDEF01234567

# listing DIR: every path under DIR with its type, mode and content hash, sorted. The lock
# file's content is left out: it counts the writers that took the lock (store.c), not data.
listing() {
	[ -e "$1" ] || { echo "(absent)"; return; }
	(cd "$1" && find . -printf '%y %m %p\n' | sort &&
		find . -type f ! -name .lock -print0 | sort -z | xargs -0r sha256sum)
}

# leaves_nothing DESCRIPTION STATUS PATTERN STORE VERB...: the verb fails as expected and the
# tree at the store's outermost new parent (or the store) is as it was.
leaves_nothing() {
	local d=$1 st=$2 pat=$3 store=$4 top=$5
	shift 5
	local before after
	before=$(listing "$top")
	expect_fail "$d" "$st" "$pat" "$CERTCTL" --store "$store" "$@"
	after=$(listing "$top")
	if [ "$before" = "$after" ]; then ok "$d: nothing left behind"; else
		not_ok "$d: the tree changed"
		diff <(echo "$before") <(echo "$after") | head -10 | sed 's/^/    /'
	fi
}

# --- a store that does not exist, nor its parents: each failure leaves nothing --------------------
# Each case on a path of its own, so that one case's leftovers cannot hide the next one's.
n=0
none() { # the store path; its outermost missing parent is $WORK/noneN
	n=$((n + 1))
	N="$WORK/none$n/a/store"
	T="$WORK/none$n"
}
none
leaves_nothing "trust add of garbage" 1 "trust: " "$N" "$T" trust add "$M/garbage.pem" --type registry
none
leaves_nothing "trust add of a leaf" 1 "not a self-signed root" "$N" "$T" trust add "$M/leaf.pem" --type registry
none
leaves_nothing "trust add of a missing file" 1 "No such file" "$N" "$T" trust add "$M/none.pem" --type registry
none
leaves_nothing "trust add with a bad type" 2 "registry, enterprise, grouppolicy" "$N" "$T" trust add "$M/root.pem" --type thirdparty
none
leaves_nothing "new with a bad domain" 1 "not a valid DNS name" "$N" "$T" new --domain "bad_name!"
none
leaves_nothing "new with a bad subject" 1 "new: " "$N" "$T" new --subject "no equals sign"
none
leaves_nothing "new with a bad key type" 2 "new: " "$N" "$T" new --key dsa1024
none
leaves_nothing "request to a folder that does not exist" 1 "request: " "$N" "$T" request --domain r.example.test --out "$WORK/no/such/dir/r.csr"
none
leaves_nothing "request with a bad domain" 1 "not a valid DNS name" "$N" "$T" request --domain "bad_name!" --out "$WORK/r.csr"
none
leaves_nothing "import of a bare certificate (no request)" 1 "import: " "$N" "$T" import "$M/leaf.pem"
none
leaves_nothing "import of a PKCS#12 with a wrong password" 1 "import: " "$N" "$T" import "$M/leaf.pfx" --password-file "$M/badpw"
none
leaves_nothing "import of garbage" 1 "import: " "$N" "$T" import "$M/garbage.pem"
none
leaves_nothing "renew on no store" 1 "renew: " "$N" "$T" renew "$NOTHUMB"
none
leaves_nothing "enable on no store" 1 "enable: " "$N" "$T" enable "$NOTHUMB" --services UM
none
leaves_nothing "remove on no store" 1 "remove: " "$N" "$T" remove "$NOTHUMB"
none
leaves_nothing "trust remove on no store" 1 "trust: " "$N" "$T" trust remove "$NOTHUMB"

# --- a store with only its top directory: failures keep just that directory -----------------------
e=0
empty() { # a store directory with nothing in it
	e=$((e + 1))
	E="$WORK/empty$e/store"
	mkdir -p "$E"
	chmod 700 "$E"
}
empty
leaves_nothing "top directory only: trust add of a leaf" 1 "not a self-signed root" "$E" "$E" trust add "$M/leaf.pem" --type registry
empty
leaves_nothing "top directory only: new with a bad domain" 1 "not a valid DNS name" "$E" "$E" new --domain "bad_name!"
empty
leaves_nothing "top directory only: request with a bad domain" 1 "not a valid DNS name" "$E" "$E" request --domain "bad_name!" --out "$WORK/r.csr"

# --- the verbs that create, each on a store that does not exist yet -------------------------------
c1="$WORK/c1/x/store"
check "trust add creates a missing store (and its parents)" \
	"$CERTCTL" --store "$c1" trust add "$M/root.pem" --type registry
check "  it is a whole store, 0700" test -d "$c1/trust/registry" -a -d "$c1/certs" -a "$(stat -c %a "$c1")" = 700
expect_eq "  the root is listed as Registry" Registry \
	"$("$CERTCTL" --store "$c1" trust list --format json | jq -r '.[0].RootCAType')"
empty
check "trust add on the top directory only" "$CERTCTL" --store "$E" trust add "$M/root.pem" --type registry
check "  the root is in trust/registry" bash -c "ls '$E/trust/registry/' | grep -q ."
c2="$WORK/c2/store"
check "new creates a missing store" "$CERTCTL" --store "$c2" new --domain um.example.test --services UM
expect_eq "  one certificate" 1 "$("$CERTCTL" --store "$c2" get --format json | jq length)"
c3="$WORK/c3/store"
check "request creates a missing store" "$CERTCTL" --store "$c3" request --domain r.example.test --out "$WORK/c3.csr"
check "  the request was written" openssl req -in "$WORK/c3.csr" -noout
c4="$WORK/c4/store"
check "import of a PKCS#12 creates a missing store" \
	"$CERTCTL" --store "$c4" import "$M/leaf.pfx" --password-file "$M/pw" --services SMTP
expect_eq "  the certificate is there" leaf.example.test \
	"$("$CERTCTL" --store "$c4" get --format json | jq -r '.[0].CertificateDomains[0]')"

# --- a store in use: every failing writer leaves it as it was --------------------------------------
U="$c2"
TH=$("$CERTCTL" --store "$U" get --format json | jq -r '.[0].Thumbprint')
leaves_nothing "in use: new with a bad domain" 1 "not a valid DNS name" "$U" "$U" new --domain "bad_name!"
leaves_nothing "in use: renew of an unknown thumbprint" 1 "renew: " "$U" "$U" renew "$NOTHUMB"
leaves_nothing "in use: renew with no services" 2 "renew: " "$U" "$U" renew "$TH" --services ""
leaves_nothing "in use: enable on an unknown thumbprint" 1 "enable: " "$U" "$U" enable "$NOTHUMB" --services UM
leaves_nothing "in use: enable with a bad service" 2 "enable: " "$U" "$U" enable "$TH" --services FTP
leaves_nothing "in use: remove of an unknown thumbprint" 1 "remove: " "$U" "$U" remove "$NOTHUMB"
leaves_nothing "in use: trust add of a leaf" 1 "not a self-signed root" "$U" "$U" trust add "$M/leaf.pem" --type enterprise
leaves_nothing "in use: trust remove of an unknown root" 1 "trust: " "$U" "$U" trust remove "$NOTHUMB"
leaves_nothing "in use: import of a bare certificate" 1 "import: " "$U" "$U" import "$M/leaf.pem"
leaves_nothing "in use: request to a folder that does not exist" 1 "request: " "$U" "$U" request --domain r.example.test --out "$WORK/no/such/dir/r.csr"
leaves_nothing "in use: import with a wrong password" 1 "import: " "$U" "$U" import "$M/leaf.pfx" --password-file "$M/badpw"

finish

#!/bin/bash
# umd's CertificateRequest: the CA names it lists (client_ca_names = store | none | all), seen
# with openssl s_client over TLS 1.3 and TLS 1.2, and a gateway still connecting in each mode.
# Verification does not depend on the list: a gateway of the system bundle's world and one of
# the store's own CA are both checked against every trusted root whatever is listed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
D=$(dirname "$0")
S="$WORK/store"
GW="$WORK/gw"
siptls() { python3 "$D/siptls.py" "$@"; }

# A system bundle of our own making (three roots), so the test knows every name "all" lists.
BUNDLE="$WORK/bundle.pem"
for i in 1 2 3; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Bundle Root $i/O=Elsewhere" \
		-days 30 -keyout "$WORK/b$i.key" -out "$WORK/b$i.pem" 2>/dev/null
	cat "$WORK/b$i.pem" >>"$BUNDLE"
done
export UMEDGE_CA_BUNDLE="$BUNDLE"
# gw3's certificate is issued by Bundle Root 1: trusted through the bundle only.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=gw3.example.test" \
	-keyout "$WORK/gw3.key" -out "$WORK/gw3.csr" 2>/dev/null
printf 'subjectAltName=DNS:gw3.example.test\nextendedKeyUsage=clientAuth\n' >"$WORK/gw3.ext"
openssl x509 -req -in "$WORK/gw3.csr" -CA "$WORK/b1.pem" -CAkey "$WORK/b1.key" -CAcreateserial \
	-days 30 -extfile "$WORK/gw3.ext" -out "$WORK/gw3.pem" 2>/dev/null

# gw1: self-signed and pinned; gw2: issued by the PKI's intermediate, whose root the store trusts.
"$CERTCTL" --store "$GW" new --domain gw1.example.test --key ec256 >/dev/null
T=$("$CERTCTL" --store "$GW" get --format json | jq -r '.[0].Thumbprint')
cp "$GW/certs/$T.pem" "$WORK/gw1.pem"
cp "$GW/keys/$T.key" "$WORK/gw1.key"
PKI="$WORK/pki"
mkdir -p "$PKI"
make_pki "$PKI" "$(free_port)" >"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log"; exit 1; }
export SAN
SAN=DNS:gw2.example.test pki_issue "$PKI" int gw2 gw2.example.test DNS:gw2.example.test leaf "EC -pkeyopt ec_paramgen_curve:P-256" -days 300 >/dev/null 2>&1
cat "$PKI/int.pem" >>"$PKI/gw2.pem"
"$CERTCTL" --store "$S" new --domain um1.example.test --services UM --key ec256 >/dev/null
check "trust add the PKI's root (enterprise)" "$CERTCTL" --store "$S" trust add "$PKI/root.pem" --type enterprise

PORT=$(free_port)
conf() { # FILE VALUE (empty: the key is left out, the default)
	umd_conf "$1" sipsecured "$PORT" "$S" "" <<CONF
${2:+client_ca_names = $2}

[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem

[gateway gw2]
address = 127.0.0.1
fqdn = gw2.example.test

[gateway gw3]
address = 127.0.0.1
fqdn = gw3.example.test
CONF
}

# ca_names TLSVERSION: the names s_client prints under "Acceptable client certificate CA names",
# one a line, sorted; "(none)" when the list is absent or empty.
ca_names() {
	timeout 10 openssl s_client -connect "127.0.0.1:$PORT" "-$1" -cert "$WORK/gw1.pem" -key "$WORK/gw1.key" \
		</dev/null 2>/dev/null |
		awk '/^Acceptable client certificate CA names/ {on=1; next}
		     on && /^(Requested|Client Certificate Types|Shared|Peer|Server Temp|---)/ {on=0}
		     on {print}' | sed 's/^ *//' | sort | tr '\n' ';'
}
names_of() { # PEM files...: their subjects as s_client prints them, sorted
	for f in "$@"; do openssl x509 -in "$f" -noout -subject -nameopt oneline | sed 's/^subject=//'; done | sort | tr '\n' ';'
}

# --- a bad value is refused, naming file:line --------------------------------------------------
conf "$WORK/bad.conf" loud
expect_fail "client_ca_names = loud: umd -n names file:line" 1 "bad.conf:11: client_ca_names \"loud\": store, none or all" "$UMD" -n -c "$WORK/bad.conf"
for v in store none all; do
	conf "$WORK/$v.conf" "$v"
	check "client_ca_names = $v is accepted" "$UMD" -n -c "$WORK/$v.conf"
done

STORE_NAMES=$(names_of "$PKI/root.pem" "$WORK/gw1.pem")
ALL_NAMES=$(names_of "$PKI/root.pem" "$WORK/gw1.pem" "$WORK/b1.pem" "$WORK/b2.pem" "$WORK/b3.pem")

for mode in default store none all; do
	if [ "$mode" = default ]; then conf "$WORK/m.conf" ""; else conf "$WORK/m.conf" "$mode"; fi
	case $mode in
	default | store) want=$STORE_NAMES ;;
	none) want="" ;;
	all) want=$ALL_NAMES ;;
	esac
	check "$mode: umd starts" umd_start "$mode" "$WORK/m.conf"
	for v in tls1_3 tls1_2; do
		got=$(ca_names "$v")
		[ "$got" = "(none);" ] && got=""
		expect_eq "$mode, ${v/_/.}: the CertificateRequest lists exactly these CA names" "$want" "$got"
	done
	siptls --port "$PORT" --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" options >"$WORK/$mode-gw1.txt" 2>&1
	check "$mode: pinned gw1 gets 200" grep -q "OPTIONS SIP/2.0 200 OK" "$WORK/$mode-gw1.txt"
	siptls --port "$PORT" --cert "$PKI/gw2.pem" --key "$PKI/gw2.key" options >"$WORK/$mode-gw2.txt" 2>&1
	check "$mode: CA-issued gw2 gets 200" grep -q "OPTIONS SIP/2.0 200 OK" "$WORK/$mode-gw2.txt"
	siptls --port "$PORT" --cert "$WORK/gw3.pem" --key "$WORK/gw3.key" options >"$WORK/$mode-gw3.txt" 2>&1
	check "$mode: gw3, issued by a root of the system bundle, gets 200" grep -q "OPTIONS SIP/2.0 200 OK" "$WORK/$mode-gw3.txt"
	siptls --port "$PORT" --cert "$PKI/stranger.pem" --key "$PKI/stranger.key" options >"$WORK/$mode-str.txt" 2>&1
	check "$mode: a certificate of an untrusted CA is still refused" bash -c "! grep -q 'SIP/2.0 200' '$WORK/$mode-str.txt'"
	umd_stop "$mode"
done

# --- the list follows the store: a root added, SIGHUP, and it is listed ----------------------------
conf "$WORK/m.conf" store
check "umd starts (store)" umd_start hup "$WORK/m.conf"
check "trust add another root (registry)" "$CERTCTL" --store "$S" trust add "$PKI/other.pem" --type registry
kill -HUP "$(eval echo \$UMD_PID_hup)"
sleep 1
expect_eq "after SIGHUP the new root is listed too" "$(names_of "$PKI/root.pem" "$WORK/gw1.pem" "$PKI/other.pem")" "$(ca_names tls1_3)"
umd_stop hup

finish

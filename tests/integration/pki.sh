# A throw-away PKI made with the openssl CLI, for the integration tests: source it after lib.sh,
# then call make_pki DIR PORT. CRL distribution points name http://127.0.0.1:PORT/.
#
#   root (CA)        -> DIR/root.pem, root.key       CRL: DIR/www/root.crl
#   intermediate     -> DIR/int.pem, int.key         CRL: DIR/www/int.crl
#   leaves (by int)  -> DIR/NAME.pem, NAME.key, with DIR/NAME.chain.pem = int:
#     good       um.example.test (SAN um.example.test, um), serverAuth+clientAuth
#     good2      um.example.test, issued later and valid longer
#     expired    um.example.test, expired a day ago
#     revoked    um.example.test, revoked in int.crl
#     wildcard   *.example.test
#     noeku      um.example.test, no EKU extension
#     clientonly um.example.test, EKU clientAuth only
#     rsa512     um.example.test, a 512-bit RSA key
#     pwkey      um.example.test, its key encrypted with the password "secret"
#   other root (not trusted) -> DIR/other.pem; leaf "stranger" issued by it.

pki_ca_conf() { # DIR NAME
	mkdir -p "$1/$2.db/new"
	: >"$1/$2.db/index.txt"
	echo 1000 >"$1/$2.db/serial"
	echo 1000 >"$1/$2.db/crlnumber"
	cat >"$1/$2.cnf" <<CNF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $1/$2.db
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
default_crl_days = 7
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:$3
[ leaf ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = \$ENV::SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:$3
[ leaf_noeku ]
basicConstraints = CA:FALSE
subjectAltName = \$ENV::SAN
crlDistributionPoints = URI:$3
[ leaf_client ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = \$ENV::SAN
crlDistributionPoints = URI:$3
CNF
}

# pki_issue DIR CA NAME CN SAN EXT KEYSPEC [ca options...]
pki_issue() {
	d=$1 ca=$2 name=$3 cn=$4 san=$5 ext=$6 keyspec=$7
	shift 7
	openssl genpkey -algorithm $keyspec -out "$d/$name.key" 2>/dev/null
	openssl req -new -key "$d/$name.key" -subj "/CN=$cn" -out "$d/$name.csr"
	SAN=$san openssl ca -batch -notext -config "$d/$ca.cnf" -cert "$d/$ca.pem" \
		-keyfile "$d/$ca.key" -in "$d/$name.csr" -out "$d/$name.pem" -extensions "$ext" \
		"$@" 2>"$d/$name.err" || { cat "$d/$name.err"; return 1; }
	cp "$d/$ca.pem" "$d/$name.chain.pem"
}

make_pki() { # DIR PORT
	d=$1 port=$2
	mkdir -p "$d/www"
	export SAN=DNS:unused # the config names $ENV::SAN; each leaf sets its own
	url="http://127.0.0.1:$port"
	# root: self-signed with openssl req
	pki_ca_conf "$d" root "$url/root.crl"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/root.key"
	openssl req -new -x509 -key "$d/root.key" -subj "/CN=umedge Test Root/O=umedge tests" \
		-days 3650 -out "$d/root.pem" -config "$d/root.cnf" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
	# intermediate, issued by root, its CRL at root.crl
	pki_ca_conf "$d" int "$url/int.crl"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/int.key"
	openssl req -new -key "$d/int.key" -subj "/CN=umedge Test Intermediate" -out "$d/int.csr"
	openssl ca -batch -notext -config "$d/root.cnf" -cert "$d/root.pem" -keyfile "$d/root.key" \
		-in "$d/int.csr" -out "$d/int.pem" -extensions ca_ext -days 1825 2>/dev/null
	rsa="RSA -pkeyopt rsa_keygen_bits:2048"
	ec="EC -pkeyopt ec_paramgen_curve:P-256"
	pki_issue "$d" int good um.example.test "DNS:um.example.test,DNS:um" leaf "$ec" -days 200
	pki_issue "$d" int good2 um.example.test "DNS:um.example.test" leaf "$ec" -days 400
	pki_issue "$d" int expired um.example.test "DNS:um.example.test" leaf "$ec" \
		-startdate "$(date -u -d '-30 days' +%y%m%d%H%M%SZ)" -enddate "$(date -u -d '-1 day' +%y%m%d%H%M%SZ)"
	pki_issue "$d" int revoked um.example.test "DNS:um.example.test" leaf "$ec" -days 300
	pki_issue "$d" int wildcard "*.example.test" "DNS:*.example.test" leaf "$ec" -days 300
	pki_issue "$d" int noeku um.example.test "DNS:um.example.test" leaf_noeku "$ec" -days 300
	pki_issue "$d" int clientonly um.example.test "DNS:um.example.test" leaf_client "$ec" -days 300
	pki_issue "$d" int rsa512 um.example.test "DNS:um.example.test" leaf "RSA -pkeyopt rsa_keygen_bits:512" -days 300
	pki_issue "$d" int pwkey um.example.test "DNS:um.example.test" leaf "$ec" -days 300
	openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:secret -in "$d/pwkey.key" -out "$d/pwkey.enc.key"
	mv "$d/pwkey.enc.key" "$d/pwkey.key"
	# an untrusted root and its leaf
	pki_ca_conf "$d" other "$url/other.crl"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/other.key"
	openssl req -new -x509 -key "$d/other.key" -subj "/CN=Stranger Root" -days 3650 \
		-out "$d/other.pem" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign"
	pki_issue "$d" other stranger um.example.test "DNS:um.example.test" leaf "$ec" -days 300
	# CRLs: int.crl revokes "revoked"; root.crl revokes nothing
	openssl ca -config "$d/int.cnf" -cert "$d/int.pem" -keyfile "$d/int.key" -revoke "$d/revoked.pem" 2>/dev/null
	openssl ca -gencrl -config "$d/int.cnf" -cert "$d/int.pem" -keyfile "$d/int.key" -crldays 7 -out "$d/int.crl.pem" 2>/dev/null
	openssl ca -gencrl -config "$d/root.cnf" -cert "$d/root.pem" -keyfile "$d/root.key" -crldays 7 -out "$d/root.crl.pem" 2>/dev/null
	openssl crl -in "$d/int.crl.pem" -outform DER -out "$d/www/int.crl"
	openssl crl -in "$d/root.crl.pem" -outform DER -out "$d/www/root.crl"
}

# plant STORE NAME SERVICES: puts DIR/NAME.pem (+chain) and its key into a store as certctl
# would have, the way an administrator's import would leave them.
plant() {
	s=$1 name=$2 svc=$3
	t=$(openssl x509 -in "$PKI/$name.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
	cat "$PKI/$name.pem" "$PKI/$name.chain.pem" >"$s/certs/$t.pem"
	install -m 600 "$PKI/$name.key" "$s/keys/$t.key"
	printf '[certificate]\nservices = %s\nexportable = false\nfriendly_name = %s\n' "$svc" "$name" >"$s/meta/$t.ini"
	echo "$t"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# http_serve DIR PORT: a real HTTP server on loopback, stopped when the test exits.
http_serve() {
	python3 -m http.server --bind 127.0.0.1 --directory "$1" "$2" >"$WORK/http.log" 2>&1 &
	HTTP_PID=$!
	cleanup_hooks="$cleanup_hooks http_stop"
	for _ in $(seq 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $2), 1)" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "http server did not start"; cat "$WORK/http.log"; return 1
}
http_stop() {
	if [ -n "${HTTP_PID:-}" ]; then kill "$HTTP_PID" 2>/dev/null; wait "$HTTP_PID" 2>/dev/null; HTTP_PID=""; fi
	return 0
}

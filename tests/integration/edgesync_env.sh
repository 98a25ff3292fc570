# The edgesync test bed (source it after lib.sh and slapd.sh): three real slapd processes over
# LDAPS on free loopback ports — a source with syncprov (dc=corp,dc=test) and two edges
# (dc=edge1,dc=test, dc=edge2,dc=test) with ppolicy — certcore stores, and the configuration of a
# replicator and of each edge node.
#
#   es_env_setup LEASE_SECONDS   starts everything and loads the source's data
#   es ARGS...                   edgesync -c rep.conf ARGS (the replicator)
#   es_on EDGE ARGS...           edgesync -c EDGE.conf ARGS (on the edge node)
#   es_subscribe EDGE            subscription new on the edge, import on the replicator with the
#                                pin new printed (the administrator's confirmation of the key)
#   new_pin FILE                 the pin in the output of `subscription new` (its line pin: ...)
#   edge_count EDGE AREA         entries edgesync wrote on EDGE for AREA
#   edge_get EDGE FILTER [ATTR]  LDIF of the edge entries matching FILTER (no line wrapping)
#   src_uuid DN                  the entryUUID of a source entry
#   add_people FROM TO           adds recipients uid=uFROM..uTO to the source
#   wait_for DESCRIPTION COMMAND...   polls (0.2 s) for up to 60 s until COMMAND succeeds
EDGESYNC=${EDGESYNC:?set EDGESYNC to the edgesync binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
unset LDAPTLS_CACERT LDAPTLS_REQCERT

es() { "$EDGESYNC" -c "$WORK/rep.conf" "$@"; }
es_on() {
	local e=$1
	shift
	"$EDGESYNC" -c "$WORK/$e.conf" "$@"
}

new_ldap_cert() { # STORE [DOMAIN]: a new certificate for service LDAP; prints its thumbprint
	if [ -n "${2:-}" ]; then
		"$CERTCTL" --store "$1" new --domain "$2" --services LDAP | awk 'NR==3 {print $1}'
	else
		"$CERTCTL" --store "$1" new --services LDAP | awk 'NR==3 {print $1}'
	fi
}

es_env_setup() { # LEASE_SECONDS
	local lease=$1 e
	# The source's certificate names this host: libldap checks ldaps://localhost against the
	# host's canonical name (tls_g.c: "localhost" becomes ldap_int_hostname), which is what
	# certctl puts in a certificate made without --domain.
	SRC_T=$(new_ldap_cert "$WORK/src-store")
	E1_T=$(new_ldap_cert "$WORK/edge1-store" edge1.example.test)
	E2_T=$(new_ldap_cert "$WORK/edge2-store" edge2.example.test)
	slapd_start src source dc=corp,dc=test "$WORK/src-store" "$SRC_T" || return 1
	slapd_start edge1 edge dc=edge1,dc=test "$WORK/edge1-store" "$E1_T" || return 1
	slapd_start edge2 edge dc=edge2,dc=test "$WORK/edge2-store" "$E2_T" || return 1
	cat >"$WORK/rep.conf" <<CONF
; the replicator
[edgesync]
store = $WORK/rep-store
log_format = text
lease_seconds = $lease
timeout = 10

[source]
url = ldaps://localhost:$(slapd_port src)
ca_file = $WORK/src-store/certs/$SRC_T.pem
bind_dn = cn=admin,dc=corp,dc=test
bind_password_file = $(slapd_pwfile src)
subscriptions = cn=Edge Subscriptions,dc=corp,dc=test

[rule recipients]
base = ou=people,dc=corp,dc=test
interval = 2

[rule accepteddomains]
interval = 2

[rule remotedomains]
interval = 2

[rule connectors]
interval = 2
CONF
	for e in edge1 edge2; do
		cat >"$WORK/$e.conf" <<CONF
; the edge node $e
[edgesync]
store = $WORK/$e-store

[edge]
name = $e
fqdn = $e.example.test
url = $(slapd_url $e)
base = dc=$e,dc=test
admin_dn = cn=admin,dc=$e,dc=test
admin_password_file = $(slapd_pwfile $e)
CONF
	done
	slapd_modify src -a >/dev/null <<'LDIF' || return 1
dn: ou=people,dc=corp,dc=test
objectClass: organizationalUnit
ou: people

dn: ou=former,dc=corp,dc=test
objectClass: organizationalUnit
ou: former

dn: ou=transport,dc=corp,dc=test
objectClass: organizationalUnit
ou: transport

dn: cn=corp.test,ou=transport,dc=corp,dc=test
objectClass: umedgeAcceptedDomain
cn: corp.test
umedgeDomainName: corp.test
umedgeDomainType: Authoritative

dn: cn=sub.corp.test,ou=transport,dc=corp,dc=test
objectClass: umedgeAcceptedDomain
cn: sub.corp.test
umedgeDomainName: sub.corp.test
umedgeDomainType: InternalRelay

dn: cn=partner.test,ou=transport,dc=corp,dc=test
objectClass: umedgeRemoteDomain
cn: partner.test
umedgeDomainName: partner.test

dn: cn=Internet,ou=transport,dc=corp,dc=test
objectClass: umedgeSendConnector
cn: Internet
umedgeAddressSpace: SMTP:*;1
umedgeSmartHost: smarthost.corp.test
umedgeEnabled: TRUE
LDIF
	add_people 1 20
}

add_people() { # FROM TO
	local i
	for i in $(seq "$1" "$2"); do
		printf 'dn: uid=u%d,ou=people,dc=corp,dc=test\nobjectClass: inetOrgPerson\n' "$i"
		printf 'objectClass: umedgeRecipient\nuid: u%d\ncn: User %d\nsn: U%d\n' "$i" "$i" "$i"
		printf 'mail: User%d@Corp.Test\nproxyAddresses: SMTP:User%d@Corp.Test\n' "$i" "$i"
		printf 'proxyAddresses: smtp:U%d@Sub.Corp.Test\ntelephoneNumber: +1 555 %04d\n\n' "$i" "$i"
	done | slapd_modify src -a >/dev/null
}

new_pin() { sed -n 's/^pin: //p' "$1"; }

es_subscribe() { # EDGE
	es_on "$1" subscription new --out "$WORK/$1.sub" >"$WORK/$1.new.out" 2>&1 &&
		es subscription import "$WORK/$1.sub" --pin "$(new_pin "$WORK/$1.new.out")" \
			>"$WORK/$1.import.out" 2>&1
}

edge_count() { # EDGE AREA
	slapd_search "$1" -b "dc=$1,dc=test" "(&(objectClass=umedgeReplicated)(umedgeArea=$2)(umedgeSourceUUID=*))" 1.1 |
		grep -c '^dn:'
}

edge_get() { # EDGE FILTER [ATTR...]
	local e=$1 f=$2
	shift 2
	slapd_search "$e" -b "dc=$e,dc=test" "$f" "$@"
}

src_uuid() { # DN
	slapd_search src -b "$1" -s base entryUUID | sed -n 's/^entryUUID: //p'
}

wait_for() { # DESCRIPTION COMMAND...
	local d=$1 _
	shift
	for _ in $(seq 300); do
		if "$@" >/dev/null 2>&1; then
			ok "$d"
			return 0
		fi
		sleep 0.2
	done
	not_ok "$d (gave up waiting)"
	return 1
}

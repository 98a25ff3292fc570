# Real OpenLDAP slapd processes for the edgesync tests (source it after lib.sh). Each server
# lives in $WORK/slapd-NAME: a cn=config directory built with slapadd -n0, an mdb database, a log
# of its access lines (loglevel stats), and listens on ldaps://127.0.0.1:PORT (a free port) and
# on an ldapi:// socket where the test, as root, is cn=admin through SASL EXTERNAL. Servers are
# stopped (kill, then wait) when the test exits.
#
#   slapd_start NAME ROLE SUFFIX STORE THUMB [PORT]
#       ROLE source: syncprov on the database, the subscription schema
#       ROLE consumer: slapd's own syncrepl consumer (the benchmark's peer of edgesync); its
#                    olcSyncrepl value is taken from SLAPD_SYNCREPL
#       ROLE edge:   ppolicy (bootstrap password expiry), the edge schema and the ACL edgesync
#                    expects: cn=edgesync,SUFFIX may write only entries marked umedgeReplicated
#                    (and add children anywhere under SUFFIX), and change its own password
#       The TLS certificate and key are STORE/certs/THUMB.pem and STORE/keys/THUMB.key: a
#       certcore store, as certctl or `edgesync subscription new` leave it.
#   slapd_stop NAME            kill and wait
#   slapd_restart NAME         stop, then start again on the same port with the same data
#   slapd_run NAME             start a stopped server again (SLAPD_NOWAIT=1: without waiting
#                              until it answers)
#   slapd_set_cert NAME STORE THUMB   serve another certificate (takes effect on restart)
#   slapd_ldapi NAME           the ldapi:// URL (for ldapsearch -Y EXTERNAL -H ...)
#   slapd_load NAME LDIF       loads entries offline (slapadd -q, the server stopped and started
#                              again): much faster than ldapadd for a large directory
#   slapd_port NAME / slapd_url NAME / slapd_log NAME / slapd_pid NAME / slapd_pwfile NAME
#
# The databases run with olcDbNoSync (no fsync per write: a test's directory need not survive a
# power cut, and with it a write costs ~0.3 ms instead of the disk's ~3 ms); slapd stopped with
# SIGTERM still writes everything out.
#
# Variables: SLAPD_LISTEN_EXTRA (more URLs for slapd -h, kept for restarts: e.g. a plain
# ldap://127.0.0.1:PORT for StartTLS); SLAPD_SCHEMA_DIR (default: edgesync/schema of this
# tree); SLAPD_DETACH=1 starts each slapd in a session of its own (scripts/demo-edgesync leaves
# them running);
# SLAPD_LOGLEVEL (default stats; "none" keeps the benchmark's servers from logging every
# write); SLAPD_DB_MAXSIZE (bytes, default 256 MiB) for large directories.
SLAPD_LOGLEVEL=${SLAPD_LOGLEVEL:-stats}
SLAPD_DB_MAXSIZE=${SLAPD_DB_MAXSIZE:-268435456}
SLAPD_SCHEMA_DIR=${SLAPD_SCHEMA_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../edgesync/schema" && pwd)}
SLAPD_NAMES=""

slapd_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

slapd_dir() { echo "$WORK/slapd-$1"; }
slapd_port() { cat "$(slapd_dir "$1")/port"; }
slapd_url() { echo "ldaps://127.0.0.1:$(slapd_port "$1")"; }
slapd_log() { echo "$(slapd_dir "$1")/slapd.log"; }
slapd_pwfile() { echo "$(slapd_dir "$1")/admin.pw"; }
slapd_pid() { cat "$(slapd_dir "$1")/pid" 2>/dev/null; }
slapd_ldapi() {
	python3 -c 'import sys, urllib.parse; print("ldapi://" + urllib.parse.quote(sys.argv[1], safe=""))' \
		"$(slapd_dir "$1")/ldapi"
}

# The cn=config of one server, as LDIF for slapadd -n0.
slapd_config_ldif() { # DIR ROLE SUFFIX CERT KEY ROOTPW_HASH
	local d=$1 role=$2 suffix=$3 cert=$4 key=$5 rootpw=$6 module schema a
	if [ "$role" = source ]; then
		module=syncprov
		schema=edgesync-subscription.ldif
	elif [ "$role" = consumer ]; then
		module=syncprov # not used: the module list may not be empty
		schema=edgesync-subscription.ldif
	else
		module=ppolicy
		schema=edgesync-edge.ldif
	fi
	cat <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $d/slapd.pid
olcArgsFile: $d/slapd.args
olcTLSCertificateFile: $cert
olcTLSCertificateKeyFile: $key
olcLogLevel: $SLAPD_LOGLEVEL
olcAuthzRegexp: gidNumber=0\+uidNumber=0,cn=peercred,cn=external,cn=auth cn=admin,$suffix

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: $module

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

include: file://$SLAPD_SCHEMA_DIR/edgesync-data.ldif

include: file://$SLAPD_SCHEMA_DIR/$schema

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $suffix
olcRootDN: cn=admin,$suffix
olcRootPW: $rootpw
olcDbDirectory: $d/db
olcDbMaxSize: $SLAPD_DB_MAXSIZE
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: entryUUID,entryCSN eq
LDIF
	if [ "$role" = source ]; then
		cat <<LDIF
olcAccess: {0}to * by users read by * none

dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
olcSpCheckpoint: 100 5
LDIF
	elif [ "$role" = consumer ]; then
		cat <<LDIF
olcAccess: {0}to * by users read by * none
olcSyncrepl: ${SLAPD_SYNCREPL:?set SLAPD_SYNCREPL for a consumer}
LDIF
	else
		a="cn=edgesync,$suffix"
		cat <<LDIF
olcDbIndex: umedgeSourceUUID,umedgeArea eq
olcLimits: dn.exact="$a" size=unlimited time=unlimited
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to dn.subtree="$suffix" filter=(objectClass=umedgeReplicated) by dn.exact="$a" write by users read by * none
olcAccess: {2}to dn.subtree="$suffix" attrs=children by dn.exact="$a" write by users read by * none
olcAccess: {3}to * by users read by * none

dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
olcPPolicyHashCleartext: TRUE
LDIF
	fi
}

slapd_start() { # NAME ROLE SUFFIX STORE THUMB [PORT]
	local name=$1 role=$2 suffix=$3 store=$4 thumb=$5 d port rootpw dc
	d=$(slapd_dir "$name")
	port=${6:-$(slapd_free_port)}
	rm -rf "$d"
	mkdir -p "$d/slapd.d" "$d/db"
	chmod 700 "$d"
	echo "$port" >"$d/port"
	# no newline: slappasswd -T and ldapsearch -y take the whole file as the password
	printf '%s' "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" >"$d/admin.pw"
	chmod 600 "$d/admin.pw"
	rootpw=$(slappasswd -T "$d/admin.pw")
	slapd_config_ldif "$d" "$role" "$suffix" "$store/certs/$thumb.pem" "$store/keys/$thumb.key" \
		"$rootpw" >"$d/config.ldif"
	if ! slapadd -n0 -F "$d/slapd.d" -l "$d/config.ldif" >"$d/slapadd.log" 2>&1; then
		echo "slapd_start $name: slapadd -n0 failed"
		cat "$d/slapadd.log"
		return 1
	fi
	dc=$(echo "$suffix" | sed 's/^dc=\([^,]*\),.*/\1/')
	printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: %s\ndc: %s\n' \
		"$suffix" "$dc" "$dc" >"$d/base.ldif"
	if ! slapadd -n1 -F "$d/slapd.d" -l "$d/base.ldif" >>"$d/slapadd.log" 2>&1; then
		echo "slapd_start $name: slapadd -n1 failed"
		cat "$d/slapadd.log"
		return 1
	fi
	echo "$role" >"$d/role"
	echo "$SLAPD_LOGLEVEL" >"$d/loglevel"
	echo "${SLAPD_LISTEN_EXTRA:-}" >"$d/listen_extra"
	echo "$suffix" >"$d/suffix"
	case " $SLAPD_NAMES " in *" $name "*) ;; *) SLAPD_NAMES="$SLAPD_NAMES $name" ;; esac
	case " ${cleanup_hooks:-} " in *" slapd_stop_all "*) ;; *) cleanup_hooks="${cleanup_hooks:-} slapd_stop_all" ;; esac
	slapd_run "$name"
}

# Starts the configured server NAME and waits until it answers on both listeners.
slapd_run() {
	local name=$1 d port ldapi level extra
	d=$(slapd_dir "$name")
	port=$(slapd_port "$name")
	ldapi=$(slapd_ldapi "$name")
	level=$(cat "$d/loglevel" 2>/dev/null || echo stats)
	# -d stats: stay in the foreground (this shell owns the process and can wait for it), and
	# write the access lines (BIND, ADD, ...) to the log through stderr (-d none: foreground,
	# nothing logged).
	# SLAPD_DETACH=1 (the demo): a session of its own, so it outlives the shell that started it.
	extra=$(cat "$d/listen_extra" 2>/dev/null || true)
	${SLAPD_DETACH:+setsid} slapd -d "$level" -h "ldaps://127.0.0.1:$port $ldapi${extra:+ $extra}" -F "$d/slapd.d" \
		>>"$d/slapd.log" 2>&1 &
	echo $! >"$d/pid"
	# SLAPD_NOWAIT=1: the caller polls for what it needs (the benchmark times the start)
	[ -n "${SLAPD_NOWAIT:-}" ] && return 0
	local _
	for _ in $(seq 100); do
		if ! kill -0 "$(slapd_pid "$name")" 2>/dev/null; then
			echo "slapd_start $name: slapd exited"
			tail -20 "$d/slapd.log"
			return 1
		fi
		if ldapwhoami -Q -Y EXTERNAL -H "$ldapi" >/dev/null 2>&1 &&
			python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "slapd_start $name: no answer on $port"
	tail -20 "$d/slapd.log"
	return 1
}

slapd_stop() {
	local pid
	pid=$(slapd_pid "$1")
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rm -f "$(slapd_dir "$1")/pid"
	fi
	return 0
}

slapd_stop_all() {
	local n
	for n in $SLAPD_NAMES; do slapd_stop "$n"; done
	return 0
}

slapd_load() { # NAME LDIF
	local d running
	d=$(slapd_dir "$1")
	running=$(slapd_pid "$1")
	[ -n "$running" ] && slapd_stop "$1"
	# -q: no checks beyond the schema, one transaction per batch; -w: the contextCSN syncprov
	# starts from
	slapadd -q -w -n1 -F "$d/slapd.d" -l "$2" >>"$d/slapadd.log" 2>&1 || {
		echo "slapd_load $1: slapadd failed"
		tail -5 "$d/slapadd.log"
		return 1
	}
	[ -n "$running" ] && slapd_run "$1"
	return 0
}

slapd_restart() {
	slapd_stop "$1"
	slapd_run "$1"
}

# Points the server at another certificate (the change is made with slapmodify while it is
# stopped, so it takes effect on the next start).
slapd_set_cert() { # NAME STORE THUMB
	local d running
	d=$(slapd_dir "$1")
	running=$(slapd_pid "$1")
	[ -n "$running" ] && slapd_stop "$1"
	cat >"$d/cert.ldif" <<LDIF
dn: cn=config
changetype: modify
replace: olcTLSCertificateFile
olcTLSCertificateFile: $2/certs/$3.pem
-
replace: olcTLSCertificateKeyFile
olcTLSCertificateKeyFile: $2/keys/$3.key
LDIF
	slapmodify -n0 -F "$d/slapd.d" -l "$d/cert.ldif" >>"$d/slapadd.log" 2>&1 || {
		echo "slapd_set_cert $1: slapmodify failed"
		cat "$d/slapadd.log"
		return 1
	}
	[ -n "$running" ] && slapd_run "$1"
	return 0
}

# ldapsearch/ldapadd/ldapmodify as cn=admin of NAME over ldapi (SASL EXTERNAL, as root).
slapd_search() { # NAME ldapsearch-args...
	local n=$1
	shift
	ldapsearch -LLL -o ldif-wrap=no -Q -Y EXTERNAL -H "$(slapd_ldapi "$n")" "$@"
}
slapd_modify() { # NAME ldapmodify-args... (LDIF on stdin)
	local n=$1
	shift
	ldapmodify -Q -Y EXTERNAL -H "$(slapd_ldapi "$n")" "$@"
}

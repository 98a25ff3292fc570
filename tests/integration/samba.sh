# A real Samba AD domain controller for the edgesync AD tests (source it after lib.sh). Its LDAP
# ports are fixed (389, 636), so it runs only in a network namespace of its own: a test calls
# samba_netns "$@" first, which runs the whole test again inside `unshare -n` (with `-r`, a user
# namespace, when not root) with `lo` up; everything the test starts (samba, slapd edges,
# edgesync) then lives in that namespace and cannot meet another test's servers.
#
#   samba_netns "$@"           re-executes the calling script in a network namespace of its own
#   samba_provision NAME REALM provisions a domain (samba-tool domain provision --targetdir) in
#                              $WORK/samba-NAME: DNS domain REALM in lower case, forest root
#                              DC=..., a random Administrator password, LDAPS on a certificate
#                              made here (SANs: localhost, this host's FQDN, 127.0.0.1), simple
#                              binds only over TLS (Samba's default), schema updates allowed;
#                              only the LDAP service runs, in one process (-M single)
#   samba_load NAME LDIF       adds entries with ldbadd to sam.ldb while samba is stopped (it is
#                              started again if it ran): much faster than adding over LDAP
#   samba_start NAME / samba_stop NAME / samba_stop_all (the exit hook: samba always stops)
#   samba_url NAME             ldaps://127.0.0.1 (the certificate names 127.0.0.1)
#   samba_base NAME            the forest root, e.g. DC=corp,DC=test
#   samba_admin NAME           CN=Administrator,CN=Users,BASE; samba_pwfile NAME its password
#   samba_cafile NAME          the certificate clients must trust
#   samba_search NAME ARGS...  ldapsearch -LLL as Administrator over LDAPS
#   samba_modify NAME ARGS...  ldapmodify as Administrator over LDAPS (LDIF on stdin)
#   samba_log NAME             samba's output
SAMBA_NAMES=""

samba_netns() {
	if [ -n "${UMEDGE_NETNS:-}" ]; then
		ip link set lo up || return 1
		return 0
	fi
	local ns=-n
	[ "$(id -u)" -eq 0 ] || ns="-r -n"
	# the outer shell's temporary directory is not needed: the inner run makes its own
	rm -rf "$WORK"
	trap - EXIT
	# shellcheck disable=SC2086
	UMEDGE_NETNS=1 exec unshare $ns -- "$0" "$@"
}

samba_dir() { echo "$WORK/samba-$1"; }
samba_url() { echo "ldaps://127.0.0.1"; }
samba_base() { cat "$(samba_dir "$1")/base"; }
samba_admin() { echo "CN=Administrator,CN=Users,$(samba_base "$1")"; }
samba_pwfile() { echo "$(samba_dir "$1")/admin.pw"; }
samba_cafile() { echo "$(samba_dir "$1")/tls/cert.pem"; }
samba_log() { echo "$(samba_dir "$1")/samba.log"; }
samba_pid() { cat "$(samba_dir "$1")/pid" 2>/dev/null; }

samba_provision() { # NAME REALM
	local name=$1 realm=$2 d dns base
	d=$(samba_dir "$name")
	dns=$(echo "$realm" | tr 'A-Z' 'a-z')
	base=$(echo "$dns" | sed 's/^/DC=/; s/\./,DC=/g')
	rm -rf "$d"
	mkdir -p "$d/tls" "$d/run"
	chmod 700 "$d"
	echo "$base" >"$d/base"
	# Samba's password policy wants three character classes; no newline (ldapsearch -y)
	printf 'Aa1-%s' "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" >"$d/admin.pw"
	chmod 600 "$d/admin.pw"
	# Samba's own certificate has no subjectAltName, which libldap's host check needs
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dc1.$dns" \
		-addext "subjectAltName=DNS:dc1.$dns,DNS:localhost,DNS:$(hostname -f),IP:127.0.0.1" \
		-keyout "$d/tls/key.pem" -out "$d/tls/cert.pem" >/dev/null 2>&1 || {
		echo "samba_provision $name: openssl req failed"
		return 1
	}
	chmod 600 "$d/tls/key.pem"
	if ! samba-tool domain provision --targetdir="$d/dc" --realm="$realm" \
		--domain="$(echo "$realm" | cut -d. -f1)" --server-role=dc --dns-backend=NONE \
		--host-name=dc1 --adminpass="$(cat "$d/admin.pw")" \
		--option="interfaces = lo" --option="bind interfaces only = yes" \
		--option="server services = ldap" --option="tls enabled = yes" \
		--option="tls keyfile = $d/tls/key.pem" --option="tls certfile = $d/tls/cert.pem" \
		--option="tls cafile = " --option="pid directory = $d/run" \
		--option="log file = $d/samba.log" --option="dsdb:schema update allowed = true" \
		>"$d/provision.log" 2>&1; then
		echo "samba_provision $name: samba-tool domain provision failed"
		tail -5 "$d/provision.log"
		return 1
	fi
	case " $SAMBA_NAMES " in *" $name "*) ;; *) SAMBA_NAMES="$SAMBA_NAMES $name" ;; esac
	case " ${cleanup_hooks:-} " in *" samba_stop_all "*) ;; *) cleanup_hooks="samba_stop_all ${cleanup_hooks:-}" ;; esac
	return 0
}

# Starts samba NAME (one process, in the foreground of this shell) and waits until LDAPS answers.
samba_start() {
	local name=$1 d _
	d=$(samba_dir "$name")
	samba -F -M single -s "$d/dc/etc/smb.conf" --debug-stdout >>"$d/samba.log" 2>&1 &
	echo $! >"$d/pid"
	for _ in $(seq 300); do
		if ! kill -0 "$(samba_pid "$name")" 2>/dev/null; then
			echo "samba_start $name: samba exited"
			tail -20 "$d/samba.log"
			return 1
		fi
		if samba_search "$name" -b "" -s base 1.1 >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	echo "samba_start $name: no answer on LDAPS"
	tail -20 "$d/samba.log"
	return 1
}

samba_stop() {
	local pid
	pid=$(samba_pid "$1")
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rm -f "$(samba_dir "$1")/pid"
	fi
	return 0
}

samba_stop_all() {
	local n
	for n in $SAMBA_NAMES; do samba_stop "$n"; done
	return 0
}

samba_load() { # NAME LDIF
	local d running
	d=$(samba_dir "$1")
	running=$(samba_pid "$1")
	[ -n "$running" ] && samba_stop "$1"
	# --nosync: no fsync per transaction (a test's directory need not survive a power cut)
	ldbadd --nosync -H "$d/dc/private/sam.ldb" "$2" >>"$d/ldbadd.log" 2>&1 || {
		echo "samba_load $1: ldbadd failed"
		tail -5 "$d/ldbadd.log"
		return 1
	}
	[ -n "$running" ] && samba_start "$1"
	return 0
}

samba_search() { # NAME ldapsearch-args...
	local n=$1
	shift
	LDAPTLS_CACERT=$(samba_cafile "$n") ldapsearch -LLL -o ldif-wrap=no -x -H "$(samba_url "$n")" \
		-D "$(samba_admin "$n")" -y "$(samba_pwfile "$n")" "$@"
}

samba_modify() { # NAME ldapmodify-args...
	local n=$1
	shift
	LDAPTLS_CACERT=$(samba_cafile "$n") ldapmodify -x -H "$(samba_url "$n")" \
		-D "$(samba_admin "$n")" -y "$(samba_pwfile "$n")" "$@"
}

# SIP test harness: source it after lib.sh (and pki.sh, whose free_port it uses).
#
#   kamailio_start / kamailio_stop / kamailio_wait_ping / kamailio_ping_count / kamailio_log
#       a real Kamailio configured as a SIP gateway to umd would be: OPTIONS keep-alives and
#       relayed calls over mutual TLS, a plain-UDP side for test clients.
#   sipresponder_start / sipresponder_stop
#       tests/integration/sipresponder.py, a tiny SIP/TLS UAS (stand-in for umd, or a peer).
#   tls_sip_options, tls_fingerprint, tls_handshake, tls_probe_tls11, tls_probe_weak_cipher,
#   tls_probe_renegotiation, tls_stall_start / tls_stall_wait, tls_send_garbage,
#   tls_send_plaintext_sip
#       probes of a SIP/TLS listener with openssl s_client and raw sockets.
#   sip_options_unsecured HOST PORT [udp|tcp]
#       sofia-sip's sip-options against an unsecured listener.
#   SIPCLIENT: path of sipclient.py (a SIP UAC over UDP; see its --help).
#
# Everything started here is registered in lib.sh's cleanup_hooks and stopped on exit.
# Nothing here needs more than loopback, temporary directories and free ports.

SIP_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SIPCLIENT="$SIP_HERE/sipclient.py"
SIPRESPONDER="$SIP_HERE/sipresponder.py"
KAMAILIO=${KAMAILIO:-kamailio}
KAMAILIO_MODULES=${KAMAILIO_MODULES:-}
KAM_PIDS=""      # every Kamailio started (main process ids)
KAM_DIRS=""      # and their directories
case " $cleanup_hooks " in *" kamailio_stop "*) ;; *) cleanup_hooks="$cleanup_hooks kamailio_stop" ;; esac
case " $cleanup_hooks " in *" sipresponder_stop "*) ;; *) cleanup_hooks="$cleanup_hooks sipresponder_stop" ;; esac
case " $cleanup_hooks " in *" tls_stall_stop "*) ;; *) cleanup_hooks="$cleanup_hooks tls_stall_stop" ;; esac

# _sip_wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds (status 0) or
# SECONDS have passed (status 1).
_sip_wait_for() {
	local n=$(( ${1%.*} * 10 ))
	shift
	local i
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# _sip_alive PID: the process exists and is not a zombie (an exited child not yet waited for
# still accepts kill -0).
_sip_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

# _kamailio_sed_escape VALUE: VALUE made safe for the right side of sed's s|...|...|.
_kamailio_sed_escape() { printf '%s' "$1" | sed 's/[|&\\]/\\&/g'; }

_kamailio_modpath() {
	if [ -n "$KAMAILIO_MODULES" ]; then echo "$KAMAILIO_MODULES"; return; fi
	local d
	for d in /usr/lib/x86_64-linux-gnu/kamailio/modules /usr/lib/*/kamailio/modules \
		/usr/lib/kamailio/modules /usr/local/lib64/kamailio/modules /usr/local/lib/kamailio/modules; do
		if [ -f "$d/tls.so" ]; then echo "$d"; return; fi
	done
	echo /usr/lib/x86_64-linux-gnu/kamailio/modules
}

# kamailio_start DIR UDP_PORT TLS_CERT TLS_KEY CA_FILE UMD_HOST UMD_PORT [options]
#   Writes DIR/kamailio.cfg and DIR/tls.cfg and starts Kamailio in the foreground (-DD -E,
#   its log in DIR/kamailio.log, pid file DIR/kamailio.pid, runtime dir DIR/run; no control
#   socket, FIFO or system path is used). It plays a SIP gateway in front of umd:
#   - listens on udp:127.0.0.1:UDP_PORT (test clients) and tls:127.0.0.1:TLS_PORT;
#   - every --ping-interval seconds sends OPTIONS to sip:UMD_HOST:UMD_PORT;transport=tls over
#     mutual TLS (client certificate TLS_CERT with key TLS_KEY, umd's certificate verified
#     against CA_FILE: PEM roots, or umd's own exported self-signed certificate) and logs the
#     final status of each as "UMD-PING CODE" (408 when unanswered or the TLS connection
#     failed);
#   - relays every request arriving on its UDP socket to umd over TLS (record-routed, so ACK
#     and BYE follow the same path; in-dialog requests from the UDP side always go to umd),
#     logging "GW-REQUEST METHOD from PROTO:IP:PORT ruri=URI", "GW-REPLY CODE METHOD ..." and
#     "GW-FAILURE CODE METHOD";
#   - answers OPTIONS addressed to itself with 200 (used to know it is up).
#   TLS_CERT may hold the chain after the leaf. Options:
#     --tls-port P        its TLS port (default: a free port)
#     --ping-interval S   seconds between keep-alives (default 1)
#     --ping-ruri URI     Request-URI of the keep-alives (default sip:UMD_HOST:UMD_PORT;transport=tls;
#                         they are sent to UMD_HOST:UMD_PORT over TLS whatever it names)
#     --gw-fqdn NAME      host part of the keep-alives' From (default gw1.example.test)
#     --server-name NAME  SNI sent to umd (default: none)
#     --no-verify         do not verify umd's certificate
#     --no-client-cert    present no client certificate to umd
#     --method M          tls method for both roles (default TLSv1.2+)
#     --cipher-list S     OpenSSL cipher list for both roles (default: OpenSSL's)
#     --fr-timer MS       non-INVITE transaction timeout, so a lost ping is a 408 (default 3000)
#     --debug N           Kamailio's debug level (default 2; 3 logs every TLS detail)
#   Sets KAM_DIR, KAM_LOG, KAM_PID, KAM_UDP_PORT, KAM_TLS_PORT for the Kamailio just started
#   (several may run at once; each keeps its own DIR). Returns 1, with the log's tail, when it
#   did not come up within 10 s.
kamailio_start() {
	if [ $# -lt 7 ]; then
		echo "usage: kamailio_start DIR UDP_PORT TLS_CERT TLS_KEY CA_FILE UMD_HOST UMD_PORT [options]" >&2
		return 2
	fi
	local dir=$1 udp=$2 cert=$3 key=$4 ca=$5 uhost=$6 uport=$7
	shift 7
	local tls_port="" interval=1 ruri="" gwfqdn=gw1.example.test sni="" verify=yes clientcert=yes
	local method=TLSv1.2+ ciphers="" fr=3000 debug=2
	while [ $# -gt 0 ]; do
		case $1 in
		--tls-port) tls_port=$2; shift ;;
		--ping-interval) interval=$2; shift ;;
		--ping-ruri) ruri=$2; shift ;;
		--gw-fqdn) gwfqdn=$2; shift ;;
		--server-name) sni=$2; shift ;;
		--no-verify) verify=no ;;
		--no-client-cert) clientcert=no ;;
		--method) method=$2; shift ;;
		--cipher-list) ciphers=$2; shift ;;
		--fr-timer) fr=$2; shift ;;
		--debug) debug=$2; shift ;;
		*) echo "kamailio_start: unknown option $1" >&2; return 2 ;;
		esac
		shift
	done
	[ -n "$tls_port" ] || tls_port=$(free_port)
	[ -n "$ruri" ] || ruri="sip:$uhost:$uport;transport=tls"
	mkdir -p "$dir/run"
	dir=$(cd "$dir" && pwd)
	local f
	for f in "$cert" "$key" "$ca"; do
		[ -r "$f" ] || { echo "kamailio_start: cannot read $f" >&2; return 1; }
	done
	# absolute paths: the tls module resolves relative ones against the config's directory
	cert=$(readlink -f "$cert") key=$(readlink -f "$key") ca=$(readlink -f "$ca")

	{
		echo "# written by kamailio_start (tests/integration/sip.sh)"
		echo "[server:default]"
		echo "method = $method"
		echo "verify_certificate = yes"
		echo "require_certificate = no"
		echo "certificate = $cert"
		echo "private_key = $key"
		echo "ca_list = $ca"
		[ -z "$ciphers" ] || echo "cipher_list = $ciphers"
		echo
		echo "[client:default]"
		echo "method = $method"
		echo "verify_certificate = $verify"
		echo "require_certificate = yes"
		if [ "$clientcert" = yes ]; then
			echo "certificate = $cert"
			echo "private_key = $key"
		fi
		echo "ca_list = $ca"
		[ -z "$ciphers" ] || echo "cipher_list = $ciphers"
	} >"$dir/tls.cfg"

	local e=_kamailio_sed_escape
	sed -e "s|@DEBUG@|$($e "$debug")|g" -e "s|@UDP_PORT@|$($e "$udp")|g" \
		-e "s|@TLS_PORT@|$($e "$tls_port")|g" -e "s|@MPATH@|$($e "$(_kamailio_modpath)")|g" \
		-e "s|@DIR@|$($e "$dir")|g" -e "s|@FR_MS@|$($e "$fr")|g" -e "s|@PING@|$($e "$interval")|g" \
		-e "s|@PING_RURI@|$($e "$ruri")|g" -e "s|@GW_FQDN@|$($e "$gwfqdn")|g" \
		-e "s|@UMD_HOST@|$($e "$uhost")|g" -e "s|@UMD_PORT@|$($e "$uport")|g" \
		-e "s|@SNI@|$($e "$sni")|g" >"$dir/kamailio.cfg" <<'CFG'
#!KAMAILIO
# written by kamailio_start (tests/integration/sip.sh): a SIP gateway in front of umd
debug=@DEBUG@
log_stderror=yes
memdbg=5
memlog=5
children=2
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=no
dns_try_ipv6=no
enable_sctp=no
enable_tls=yes
tcp_connect_timeout=5
listen=udp:127.0.0.1:@UDP_PORT@
listen=tls:127.0.0.1:@TLS_PORT@
mpath="@MPATH@/"

loadmodule "tls.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "uac.so"
loadmodule "rtimer.so"

modparam("tls", "config", "@DIR@/tls.cfg")
# outbound SNI comes only from this xavp (a client profile's server_name only matches)
modparam("tls", "xavp_cfg", "tls")
modparam("tm", "fr_timer", @FR_MS@)
modparam("tm", "fr_inv_timer", 15000)
modparam("tm", "enable_uac_fr", 1)
modparam("rr", "enable_double_rr", 1)
modparam("rtimer", "timer", "name=umdping;interval=@PING@;mode=1;")
modparam("rtimer", "exec", "timer=umdping;route=UMDPING")

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	xlog("L_NOTICE", "GW-REQUEST $rm from $proto:$si:$sp ruri=$ru\n");
	if (has_totag()) {
		# an ACK to a negative reply ends here, handled by tm
		if (is_method("ACK")) t_check_trans();
		if (loose_route() || proto == UDP) {
			route(RELAY);
		} else if (!is_method("ACK")) {
			sl_send_reply("404", "Not here");
		}
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) route(RELAY);
		exit;
	}
	t_check_trans();
	if (is_method("OPTIONS") && uri == myself && $rU == $null) {
		sl_send_reply("200", "Gateway up");
		exit;
	}
	if (proto == UDP) {
		record_route();
		route(RELAY);
	}
	sl_send_reply("403", "Not relayed from this side");
}

route[RELAY] {
	# the UDP side is the test's phone; everything from it goes to umd over TLS
	if (proto == UDP) {
		$du = "sip:@UMD_HOST@:@UMD_PORT@;transport=tls";
		if ("@SNI@" != "") $xavp(tls=>server_name) = "@SNI@";
	}
	t_on_reply("GWREPLY");
	t_on_failure("GWFAIL");
	if (!t_relay()) sl_reply_error();
	exit;
}

onreply_route[GWREPLY] {
	xlog("L_NOTICE", "GW-REPLY $rs $rm from $proto:$si:$sp\n");
}

failure_route[GWFAIL] {
	xlog("L_NOTICE", "GW-FAILURE $T_reply_code $rm\n");
}

route[UMDPING] {
	if ("@SNI@" != "") $xavp(tls=>server_name) = "@SNI@";
	$uac_req(all) = $null;
	$uac_req(method) = "OPTIONS";
	$uac_req(ruri) = "@PING_RURI@";
	$uac_req(furi) = "sip:keepalive@@GW_FQDN@";
	$uac_req(turi) = "sip:@UMD_HOST@:@UMD_PORT@";
	# next hop always umd's address, whatever host the Request-URI names
	$uac_req(ouri) = "sip:@UMD_HOST@:@UMD_PORT@;transport=tls";
	$uac_req(sock) = "tls:127.0.0.1:@TLS_PORT@";
	$uac_req(hdrs) = "Max-Forwards: 70\r\n";
	$uac_req(evroute) = 1;
	uac_req_send();
}

event_route[uac:reply] {
	xlog("L_NOTICE", "UMD-PING $uac_req(evcode) type=$uac_req(evtype)\n");
}
CFG

	: >"$dir/kamailio.log"
	"$KAMAILIO" -f "$dir/kamailio.cfg" -DD -E -m 64 -M 16 -Y "$dir/run" -P "$dir/kamailio.pid" \
		-w "$dir" --atexit=no >>"$dir/kamailio.log" 2>&1 &
	local pid=$!
	KAM_PIDS="$KAM_PIDS $pid"
	KAM_DIRS="$KAM_DIRS $dir"
	echo "$pid" >"$dir/main.pid"
	KAM_DIR=$dir KAM_LOG=$dir/kamailio.log KAM_PID=$pid KAM_UDP_PORT=$udp KAM_TLS_PORT=$tls_port
	local i
	for ((i = 0; i < 100; i++)); do
		_sip_alive "$pid" || break
		_kamailio_up "$udp" && return 0
		sleep 0.1
	done
	echo "kamailio did not start; its log ends:" >&2
	tail -25 "$dir/kamailio.log" >&2
	return 1
}

_kamailio_up() { # UDP_PORT
	python3 "$SIPCLIENT" options --to "sip:127.0.0.1:$1" --timeout 0.5 >/dev/null 2>&1
}

# kamailio_stop [DIR]: stops the Kamailio running in DIR (default: every one started) with
# SIGTERM, then SIGKILL after 5 s, and waits for it. Always returns 0 (a cleanup hook).
kamailio_stop() {
	local pid d keep_pids="" keep_dirs="" i=0
	set -- "${1:-}"
	local want=$1
	[ -z "$want" ] || want=$(cd "$want" 2>/dev/null && pwd)
	local dirs pids
	read -ra dirs <<<"$KAM_DIRS"
	read -ra pids <<<"$KAM_PIDS"
	for ((i = 0; i < ${#pids[@]}; i++)); do
		pid=${pids[$i]} d=${dirs[$i]}
		if [ -n "$want" ] && [ "$d" != "$want" ]; then
			keep_pids="$keep_pids $pid" keep_dirs="$keep_dirs $d"
			continue
		fi
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
			local n
			for ((n = 0; n < 50; n++)); do _sip_alive "$pid" || break; sleep 0.1; done
			if _sip_alive "$pid"; then
				# the main process did not go: kill it and its children (only ours: by parent pid)
				pkill -KILL -P "$pid" 2>/dev/null
				kill -KILL "$pid" 2>/dev/null
			fi
		fi
		wait "$pid" 2>/dev/null
	done
	KAM_PIDS=$keep_pids KAM_DIRS=$keep_dirs
	return 0
}

# kamailio_ping_count CODE [DIR]: how many keep-alives got final status CODE (default DIR:
# the last started).
kamailio_ping_count() {
	local n
	n=$(grep -c "UMD-PING $1 " "${2:-$KAM_DIR}/kamailio.log" 2>/dev/null)
	echo "${n:-0}"
}

# kamailio_wait_ping CODE [TIMEOUT] [DIR]: waits until one more keep-alive than now got CODE
# (default TIMEOUT 10 s). Returns 1 on timeout.
kamailio_wait_ping() {
	local code=$1 timeout=${2:-10} dir=${3:-$KAM_DIR}
	local before
	before=$(kamailio_ping_count "$code" "$dir")
	_sip_wait_for "$timeout" _kamailio_more "$code" "$dir" "$before"
}
_kamailio_more() { [ "$(kamailio_ping_count "$1" "$2")" -gt "$3" ]; }

# kamailio_log [DIR]: prints the log of Kamailio (default: the last started).
kamailio_log() { cat "${1:-$KAM_DIR}/kamailio.log"; }

# --- the python responder -----------------------------------------------------------------------

SIPRESPONDER_PIDS=""
# sipresponder_start LOG ARGS...: starts sipresponder.py ARGS... in the background, its output
# in LOG, and waits until it listens (5 s). Sets SIPRESPONDER_PID. See sipresponder.py's header
# for ARGS (--tls-port P --cert F --key F --ca F [--peer-name N] [--legacy] [--udp-port P]...).
sipresponder_start() {
	local log=$1
	shift
	: >"$log"
	python3 "$SIPRESPONDER" "$@" >>"$log" 2>&1 &
	SIPRESPONDER_PID=$!
	SIPRESPONDER_PIDS="$SIPRESPONDER_PIDS $SIPRESPONDER_PID"
	local want=0
	case " $* " in *" --tls-port "*) want=$((want + 1)) ;; esac
	case " $* " in *" --udp-port "*) want=$((want + 1)) ;; esac
	case " $* " in *" --tcp-port "*) want=$((want + 1)) ;; esac
	if _sip_wait_for 5 _sipresponder_listening "$log" "$want"; then return 0; fi
	echo "sipresponder did not start:" >&2
	cat "$log" >&2
	return 1
}
_sipresponder_listening() { [ "$(grep -c '^LISTEN ' "$1")" -ge "$2" ]; }

# sipresponder_stop [PID]: stops one responder (default: all started): SIGTERM, SIGKILL after
# 3 s, and waits for each. Always returns 0 (a cleanup hook).
sipresponder_stop() {
	local p keep=""
	for p in $SIPRESPONDER_PIDS; do
		if [ -n "${1:-}" ] && [ "$p" != "$1" ]; then keep="$keep $p"; continue; fi
		kill -TERM "$p" 2>/dev/null
		local n
		for ((n = 0; n < 30; n++)); do _sip_alive "$p" || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SIPRESPONDER_PIDS=$keep
	return 0
}

# --- TLS probes (openssl s_client and raw sockets) ----------------------------------------------

# _tls_client_args CERT KEY: prints s_client's client-certificate options, one per line:
# -cert/-key, and -cert_chain with the certificates after the first when CERT holds a chain
# (s_client sends only the first certificate of -cert).
_tls_client_args() {
	[ -n "${1:-}" ] || return 0
	printf '%s\n' -cert "$1" -key "$2"
	if [ "$(grep -c -- '-----BEGIN CERTIFICATE-----' "$1")" -gt 1 ]; then
		local chain
		chain=$(mktemp "$WORK/chain.XXXXXX")
		awk '/-----BEGIN CERTIFICATE-----/ {n++} n > 1' "$1" >"$chain"
		printf '%s\n' -cert_chain "$chain"
	fi
}

# tls_sip_options HOST PORT [CERT KEY [CAFILE]]
#   Opens a TLS connection with openssl s_client (client certificate CERT/KEY when given; the
#   server's certificate is verified against CAFILE when given, the result printed but never
#   fatal), sends one SIP OPTIONS and waits up to 5 s for the answer. Prints:
#     STATUS SIP/2.0 200 OK        (or "STATUS none" when nothing came back)
#     FINGERPRINT 0123...CDEF      (SHA-1 of the server's certificate, upper-case hex without
#                                   colons, as certctl prints Thumbprints; "none" if no handshake)
#     VERIFY 0 (ok)                (s_client's "Verify return code")
#     PROTOCOL TLSv1.3
#     ERROR tlsv13 alert certificate required   (OpenSSL's first error reason, or "none")
#   Returns 0 when a status line came back. TLS_SNI, when set, is sent as SNI (all probes).
tls_sip_options() {
	local host=$1 port=$2 cert=${3:-} key=${4:-} ca=${5:-}
	local out err
	out=$(mktemp "$WORK/tlsopt.XXXXXX") err=$(mktemp "$WORK/tlsopt.XXXXXX")
	local args=(-connect "$host:$port" -nocommands -no_ign_eof)
	[ -z "${TLS_SNI:-}" ] || args+=(-servername "$TLS_SNI")
	mapfile -t -O ${#args[@]} args < <(_tls_client_args "$cert" "$key")
	[ -z "$ca" ] || args+=(-CAfile "$ca")
	local branch=z9hG4bK$RANDOM$RANDOM callid=$RANDOM$RANDOM@probe
	# the writer keeps stdin open until the answer is in (or 5 s), then s_client ends on EOF
	{
		printf 'OPTIONS sip:%s:%s;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:9;branch=%s\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=%s\r\nTo: <sip:%s:%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContact: <sip:probe@127.0.0.1:9;transport=tls>\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n' \
			"$host" "$port" "$branch" "$RANDOM" "$host" "$port" "$callid"
		local i
		for ((i = 0; i < 50; i++)); do
			grep -a -q -E 'SIP/2\.0 [2-6][0-9]{2} ' "$out" 2>/dev/null && break
			grep -q 'Cipher is (NONE)\|errno=\|:error:' "$out" "$err" 2>/dev/null && break
			sleep 0.1
		done
	} | timeout 10 openssl s_client "${args[@]}" >"$out" 2>"$err"
	local status fp verify proto
	# the answer may follow s_client's session dump on the same line: no ^ anchor
	status=$(grep -a -oE 'SIP/2\.0 [2-6][0-9]{2} [^\r]*' "$out" | head -1 | tr -d '\r')
	fp=$(sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$out" |
		openssl x509 -noout -fingerprint -sha1 2>/dev/null | sed 's/.*=//; s/://g')
	verify=$(grep -m1 -a 'Verify return code:' "$out" | sed 's/.*Verify return code: *//')
	proto=$(grep -m1 -a -E '^ *Protocol *:' "$out" | sed 's/.*: *//')
	[ -n "$proto" ] || proto=$(grep -m1 -a -oE 'New, TLSv[0-9.]+' "$out" | sed 's/New, //')
	echo "STATUS ${status:-none}"
	echo "FINGERPRINT ${fp:-none}"
	echo "VERIFY ${verify:-none}"
	echo "PROTOCOL ${proto:-none}"
	local reason
	reason=$(cat "$out" "$err" | grep -a -m1 -oE ':error:[0-9A-F]+:[^:]*:[^:]*:[^:]*' | awk -F: '{print $NF}')
	echo "ERROR ${reason:-none}"
	rm -f "$out" "$err"
	[ -n "$status" ]
}

# tls_fingerprint HOST PORT [CERT KEY]: prints the SHA-1 fingerprint (upper-case hex, no
# colons) of the certificate the server presents, or nothing when no handshake happened.
tls_fingerprint() {
	local args=(-connect "$1:$2")
	[ -z "${TLS_SNI:-}" ] || args+=(-servername "$TLS_SNI")
	mapfile -t -O ${#args[@]} args < <(_tls_client_args "${3:-}" "${4:-}")
	timeout 10 openssl s_client "${args[@]}" </dev/null 2>/dev/null |
		sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' |
		openssl x509 -noout -fingerprint -sha1 2>/dev/null | sed 's/.*=//; s/://g'
}

# tls_handshake HOST PORT [CERT KEY] -- [s_client options...]
#   One handshake with the given s_client options (e.g. -tls1_1 -cipher DEFAULT@SECLEVEL=0),
#   then a short wait for the server to reject it after the handshake (TLS 1.3 servers refuse a
#   client certificate only after the client thinks it is done). Prints one line:
#     HANDSHAKE ok PROTOCOL CIPHER
#     HANDSHAKE failed REASON         (OpenSSL's error reason, or "closed by server")
#   Returns 0 for ok, 1 for failed.
tls_handshake() {
	local host=$1 port=$2 cert="" key=""
	shift 2
	if [ $# -gt 0 ] && [ "$1" != -- ]; then cert=$1 key=$2; shift 2; fi
	[ "${1:-}" != -- ] || shift
	local args=(-connect "$host:$port" -nocommands)
	[ -z "${TLS_SNI:-}" ] || args+=(-servername "$TLS_SNI")
	mapfile -t -O ${#args[@]} args < <(_tls_client_args "$cert" "$key")
	local out
	out=$(mktemp "$WORK/tlshs.XXXXXX")
	# stdin stays open 1 s so a post-handshake alert (TLS 1.3 client-cert refusal) is seen
	{ sleep 1; } | timeout 10 openssl s_client "${args[@]}" "$@" >"$out" 2>&1
	local proto cipher reason
	proto=$(grep -m1 -a -E '^ *Protocol *:' "$out" | sed 's/.*: *//')
	cipher=$(grep -m1 -a -E '^ *Cipher *:' "$out" | sed 's/.*: *//')
	reason=$(grep -m1 -a -oE ':error:[0-9A-F]+:[^:]*:[^:]*:[^:]*' "$out" | awk -F: '{print $NF}')
	if grep -q -a 'Cipher is (NONE)' "$out" || [ -n "$reason" ] || [ -z "$cipher" ] || [ "$cipher" = 0000 ]; then
		[ -n "$reason" ] || reason=$(grep -m1 -a -E 'errno=|alert|closed' "$out" || echo "no handshake")
		echo "HANDSHAKE failed $reason"
		rm -f "$out"
		return 1
	fi
	echo "HANDSHAKE ok $proto $cipher"
	rm -f "$out"
	return 0
}

# tls_probe_tls11 HOST PORT [CERT KEY]: a TLS 1.1 handshake (the client allows it with
# SECLEVEL=0). Prints "TLS1.1 accepted" or "TLS1.1 refused (REASON)"; returns 0 when refused.
tls_probe_tls11() {
	local r
	if r=$(tls_handshake "$1" "$2" ${3:+"$3" "$4"} -- -tls1_1 -cipher DEFAULT@SECLEVEL=0); then
		echo "TLS1.1 accepted"
		return 1
	fi
	echo "TLS1.1 refused (${r#HANDSHAKE failed })"
	return 0
}

# tls_probe_weak_cipher HOST PORT [CERT KEY]: a TLS 1.2 handshake offering only AES128-SHA
# (RSA key exchange, CBC, SHA-1 MAC: allowed by OpenSSL's defaults, refused by a strict policy).
# Prints "WEAK-CIPHER accepted" or "WEAK-CIPHER refused (REASON)"; returns 0 when refused.
# Note: it needs an RSA server certificate to be accepted at all; against an EC-keyed server
# it is refused whatever the policy (no shared cipher), so pair it with an RSA server key
# when the point is to show the policy.
tls_probe_weak_cipher() {
	local r
	if r=$(tls_handshake "$1" "$2" ${3:+"$3" "$4"} -- -tls1_2 -cipher 'AES128-SHA@SECLEVEL=0'); then
		echo "WEAK-CIPHER accepted"
		return 1
	fi
	echo "WEAK-CIPHER refused (${r#HANDSHAKE failed })"
	return 0
}

# tls_probe_renegotiation HOST PORT [CERT KEY]: a TLS 1.2 connection that asks to renegotiate
# (s_client's "R" command). Prints "RENEGOTIATION refused (REASON)" (the server alerted or
# closed) and returns 0, "RENEGOTIATION accepted" and returns 1, or "RENEGOTIATION untested"
# (no TLS 1.2 connection to begin with) and returns 2.
tls_probe_renegotiation() {
	local args=(-connect "$1:$2" -tls1_2)
	[ -z "${TLS_SNI:-}" ] || args+=(-servername "$TLS_SNI")
	mapfile -t -O ${#args[@]} args < <(_tls_client_args "${3:-}" "${4:-}")
	local out
	out=$(mktemp "$WORK/tlsreneg.XXXXXX")
	{ sleep 0.5; printf 'R\n'; sleep 1; } | timeout 10 openssl s_client "${args[@]}" >"$out" 2>&1
	# after "RENEGOTIATING", a completed renegotiation shows the server's certificate checked
	# again ("verify return:"); a refused one an error ("no renegotiation") or a closed line
	local after
	after=$(sed -n '/^RENEGOTIATING/,$p' "$out")
	rm -f "$out"
	if [ -z "$after" ]; then
		echo "RENEGOTIATION untested (no TLS 1.2 session)"
		return 2
	fi
	if grep -q 'verify return:' <<<"$after" && ! grep -q ':error:' <<<"$after"; then
		echo "RENEGOTIATION accepted"
		return 1
	fi
	echo "RENEGOTIATION refused ($(grep -m1 -oE ':error:[0-9A-F]+:[^:]*:[^:]*:[^:]*' <<<"$after" | awk -F: '{print $NF}'))"
	return 0
}

# tls_stall_start HOST PORT SECONDS [COUNT] [partial]
#   In the background, opens COUNT (default 1) TCP connections to HOST:PORT that never finish
#   a TLS handshake: they send nothing, or with "partial" the first 20 bytes of a ClientHello,
#   and are held at most SECONDS (the open-files limit is raised for large COUNTs, within the
#   hard limit). Returns once they are open. Sets TLS_STALL_PID and TLS_STALL_OUT;
#   tls_stall_wait reports.
tls_stall_start() {
	TLS_STALL_OUT=$(mktemp "$WORK/stall.XXXXXX")
	python3 - "$1" "$2" "$3" "${4:-1}" "${5:-}" >"$TLS_STALL_OUT" 2>&1 <<'PY' &
import resource, select, socket, sys, time
host, port, hold, count, mode = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft != resource.RLIM_INFINITY and soft < count + 64:
    want = count + 64 if hard == resource.RLIM_INFINITY else min(hard, count + 64)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
hello = bytes.fromhex("160301020001000200030300000000000000000000")[:20]
socks, start = [], time.monotonic()
for _ in range(count):
    try:
        s = socket.create_connection((host, port), timeout=5)
        if mode == "partial":
            s.sendall(hello)
        socks.append(s)
    except OSError as e:
        print("STALL connect failed: %s" % e, flush=True)
        break
print("STALL opened %d" % len(socks), flush=True)
open_ = {s.fileno(): s for s in socks}
closed_at = []
while open_ and time.monotonic() - start < hold:
    p = select.poll()
    for fd in open_:
        p.register(fd, select.POLLIN)
    r = [open_[fd] for fd, _ in p.poll(200)]
    for s in r:
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if not d:
            closed_at.append(time.monotonic() - start)
            del open_[s.fileno()]
            s.close()
print("STALL closed_by_server %d still_open %d" % (len(closed_at), len(open_)), flush=True)
if closed_at:
    print("STALL first_close_after %.1f" % min(closed_at), flush=True)
PY
	TLS_STALL_PID=$!
	TLS_STALL_PIDS="${TLS_STALL_PIDS:-} $TLS_STALL_PID"
	TLS_STALL_OUTS="${TLS_STALL_OUTS:-} $TLS_STALL_OUT"
	_sip_wait_for 10 grep -q 'STALL opened\|STALL connect failed' "$TLS_STALL_OUT"
}

# tls_stall_wait: waits for every tls_stall_start still running to end and prints their
# reports, in the order they were started, each:
#   STALL opened N
#   STALL closed_by_server C still_open O
#   STALL first_close_after S        (when C > 0: seconds until the server's first close)
tls_stall_wait() {
	local p f
	for p in ${TLS_STALL_PIDS:-}; do wait "$p" 2>/dev/null; done
	for f in ${TLS_STALL_OUTS:-}; do cat "$f"; done
	TLS_STALL_PIDS="" TLS_STALL_OUTS=""
}

# tls_stall_stop: ends every stall still holding connections (a cleanup hook).
tls_stall_stop() {
	local p
	for p in ${TLS_STALL_PIDS:-}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	TLS_STALL_PIDS="" TLS_STALL_OUTS=""
	return 0
}

# _tls_raw_send HOST PORT FILE: sends FILE's bytes over plain TCP and reports what came back
# within 5 s: "RAW closed by server after N bytes: FIRSTLINE", "RAW no answer (open)" ...
_tls_raw_send() {
	python3 - "$1" "$2" "$3" <<'PY'
import socket, sys, time
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(path, "rb").read()
try:
    s = socket.create_connection((host, port), timeout=5)
except OSError as e:
    print("RAW connect failed: %s" % e); sys.exit(1)
try:
    s.sendall(data)
except OSError as e:
    print("RAW send failed: %s" % e); sys.exit(0)
buf, end, closed = b"", time.monotonic() + 5, False
while time.monotonic() < end:
    s.settimeout(max(0.01, end - time.monotonic()))
    try:
        d = s.recv(4096)
    except socket.timeout:
        break
    except OSError:
        closed = True; break
    if not d:
        closed = True; break
    buf += d
first = buf.split(b"\r\n", 1)[0]
shown = first.decode("ascii", "replace") if first[:8] == b"SIP/2.0 " else buf[:16].hex()
if closed:
    print("RAW closed by server after %d bytes%s" % (len(buf), (": " + shown) if buf else ""))
else:
    print("RAW no close within 5 s, %d bytes%s" % (len(buf), (": " + shown) if buf else ""))
PY
}

# tls_send_garbage HOST PORT [BYTES]: sends BYTES (default 512) random bytes to a TLS port
# over plain TCP; prints what happened (see _tls_raw_send). A good TLS server answers with at
# most an alert and closes.
tls_send_garbage() {
	local f
	f=$(mktemp "$WORK/garbage.XXXXXX")
	head -c "${3:-512}" /dev/urandom >"$f"
	_tls_raw_send "$1" "$2" "$f"
	rm -f "$f"
}

# tls_send_plaintext_sip HOST PORT: sends a plaintext SIP OPTIONS to a TLS port over TCP;
# prints what happened (see _tls_raw_send). A SIP status line in the answer means the port
# spoke SIP without TLS.
tls_send_plaintext_sip() {
	local f
	f=$(mktemp "$WORK/plain.XXXXXX")
	printf 'OPTIONS sip:%s:%s SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKplain%s\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p%s\r\nTo: <sip:%s:%s>\r\nCall-ID: plain%s@probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
		"$1" "$2" "$RANDOM" "$RANDOM" "$1" "$2" "$RANDOM" >"$f"
	_tls_raw_send "$1" "$2" "$f"
	rm -f "$f"
}

# sip_options_unsecured HOST PORT [TRANSPORT]: sofia-sip's sip-options to sip:HOST:PORT
# (;transport=TRANSPORT when given: udp or tcp), bound to 127.0.0.1 (left to itself it binds
# every interface and may send from another address than loopback). Prints its output (the
# response's status line and headers); returns its status: 0 for a 2xx.
sip_options_unsecured() {
	local uri="sip:$1:$2"
	[ -z "${3:-}" ] || uri="$uri;transport=$3"
	timeout 20 sip-options --bind=sip:127.0.0.1:0 "$uri" 2>&1
}

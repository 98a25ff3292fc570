# Private Postfix instances for the SMTP submission tests (source it after lib.sh): a hub that
# takes mail only over STARTTLS and delivers it into Maildirs under $WORK, and a relay (Postfix's
# own SMTP client, the benchmark's peer of umd) that sends its queue to a hub over STARTTLS.
#
# Each instance lives in $WORK/postfix-NAME: etc/ (its main.cf and master.cf; `postfix -c`),
# queue/, data/, mail/ (the hub's Maildirs: mail/LOCALPART/{new,cur,tmp}), maillog (its log:
# maillog_file through postlogd; nothing goes to syslog), port. It never reads or writes
# /etc/postfix or /var/spool/postfix (only the programs of the postfix package are used), never
# listens on port 25 (master.cf has one smtpd, on 127.0.0.1:PORT, a free port), delivers nowhere
# but its Maildirs (default_transport and relay_transport are error:), and is stopped when the
# test exits (postfix stop, then its processes waited for). Must run as root: `postfix start`
# does; the daemons run as mail_owner postfix, the hub's Maildirs belong to nobody.
# scripts/demo sources it too, in a POSIX sh (dash) with only WORK set (its ./var/hub): keep
# these functions free of bash-only syntax.
#
#   postfix_cert PREFIX FQDN        a self-signed EC P-256 certificate for FQDN (CN and SAN DNS),
#                                   serverAuth+clientAuth: PREFIX.pem, PREFIX.key
#   postfix_fingerprint PEM         its SHA-256 fingerprint as Postfix writes it (AA:BB:...)
#   postfix_hub_start NAME FQDN CERT KEY [option...]
#       STARTTLS with CERT/KEY (the hub's certificate, for FQDN); smtpd_tls_security_level =
#       encrypt: MAIL without STARTTLS is refused (530). Options:
#         --ccert FP       require a client certificate with this SHA-256 fingerprint (repeat
#                          for more): the client is asked for one (smtpd_tls_ask_ccert) and
#                          check_ccert_access FP -> OK, anything else (no certificate, another
#                          one) is refused at RCPT with 554 5.7.1. No --ccert: TLS without a
#                          client certificate.
#         --mailbox LOCAL  LOCAL@example.test has a Maildir (repeat; default: user); other
#                          recipients of example.test are refused with 550 5.1.1, other domains
#                          with 554 5.7.1 (relay access denied)
#         --reject ADDR    ADDR is refused with 550 5.7.1 (check_recipient_access REJECT)
#         --plain-port     a second smtpd on another free port without TLS and without the
#                          client check (smtp-source's reference figure); postfix_plain_port NAME
#   postfix_relay_start NAME HUB CERT KEY [HUB_FQDN [REUSE]]
#       A Postfix that relays everything to hub HUB ([127.0.0.1]:PORT) with
#       smtp_tls_security_level = secure: the hub's certificate (its own CA file) must name
#       HUB_FQDN (default: the hub's); CERT/KEY is its client certificate. Its queue is held
#       back (defer_transports = smtp) until postfix_relay_release NAME. REUSE "yes": TLS
#       connections are kept and reused (smtp_tls_connection_reuse through tlsproxy, Postfix
#       3.4+); by default Postfix makes a TLS session per delivery.
#   postfix_relay_release NAME     lets the held queue go (defer_transports emptied, reload,
#                                  postqueue -f)
#   postfix_stop NAME              postfix -c DIR stop, then waits until its processes are gone
#   postfix_port NAME / postfix_dir NAME / postfix_log NAME / postfix_maildir NAME LOCAL
#   postfix_master_pid NAME        its master process (queue/pid/master.pid)
#   postfix_count NAME LOCAL       messages delivered to LOCAL@example.test so far
#   postfix_wait NAME LOCAL N [SECONDS]   waits until LOCAL has N messages (default 30 s)
#   postfix_message NAME LOCAL [I]  prints the I-th delivered message (default 1, oldest first)
#   postfix_header NAME LOCAL HEADER [I]  the value of HEADER in that message (first occurrence)
#   postfix_cpu_ticks NAME         user+system clock ticks used so far by the instance (its master,
#                                  the children it has reaped and the live ones)
POSTFIX_NAMES=""
POSTFIX_DOMAIN=example.test

postfix_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
postfix_dir() { echo "$WORK/postfix-$1"; }
postfix_port() { cat "$(postfix_dir "$1")/port"; }
postfix_plain_port() { cat "$(postfix_dir "$1")/plain-port"; }
postfix_log() { echo "$(postfix_dir "$1")/maillog"; }
postfix_maildir() { echo "$(postfix_dir "$1")/mail/$2"; }
postfix_master_pid() {
	local f
	f=$(postfix_dir "$1")/queue/pid/master.pid
	[ -s "$f" ] && tr -d ' \n' <"$f"
}

postfix_cert() { # PREFIX FQDN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-addext "extendedKeyUsage=serverAuth,clientAuth" \
		-keyout "$1.key" -out "$1.pem" 2>"$1.err" || { cat "$1.err"; return 1; }
	chmod 600 "$1.key"
}

postfix_fingerprint() { # PEM
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'
}

# The main.cf lines every instance shares: its own directories, no syslog, no port 25, no DNS,
# no delivery anywhere but its Maildirs.
postfix_main_common() { # DIR FQDN
	cat <<CF
# $1: a private Postfix of umedge's tests (tests/integration/postfix.sh)
compatibility_level = 3.6
queue_directory = $1/queue
data_directory = $1/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $2
mydomain = $POSTFIX_DOMAIN
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
alias_maps =
alias_database =
local_recipient_maps =
smtp_host_lookup = native
disable_dns_lookups = yes
maillog_file = $1/maillog
maillog_file_prefixes = $1
syslog_name = postfix-umedge-$(basename "$1")
biff = no
readme_directory = no
smtputf8_enable = no
message_size_limit = 20480000
CF
}

# The daemons of master.cf, none chrooted (n in the chroot column), none on a network port.
postfix_master_common() {
	cat <<'CF'
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
tlsmgr     unix  -       -       n       1000?   1       tlsmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
virtual    unix  -       n       n       -       -       virtual
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
tlsproxy   unix  -       -       n       -       0       tlsproxy
postlog    unix-dgram n  -       n       -       1       postlogd
CF
}

# postfix_prepare NAME: a fresh instance directory. The test's $WORK is 0700; the daemons run
# as postfix (and the hub's deliveries as nobody) and open absolute paths below it, so $WORK
# is made searchable (o+x, not readable: nothing in it can be listed by others).
postfix_prepare() {
	local d
	d=$(postfix_dir "$1")
	if [ "$(id -u)" != 0 ]; then
		echo "postfix_start $1: needs root (postfix start)"
		return 1
	fi
	postfix_stop "$1"
	rm -rf "$d"
	chmod o+x "$WORK"
	# ... and so must every folder above it be (a TMPDIR under a private home would not do)
	local p=$WORK
	while p=$(dirname "$p") && [ "$p" != / ]; do
		if [ "$(($(stat -c '0%a' "$p") & 1))" = 0 ]; then
			echo "postfix_start $1: $p is not searchable by others: the daemons could not reach $d"
			return 1
		fi
	done
	mkdir -p "$d/etc" "$d/queue" "$d/data"
	chmod 755 "$d" "$d/etc" "$d/queue"
	chown postfix "$d/data"
	chmod 700 "$d/data"
	: >"$d/maillog"
	case " $POSTFIX_NAMES " in *" $1 "*) ;; *) POSTFIX_NAMES="$POSTFIX_NAMES $1" ;; esac
	case " ${cleanup_hooks:-} " in *" postfix_stop_all "*) ;; *) cleanup_hooks="${cleanup_hooks:-} postfix_stop_all" ;; esac
}

# postfix_run NAME: postfix check, then postfix start (which says nothing useful without
# syslog: its log is the instance's maillog), then waits for the master and, when the
# instance listens, for its port.
postfix_run() {
	local name=$1 d port _
	d=$(postfix_dir "$name")
	if ! postfix -c "$d/etc" check >"$d/check.out" 2>&1 || grep -q -E 'fatal|error' "$d/check.out"; then
		echo "postfix_start $name: postfix check failed"
		cat "$d/check.out"
		return 1
	fi
	if ! postfix -c "$d/etc" start >"$d/start.out" 2>&1; then
		echo "postfix_start $name: postfix start failed"
		cat "$d/start.out"
		tail -20 "$d/maillog"
		return 1
	fi
	port=$(cat "$d/port" 2>/dev/null)
	for _ in $(seq 100); do
		if [ -n "$(postfix_master_pid "$name")" ] && kill -0 "$(postfix_master_pid "$name")" 2>/dev/null; then
			if [ -z "$port" ] || python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
				return 0
			fi
		fi
		sleep 0.1
	done
	echo "postfix_start $name: not running or not listening on ${port:-(none)}"
	cat "$d/start.out"
	tail -20 "$d/maillog"
	return 1
}

postfix_hub_start() { # NAME FQDN CERT KEY [--ccert FP]... [--mailbox LOCAL]... [--reject ADDR]... [--plain-port]
	local name=$1 fqdn=$2 cert=$3 key=$4 d port plain="" fps="" boxes="" rejects="" m client
	shift 4
	while [ $# -gt 0 ]; do
		case $1 in
		--ccert) fps="$fps $2" && shift 2 ;;
		--mailbox) boxes="$boxes $2" && shift 2 ;;
		--reject) rejects="$rejects $2" && shift 2 ;;
		--plain-port) plain=yes && shift ;;
		*) echo "postfix_hub_start: unknown option $1" && return 1 ;;
		esac
	done
	[ -n "$boxes" ] || boxes=user
	postfix_prepare "$name" || return 1
	d=$(postfix_dir "$name")
	port=$(postfix_free_port)
	echo "$port" >"$d/port"
	mkdir -p "$d/mail"
	chown nobody:nogroup "$d/mail"
	for m in $boxes; do printf '%s@%s %s/\n' "$m" "$POSTFIX_DOMAIN" "$m"; done >"$d/etc/vmailbox"
	for m in $rejects; do printf '%s REJECT recipient refused by the test hub\n' "$m"; done >"$d/etc/rcpt_access"
	for m in $fps; do printf '%s OK\n' "$m"; done >"$d/etc/ccert_access"
	# A client certificate is asked for only when fingerprints are given; check_ccert_access
	# needs no CA (it looks at the fingerprint of whatever was presented). The check runs at
	# RCPT (smtpd_delay_reject = yes, the default): at connect time there is no TLS yet.
	if [ -n "$fps" ]; then
		client="check_ccert_access texthash:$d/etc/ccert_access, reject"
	else
		client="permit"
	fi
	{
		postfix_main_common "$d" "$fqdn"
		cat <<CF
smtpd_banner = \$myhostname ESMTP umedge test hub
smtpd_tls_security_level = encrypt
smtpd_tls_cert_file = $cert
smtpd_tls_key_file = $key
smtpd_tls_ask_ccert = $([ -n "$fps" ] && echo yes || echo no)
smtpd_tls_fingerprint_digest = sha256
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_session_cache_database =
smtpd_client_restrictions = $client
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$d/etc/rcpt_access, reject_unlisted_recipient
smtpd_reject_unlisted_recipient = yes
unknown_virtual_mailbox_reject_code = 550
access_map_reject_code = 550
virtual_mailbox_domains = $POSTFIX_DOMAIN
virtual_mailbox_base = $d/mail
virtual_mailbox_maps = texthash:$d/etc/vmailbox
virtual_minimum_uid = 100
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
virtual_mailbox_limit = 0
default_transport = error:the test hub delivers nowhere else
relay_transport = error:the test hub delivers nowhere else
CF
	} >"$d/etc/main.cf"
	{
		postfix_master_common
		echo "127.0.0.1:$port inet n - n - - smtpd"
		if [ -n "$plain" ]; then
			postfix_free_port >"$d/plain-port"
			printf '127.0.0.1:%s inet n - n - - smtpd -o smtpd_tls_security_level=none -o smtpd_client_restrictions=permit -o smtpd_tls_ask_ccert=no\n' \
				"$(cat "$d/plain-port")"
		fi
	} >"$d/etc/master.cf"
	postfix_run "$name"
}

postfix_relay_start() { # NAME HUB CERT KEY [HUB_FQDN [REUSE]]
	local name=$1 hub=$2 cert=$3 key=$4 fqdn=${5:-} reuse=${6:-no} d hubcert
	postfix_prepare "$name" || return 1
	d=$(postfix_dir "$name")
	hubcert=$(postconf -c "$(postfix_dir "$hub")/etc" -h smtpd_tls_cert_file)
	[ -n "$fqdn" ] || fqdn=$(postconf -c "$(postfix_dir "$hub")/etc" -h myhostname)
	# The hub's certificate is its own CA (self-signed, as the tests make it); "secure" checks
	# the chain and that it names HUB_FQDN (match=), as umd checks hub_fqdn.
	printf '[127.0.0.1]:%s secure match=%s\n' "$(postfix_port "$hub")" "$fqdn" >"$d/etc/tls_policy"
	{
		postfix_main_common "$d" "relay.$POSTFIX_DOMAIN"
		cat <<CF
relayhost = [127.0.0.1]:$(postfix_port "$hub")
default_transport = smtp
relay_transport = relay
smtp_tls_security_level = secure
smtp_tls_policy_maps = texthash:$d/etc/tls_policy
smtp_tls_CAfile = $hubcert
smtp_tls_cert_file = $cert
smtp_tls_key_file = $key
smtp_tls_loglevel = 1
smtp_tls_session_cache_database =
smtp_tls_connection_reuse = $reuse
defer_transports = smtp
CF
	} >"$d/etc/main.cf"
	postfix_master_common >"$d/etc/master.cf"
	postfix_run "$name"
}

postfix_relay_release() { # NAME
	local d m old new _
	d=$(postfix_dir "$1")
	m=$(postfix_master_pid "$1")
	# the reload is asynchronous: the master restarts qmgr with the new setting later, and a
	# flush handled by the old qmgr defers the queue again (for minimal_backoff_time): flush only
	# once a new qmgr runs
	old=$(_postfix_qmgr "$m")
	postconf -c "$d/etc" -e 'defer_transports =' &&
		postfix -c "$d/etc" reload >/dev/null 2>&1 || return 1
	for _ in $(seq 200); do
		new=$(_postfix_qmgr "$m")
		[ -n "$new" ] && [ "$new" != "$old" ] && break
		sleep 0.05
	done
	postqueue -c "$d/etc" -f
}

# _postfix_qmgr MASTER_PID: the pid of its qmgr ("" when none runs)
_postfix_qmgr() {
	ps -o pid=,comm= --ppid "$1" 2>/dev/null | awk '$2 == "qmgr" {print $1; exit}'
}

# Children of the master (its daemons), for the stop and for the CPU figures.
postfix_children() { # MASTER_PID
	ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '
}

postfix_cpu_ticks() { # NAME: master (own and reaped children) + live children (own and reaped)
	local m p s=0 t
	m=$(postfix_master_pid "$1")
	[ -n "$m" ] || { echo 0; return 0; }
	for p in $m $(postfix_children "$m"); do
		t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null) || continue
		s=$((s + ${t:-0}))
	done
	echo $s
}

postfix_stop() { # NAME
	local d m kids p _
	d=$(postfix_dir "$1")
	m=$(postfix_master_pid "$1")
	[ -n "$m" ] && kill -0 "$m" 2>/dev/null || return 0
	kids=$(postfix_children "$m")
	postfix -c "$d/etc" stop >/dev/null 2>&1 || kill -TERM "$m" 2>/dev/null
	for _ in $(seq 100); do
		local alive=""
		for p in $m $kids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	# Still there after 10 s: they are this instance's own processes (listed above), killed.
	for p in $m $kids; do kill -KILL "$p" 2>/dev/null; done
	rm -f "$d/queue/pid/master.pid"
	return 0
}

postfix_stop_all() {
	local n
	for n in $POSTFIX_NAMES; do postfix_stop "$n"; done
	return 0
}

postfix_count() { # NAME LOCAL
	local m
	m=$(postfix_maildir "$1" "$2")
	find "$m/new" "$m/cur" -type f 2>/dev/null | wc -l
}

postfix_wait() { # NAME LOCAL N [SECONDS]
	local i
	for i in $(seq $((${4:-30} * 10))); do
		[ "$(postfix_count "$1" "$2")" -ge "$3" ] && return 0
		[ $((i % 10)) = 0 ] && ! kill -0 "$(postfix_master_pid "$1")" 2>/dev/null && break
		sleep 0.1
	done
	echo "postfix_wait $1 $2: $(postfix_count "$1" "$2") messages, not $3"
	tail -5 "$(postfix_log "$1")"
	return 1
}

postfix_message() { # NAME LOCAL [I]
	local m f
	m=$(postfix_maildir "$1" "$2")
	# Maildir names start with the delivery time in seconds, then a unique part: sorted by
	# modification time for the order of delivery
	f=$(find "$m/new" "$m/cur" -type f -printf '%T@ %p\n' 2>/dev/null | sort -n | sed -n "${3:-1}p" | cut -d' ' -f2-)
	[ -n "$f" ] || return 1
	cat "$f"
}

postfix_header() { # NAME LOCAL HEADER [I]: unfolded, the first occurrence
	postfix_message "$1" "$2" "${4:-1}" | python3 -c '
import email, email.policy, sys
m = email.message_from_binary_file(sys.stdin.buffer, policy=email.policy.compat32)
v = m.get(sys.argv[1])
if v is None:
    sys.exit(1)
print(" ".join(str(v).split()))' "$3"
}

#!/bin/bash
# Two edgesync replicators sharing the edges by lease (docker/compose.replicas.yaml over
# compose.yaml), run with podman: the source, both edges, their subscribe jobs and edgesync first,
# alone: it shares its certificate and imports nothing while edgesync2's is missing; then
# edgesync2: both edges filled from the source, each credential opened by both replicators
# (`edgesync test` Normal from each) and by no other (a third store's certificate: Undecryptable,
# saying why). Then the one holding edge1's lease is killed (`podman kill -s KILL`: SIGKILL to
# its tini, the replicator dies with its leases held; podman does not apply the restart policy
# to a container it killed, which the test checks) while recipients are added at the source: the
# survivor takes the dead one's edges once their leases expire (EdgeLeaseAcquired 2003, no
# earlier than the expiry read before the kill), and both edges end equal to the source
# (`edgesync test --full-compare`). The killed one is started again and rejoins: it runs, and
# either waits for the leases the survivor renews or takes an edge. `# MEASURED` lines: the time
# from the kill to each takeover, and the leases after the rejoin.
#
# A short lease_seconds (20) and rule intervals (3 s) in a copy of docker/config keep it fast.
# Skipped (exit 77) when podman cannot run a container, or edgesync is not built. Environment:
# EDGESYNC (the host build's, only to know edgesync is built), UMEDGE_IT_TAG or
# UMEDGE_TAG (the images' tag), KEEP_WORK, UMEDGE_IT_KEEP_UP=1 (leave the deployment up).
. "$(dirname "$0")/lib.sh"
EDGESYNC=${EDGESYNC:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/integration
PROJECT=umedgerep$$
LEASE=20
export UMEDGE_TAG=${UMEDGE_IT_TAG:-${UMEDGE_TAG:-it-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)}}
T0=$SECONDS
phase() { echo "# [$((SECONDS - T0)) s] $*"; }
skip() {
	echo "SKIP: $*"
	exit 77
}
. "$HERE/containerlib.sh"

cname() { echo "${PROJECT}_$1_1"; }
pc() {
	podman-compose --podman-args "--runtime runc" -f "$ROOT/docker/compose.yaml" \
		-f "$ROOT/docker/compose.replicas.yaml" -p "$PROJECT" "$@"
}
[ -n "$EDGESYNC" ] && [ -x "$EDGESYNC" ] || skip "the edgesync binary is not built (EDGESYNC='$EDGESYNC')"
containers_can_run rep
containers_reap umedgerep

phase "images"
if ! containers_build edgesync directory; then
	finish
	exit 1
fi

CONF=$WORK/config
cp -r "$ROOT/docker/config" "$CONF"
sed -i "s/^lease_seconds = .*/lease_seconds = $LEASE/; s/^interval = 60\$/interval = 3/" "$CONF/edgesync.conf"
chmod -R a+rX "$CONF"
export UMEDGE_CONFIG=$CONF

compose_down() {
	[ -z "${UMEDGE_IT_KEEP_UP:-}" ] || { echo "# left up: project $PROJECT"; return 0; }
	local t=$SECONDS c v
	pc down -t 5 >"$WORK/compose-down.log" 2>&1
	for c in $(podman ps -a --format '{{.Names}}' | grep "^${PROJECT}_" || true); do pm rm -f -v -t 2 "$c" >/dev/null 2>&1; done
	for v in $(podman volume ls --format '{{.Name}}' | grep "^${PROJECT}_" || true); do podman volume rm -f "$v" >/dev/null 2>&1; done
	podman network rm -f "${PROJECT}_default" >/dev/null 2>&1
	echo "# deployment $PROJECT brought down and removed ($((SECONDS - t)) s)"
	return 0
}
cleanup_hooks="$cleanup_hooks compose_down"

# events LOG: the JSON lines of a container's log (stdout)
events() { podman logs "$(cname "$1")" 2>/dev/null | jq -c -R 'fromjson? // empty'; }
logs_match() { # SERVICE PATTERN [SECONDS]: until its log has a line matching PATTERN
	for _ in $(seq "${3:-60}"); do podman logs "$(cname "$1")" 2>/dev/null | grep -q -- "$2" && return 0; sleep 1; done
	podman logs --tail 5 "$(cname "$1")" 2>&1
	return 1
}
ES1=$(cname edgesync)
ES2=$(cname edgesync2)
# rtest SERVICE [ARGS]: `edgesync test --format json` in that replicator, with its configuration
rtest() { local s=$1; shift; pm exec "$(cname "$s")" edgesync -c /run/umedge-edgesync/edgesync.conf test --format json "$@" 2>/dev/null; }

# --- edgesync alone: it waits for edgesync2's certificate before importing anything -----------------------
phase "up: source, edges, subscribe jobs, edgesync (project $PROJECT)"
t=$SECONDS
if pc up -d --no-build edgesync >"$WORK/up1.log" 2>&1; then ok "podman-compose up edgesync and what it depends on ($((SECONDS - t)) s)"; else
	not_ok "podman-compose up failed"
	grep -v systemd "$WORK/up1.log" | tail -20 | sed 's/^/    /'
fi
check "edgesync waits for edgesync2's certificate" logs_match edgesync 'waiting for the certificates of the replicators edgesync2' 90
check "... having shared its own (replicators/edgesync.pem)" pm exec "$ES1" grep -q 'END CERTIFICATE' /var/lib/umedge/replicators/edgesync.pem
pins_there() { for _ in $(seq 90); do pm exec "$ES1" sh -c 'test -s /var/lib/umedge/pins/edge1.pin && test -s /var/lib/umedge/pins/edge2.pin' && return 0; sleep 1; done; return 1; }
check "both subscribe jobs left their files and pins" pins_there
# the files and pins are there, the replicator has had passes of its loop: still nothing
sleep 2
expect_eq "nothing imported: the source lists no subscription" "[]" \
	"$(pm exec "$ES1" edgesync -c /etc/umedge/edgesync.conf subscription list --format json 2>/dev/null | jq -c '[.[].Name]' 2>&1)"
check "... and both files wait in the volume" pm exec "$ES1" sh -c 'test -s /var/lib/umedge/subscriptions/edge1.json && test -s /var/lib/umedge/subscriptions/edge2.json'
pm exec "$ES1" edgesync-entrypoint import >"$WORK/import-early.txt" 2>&1
expect_eq "edgesync-entrypoint import refuses too (exit 1)" 1 "$?"
check "... saying the credential would be encrypted to this replicator only" grep -q "encrypt the credentials to this replicator only" "$WORK/import-early.txt"

# --- edgesync2: both share, import, replicate --------------------------------------------------------------
phase "up: edgesync2"
t=$SECONDS
if pc up -d --no-build --no-deps edgesync2 >"$WORK/up2.log" 2>&1; then ok "podman-compose up edgesync2 ($((SECONDS - t)) s)"; else
	not_ok "podman-compose up edgesync2 failed"
	grep -v systemd "$WORK/up2.log" | tail -20 | sed 's/^/    /'
fi
src_count() { pm exec "$(cname source)" directory-entrypoint search -b ou=people,dc=corp,dc=test '(mail=*)' 1.1 2>/dev/null | grep -c '^dn:'; }
edge_count() { pm exec "$(cname "$1")" directory-entrypoint search -b "dc=$1,dc=test" '(&(objectClass=umedgeReplicated)(umedgeArea=recipients)(umedgeSourceUUID=*))' 1.1 2>/dev/null | grep -c '^dn:'; }
wait_count() { # EDGE WANT [SECONDS]
	for _ in $(seq "${3:-90}"); do [ "$(edge_count "$1")" = "$2" ] && return 0; sleep 1; done
	echo "edge $1 holds $(edge_count "$1") recipients, want $2"
	return 1
}
N=$(src_count)
expect_eq "the source holds the 5 recipients of source.ldif" 5 "$N"
for e in edge1 edge2; do
	check "$e received the source's $N recipients" wait_count "$e" "$N"
done
check "edgesync runs with edgesync2's certificate among the recipients" \
	pm exec "$ES1" grep -qx 'replicator_certificates = /var/lib/umedge/replicators/edgesync2.pem' /run/umedge-edgesync/edgesync.conf
check "edgesync2 runs with edgesync's" \
	pm exec "$ES2" grep -qx 'replicator_certificates = /var/lib/umedge/replicators/edgesync.pem' /run/umedge-edgesync/edgesync.conf
# the certificate each shared is the one edgesync runs with (CertificateInUse 1000, service
# LDAP): the entrypoint chose as edgesync chooses, and edgesync made no other (no 1002)
same_certificate() { # SERVICE
	local shared used
	shared=$(pm exec "$ES1" cat "/var/lib/umedge/replicators/$1.pem" | openssl x509 -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
	used=$(events "$1" | jq -r 'select(.event_id == 1000 and .service == "LDAP") | .thumbprint' | tail -1)
	[ -n "$shared" ] && [ "$shared" = "$used" ] || { echo "shared [$shared], in use [$used]"; return 1; }
	! events "$1" | jq -s -e 'any(.[]; .event_id == 1002)' >/dev/null || { echo "edgesync made a certificate of its own"; return 1; }
}
# (a replicator logs CertificateInUse when its daemon starts: edgesync2's may still be in its
# entrypoint, waiting for the source to list both edges, when the edges are already full)
same_certificate_soon() { # SERVICE
	local _
	for _ in $(seq 30); do
		same_certificate "$1" >/dev/null 2>&1 && return 0
		sleep 1
	done
	same_certificate "$1"
}
for s in edgesync edgesync2; do
	check "$s shared the certificate it runs with (CertificateInUse), and made no other" same_certificate_soon "$s"
done
both_normal() { # SERVICE: its `edgesync test` finds both edges Normal, the credential Valid
	local out
	for _ in $(seq 30); do
		out=$(rtest "$1")
		jq -e '([.[] | select(.SyncStatus == "Normal" and .CredentialStatus == "Valid") | .Name] | sort) == ["edge1", "edge2"]' <<<"$out" >/dev/null 2>&1 && return 0
		sleep 1
	done
	echo "$out"
	return 1
}
for s in edgesync edgesync2; do
	check "$s opens both edges' credentials (edgesync test: both Normal, CredentialStatus Valid)" both_normal "$s"
done

# a replicator whose certificate is not among the recipients: a store of its own, with an LDAP
# certificate, on the same network and configuration
pm run --rm "${LIMITS[@]}" --network "${PROJECT}_default" -v "${PROJECT}_handoff:/var/lib/umedge/handoff:ro" \
	-v "$CONF:/etc/umedge:ro" --hostname stranger "umedge/edgesync:$UMEDGE_TAG" \
	sh -c 'certctl new --services LDAP --key ec256 >/dev/null && edgesync -c /etc/umedge/edgesync.conf test --edge edge1 --format json' \
	>"$WORK/stranger.json" 2>"$WORK/stranger.err"
expect_eq "a third replicator's edgesync test fails (exit 1)" 1 "$?"
check "... its credential Undecryptable, saying it was encrypted to other replicators" jq -s -e \
	'.[0][0].CredentialStatus == "Undecryptable" and (.[0][0].FailureDetail | test("no certificate of the store .* opens the credential.*encrypted to another replicator"))' \
	"$WORK/stranger.json"

# --- kill -9 the holder of edge1's lease --------------------------------------------------------------------
phase "kill"
rtest edgesync >"$WORK/leases.json"
holder_host() { jq -r --arg e "$1" '.[] | select(.Name == $e) | .LeaseHolder // "" | split("/")[0]' "$WORK/leases.json"; }
VICTIM=$(holder_host edge1)
case $VICTIM in edgesync) SURVIVOR=edgesync2 ;; edgesync2) SURVIVOR=edgesync ;; *) SURVIVOR="" ;; esac
check "edge1's lease is held by one of the two replicators (${VICTIM:-none})" test -n "$SURVIVOR"
VICTIM_EDGES=""
for e in edge1 edge2; do [ "$(holder_host "$e")" = "$VICTIM" ] && VICTIM_EDGES="$VICTIM_EDGES $e"; done
echo "# MEASURED leases before the kill: edge1 $(holder_host edge1), edge2 $(holder_host edge2)"
for u in gina hugo; do
	printf 'dn: uid=%s,ou=people,dc=corp,dc=test\nobjectClass: inetOrgPerson\nobjectClass: umedgeRecipient\nuid: %s\ncn: %s\nsn: %s\nmail: %s@corp.test\nproxyAddresses: SMTP:%s@corp.test\n' \
		"$u" "$u" "$u" "$u" "$u" "$u" | pm exec -i "$(cname source)" directory-entrypoint add >/dev/null 2>&1
done
expect_eq "two recipients added at the source" $((N + 2)) "$(src_count)"
rtest edgesync >"$WORK/leases.json"
EXPIRY=0
for e in $VICTIM_EDGES; do
	x=$(date -d "$(jq -r --arg e "$e" '.[] | select(.Name == $e) | .LeaseExpiry' "$WORK/leases.json")" +%s 2>/dev/null || echo 0)
	[ "$x" -gt $EXPIRY ] && EXPIRY=$x
done
VC=$(cname "$VICTIM")
RESTARTS=$(podman inspect --format '{{.RestartCount}}' "$VC" 2>/dev/null)
KILLED=$(date +%s)
pm kill -s KILL "$VC" >/dev/null 2>&1
check "$VICTIM killed (SIGKILL), its leases of$VICTIM_EDGES held until $(date -u -d "@$EXPIRY" +%H:%M:%S)" \
	bash -c "for i in \$(seq 20); do [ \"\$(podman inspect --format '{{.State.Status}}' $VC)\" = exited ] && exit 0; sleep 0.5; done; exit 1"

takeover() { # EDGE: the survivor's EdgeLeaseAcquired for EDGE after the kill; prints its epoch
	local t
	for _ in $(seq $((LEASE + 90))); do
		t=$(events "$SURVIVOR" | jq -r --arg e "$1" 'select(.event_id == 2003 and .edge == $e) | .time' |
			while read -r x; do date -d "$x" +%s; done | awk -v k="$KILLED" '$1 >= k' | head -1)
		[ -n "$t" ] && { echo "$t"; return 0; }
		sleep 1
	done
	return 1
}
for e in $VICTIM_EDGES; do
	if at=$(takeover "$e"); then
		ok "$SURVIVOR took $e (EdgeLeaseAcquired 2003)"
		check "... once the lease had expired (at $(date -u -d "@$at" +%H:%M:%S), expiry $(date -u -d "@$EXPIRY" +%H:%M:%S))" test "$at" -ge "$EXPIRY"
		echo "# MEASURED $e: kill to takeover $((at - KILLED)) s (lease_seconds $LEASE; the lease had $((EXPIRY - KILLED)) s left at the kill)"
		# more than a second or two after the expiry: what the survivor did in between
		[ $((at - EXPIRY)) -le 2 ] || events "$SURVIVOR" | jq -c --argjson a $((EXPIRY - 3)) --argjson b "$at" \
			'select((.time | fromdateiso8601) as $t | $t >= $a and $t <= $b)' | sed 's/^/#   /'
	else
		not_ok "$SURVIVOR did not take $e within $((LEASE + 90)) s"
		events "$SURVIVOR" | tail -5 | sed 's/^/    /'
	fi
done
for e in edge1 edge2; do
	check "$e holds the source's $((N + 2)) recipients" wait_count "$e" $((N + 2))
done
full_equal() { # the survivor's full compare: both edges Normal, recipients equal to the source
	local out
	for _ in $(seq 20); do
		out=$(rtest "$SURVIVOR" --full-compare)
		jq -e --argjson n $((N + 2)) '([.[] | select(.SyncStatus == "Normal" and .Areas.recipients.SynchronizedObjects == $n and .Areas.recipients.SourceOnlyObjects == 0 and .Areas.recipients.TargetOnlyObjects == 0 and .Areas.recipients.ConflictObjects == 0) | .Name] | sort) == ["edge1", "edge2"]' <<<"$out" >/dev/null 2>&1 && return 0
		sleep 2
	done
	echo "$out"
	return 1
}
check "edgesync test --full-compare: both edges Normal, $((N + 2)) recipients synchronized, none missing or extra" full_equal
expect_eq "podman did not restart the killed container (restart policy unless-stopped)" "exited $RESTARTS" \
	"$(podman inspect --format '{{.State.Status}} {{.RestartCount}}' "$VC" 2>/dev/null)"

# --- the killed one rejoins --------------------------------------------------------------------------------
phase "rejoin"
BACK=$(date +%s)
pm start "$VC" >/dev/null 2>&1
after_back() { events "$VICTIM" | jq -c --argjson b "$BACK" 'select((.time | fromdateiso8601) >= $b)'; }
rejoined() { # the restarted replicator runs: for each edge, it waits for the lease or synchronized it
	local e ok
	for _ in $(seq 60); do
		ok=1
		for e in edge1 edge2; do
			after_back | jq -s -e --arg e "$e" 'any(.[]; (.event_id == 2000 and .edge == $e) or ((.message // "") | startswith("edge " + $e + ": lease held by")))' >/dev/null || ok=0
		done
		[ $ok = 1 ] && return 0
		sleep 1
	done
	after_back | tail -5
	return 1
}
check "$VICTIM started again and runs its cycles (each edge: waits for the lease, or synchronized)" rejoined
rtest "$SURVIVOR" >"$WORK/leases.json"
echo "# MEASURED leases after the rejoin: edge1 $(holder_host edge1), edge2 $(holder_host edge2);" \
	"$VICTIM since its restart: $(after_back | grep -c 'lease held by') lease waits, $(after_back | jq -s '[.[] | select(.event_id == 2000)] | length') EdgeSyncCompleted"
check "$VICTIM opens both credentials again (edgesync test: both Normal)" both_normal "$VICTIM"

phase "down"
compose_down
cleanup_hooks=${cleanup_hooks/ compose_down/}
phase "done"
finish

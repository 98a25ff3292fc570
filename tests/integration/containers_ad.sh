#!/bin/bash
# The compose deployment with Active Directory as the source (docker/compose.ad.yaml), built and
# run with podman as containers.sh does the OpenLDAP one: the umedge/samba image (Samba's AD DC)
# provisions its domain on first start into its volume, loads the umedge AD schema, adds
# config/ad.ldif and the replicator's account; the replicator (type = ad) subscribes both edges
# with the pins their side printed and copies the AD recipients and transport entries there. Then
# a contact added in AD reaches the edges (DirSync), every HEALTHCHECK passes, the replicator
# bound as its own account (not a domain administrator), and everything is brought down.
#
# Opt-in (skipped, exit 77, unless UMEDGE_AD_CONTAINER_TEST=1): a cold run builds the Samba image
# and provisions a domain, two to four minutes on a loaded 2-core machine, beyond the budget of
# the default suite. Also skipped when podman cannot run a container, or edgesync is not built.
#
# Environment: CERTCTL, EDGESYNC (the host build's edgesync, only to know whether it is built),
# UMEDGE_IT_TAG (the images' tag; default one per checkout, as containers.sh), KEEP_WORK,
# UMEDGE_IT_KEEP_UP=1 (leave the deployment up).
. "$(dirname "$0")/lib.sh"
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
EDGESYNC=${EDGESYNC:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
COMPOSE=$ROOT/docker/compose.ad.yaml
PROJECT=umedgeadit$$
export UMEDGE_TAG=${UMEDGE_IT_TAG:-it-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)}
T0=$SECONDS
phase() { echo "# [$((SECONDS - T0)) s] $*"; }
skip() {
	echo "SKIP: $*"
	exit 77
}
[ "${UMEDGE_AD_CONTAINER_TEST:-}" = 1 ] || skip "opt-in: set UMEDGE_AD_CONTAINER_TEST=1 (builds the Samba AD DC image and provisions a domain: minutes)"
[ -n "$EDGESYNC" ] && [ -x "$EDGESYNC" ] || skip "the edgesync binary is not built (EDGESYNC='$EDGESYNC')"
. "$ROOT/tests/integration/containerlib.sh"
containers_can_run adit
containers_reap umedgeadit

# the helpers of containers.sh
cname() { echo "${PROJECT}_$1_1"; }
pc() { podman-compose --podman-args "--runtime runc" -f "$COMPOSE" -p "$PROJECT" "$@"; }
wait_healthy() { # SERVICE SECONDS: runs the container's HEALTHCHECK until it passes
	local c end out
	c=$(cname "$1")
	end=$((SECONDS + $2))
	while :; do
		out=$(pm healthcheck run "$c" 2>&1) && return 0
		if [ $SECONDS -ge $end ]; then
			echo "$out"
			return 1
		fi
		sleep 2
	done
}

# --- images ----------------------------------------------------------------------------------------
phase "base images and images (tag $UMEDGE_TAG)"
t=$SECONDS
containers_build directory edgesync samba || { finish; exit 1; }
hc=$(podman image inspect --format '{{json .Config.Healthcheck}}' "umedge/samba:$UMEDGE_TAG" 2>/dev/null)
check "image samba has its HEALTHCHECK (docker format)" grep -q "entrypoint.*health" <<<"$hc"

# --- the deployment ---------------------------------------------------------------------------------
CONF=$WORK/config
cp -r "$ROOT/docker/config" "$CONF"
sed -i 's/^interval = 60$/interval = 5/' "$CONF/edgesync-ad.conf"
chmod -R a+rX "$CONF"
compose_down() {
	[ -z "${UMEDGE_IT_KEEP_UP:-}" ] || { echo "# left up: podman-compose -p $PROJECT -f $COMPOSE down -v"; return 0; }
	local c v
	UMEDGE_CONFIG=$CONF pc down -t 10 >"$WORK/compose-down.log" 2>&1
	for c in $(podman ps -a --format '{{.Names}}' | grep "^${PROJECT}_" || true); do pm rm -f -v -t 2 "$c" >/dev/null 2>&1; done
	for v in $(podman volume ls --format '{{.Name}}' | grep "^${PROJECT}_" || true); do podman volume rm -f "$v" >/dev/null 2>&1; done
	podman network rm -f "${PROJECT}_default" >/dev/null 2>&1
	return 0
}
cleanup_hooks="$cleanup_hooks compose_down"
phase "compose up (project $PROJECT)"
t=$SECONDS
if UMEDGE_CONFIG=$CONF pc up -d --no-build >"$WORK/compose-up.log" 2>&1; then
	ok "podman-compose -f compose.ad.yaml up ($((SECONDS - t)) s)"
else
	not_ok "podman-compose up failed"
	grep -v systemd "$WORK/compose-up.log" | tail -20 | sed 's/^/    /'
fi
DC=$(cname dc1)
check "dc1: the domain is provisioned and answers LDAPS (HEALTHCHECK)" wait_healthy dc1 240
podman logs "$DC" >"$WORK/dc1.log" 2>&1
grep -E "entrypoint|error" "$WORK/dc1.log" | grep -v '"level":"info".*starting' | head -12 | sed 's/^/    /'
check "dc1: its first start made a self-signed LDAPS certificate with certctl (1002)" grep -q '"event_id":1002' "$WORK/dc1.log"
check "dc1: the umedge schema was loaded" grep -q "the umedge schema ad-data.ldif is loaded" "$WORK/dc1.log"
pm exec "$DC" samba-entrypoint search -b "CN=Schema,CN=Configuration,DC=corp,DC=test" '(lDAPDisplayName=umedgeEdgeSubscription)' 1.1 >"$WORK/schema.ldif" 2>&1
check "dc1: AD knows umedgeEdgeSubscription" grep -q "^dn: CN=umedgeEdgeSubscription" "$WORK/schema.ldif"
pm exec "$DC" cat /var/lib/umedge/handoff/dc1.pem >"$WORK/dc1.pem" 2>/dev/null
check "dc1: the exported certificate names dc1 and dc1.corp.test" bash -c "openssl x509 -in '$WORK/dc1.pem' -noout -ext subjectAltName | grep -q 'DNS:dc1.corp.test, DNS:dc1'"

# --- replication from AD -------------------------------------------------------------------------
phase "replication"
edge_recipients() { # EDGE: the recipient copies edgesync wrote there
	pm exec "$(cname "$1")" directory-entrypoint search -b "dc=$1,dc=test" \
		"(&(objectClass=umedgeReplicated)(umedgeArea=${2:-recipients})(umedgeSourceUUID=*))" 1.1 2>/dev/null |
		grep -c '^dn:'
}
wait_count() { # EDGE N SECONDS
	local end=$((SECONDS + $3)) n
	while :; do
		n=$(edge_recipients "$1")
		[ "$n" = "$2" ] && return 0
		[ $SECONDS -lt "$end" ] || { echo "$1 holds $n recipients, want $2"; return 1; }
		sleep 2
	done
}
for e in edge1 edge2; do
	check "$e holds the 4 recipients of config/ad.ldif" wait_count "$e" 4 300
done
for a in accepteddomains remotedomains connectors; do
	expect_eq "edge1 holds the one entry of area $a (the umedge classes, readable by the replicator)" 1 "$(edge_recipients edge1 "$a")"
done
ES=$(cname edgesync)
check "edgesync: HEALTHCHECK passes (both edges Normal)" wait_healthy edgesync 120
podman logs "$ES" >"$WORK/edgesync.log" 2>&1
check "the replicator imported both subscriptions into AD, each confirmed by its pin" \
	bash -c "[ \"\$(grep -c 'imported the subscription of edge' '$WORK/edgesync.log')\" -eq 2 ]"
check "... and synchronized both (EdgeSyncCompleted)" \
	bash -c "grep '\"event_id\":2000' '$WORK/edgesync.log' | grep -q edge1 && grep '\"event_id\":2000' '$WORK/edgesync.log' | grep -q edge2"
pm exec "$DC" samba-entrypoint search -b "CN=Edge Subscriptions,DC=corp,DC=test" '(objectClass=umedgeEdgeSubscription)' umedgeEdgeName >"$WORK/subs.ldif" 2>&1
check "the subscriptions live in AD" bash -c "grep -q '^umedgeEdgeName: edge1' '$WORK/subs.ldif' && grep -q '^umedgeEdgeName: edge2' '$WORK/subs.ldif'"
pm exec -i "$DC" samba-entrypoint modify >"$WORK/add.out" 2>&1 <<'LDIF'
dn: CN=New Contact,OU=People,DC=corp,DC=test
changetype: add
objectClass: contact
mail: New@Partner.Test
LDIF
check "a contact added in AD" grep -q 'adding new entry "CN=New Contact' "$WORK/add.out"
for e in edge1 edge2; do
	check "... reaches $e (DirSync, within a few cycles)" wait_count "$e" 5 90
done
podman logs "$ES" >"$WORK/edgesync.log" 2>&1
check "the replicator read AD incrementally (DirSync)" grep -q "area recipients: DirSync: 1 changed, 0 gone" "$WORK/edgesync.log"
pm exec "$DC" samba-entrypoint search -b "CN=Domain Admins,CN=Users,DC=corp,DC=test" -s base member >"$WORK/admins.ldif" 2>&1
check "... as CN=edgesync,CN=Users, which is not a domain administrator" \
	bash -c "grep -q '^member: CN=Administrator' '$WORK/admins.ldif' && ! grep -qi 'CN=edgesync' '$WORK/admins.ldif'"
phase "done"
finish

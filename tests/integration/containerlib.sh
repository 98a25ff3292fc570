# What the container tests (containers.sh, pool.sh) share: whether podman can run a container
# here, the removal of what an earlier run that was killed left behind, and the images, built
# by docker/make-base and docker/build-images as an administrator builds them. Source it after
# lib.sh; the caller defines skip() (exit 77) and sets ROOT. podman runs with --runtime runc and
# the ulimits of LIMITS (within what this host allows).
pm() { podman --runtime runc "$@"; }
LIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)

# containers_can_run NAME: skips the test unless podman and podman-compose are installed and
# podman runs a one-binary image made from the host's /usr/bin/true (no network needed)
containers_can_run() {
	local probe_root=$WORK/probe probe_tag=localhost/umedge-$1-probe:latest f
	command -v podman >/dev/null || skip "podman is not installed (scripts/install-deps installs podman, runc, podman-compose, debootstrap)"
	command -v podman-compose >/dev/null || skip "podman-compose is not installed (scripts/install-deps installs it)"
	if ! podman info >"$WORK/podman-info.txt" 2>&1; then
		skip "podman cannot run here: podman info: $(tail -1 "$WORK/podman-info.txt")"
	fi
	mkdir -p "$probe_root"
	for f in /usr/bin/true $(ldd /usr/bin/true | grep -oE '/[^ ]+'); do
		mkdir -p "$probe_root$(dirname "$f")"
		cp -L "$f" "$probe_root$f"
	done
	if ! tar -C "$probe_root" -cf - . | podman import -q - "$probe_tag" >"$WORK/probe.log" 2>&1 ||
		! pm run --rm "${LIMITS[@]}" "$probe_tag" /usr/bin/true >>"$WORK/probe.log" 2>&1; then
		podman rmi -f "$probe_tag" >/dev/null 2>&1
		skip "podman cannot run a container here: $(grep -v 'systemd' "$WORK/probe.log" | tail -2 | tr '\n' ' ')"
	fi
	podman rmi -f "$probe_tag" >/dev/null 2>&1
	ok "podman runs containers (runc)"
}

# containers_reap PREFIX: the containers, volumes and network of projects PREFIX<pid> whose
# test process is gone (a run killed by ctest's timeout); a run still going is left alone
containers_reap() {
	local p=$1 c v n
	for c in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep -E "^$p[0-9]+_" || true); do
		n=${c%%_*}
		kill -0 "${n#"$p"}" 2>/dev/null || pm rm -f -v -t 2 "$c" >/dev/null 2>&1
	done
	for v in $(podman volume ls --format '{{.Name}}' | grep -E "^$p[0-9]+_" || true); do
		n=${v%%_*}
		kill -0 "${n#"$p"}" 2>/dev/null || podman volume rm -f "$v" >/dev/null 2>&1
	done
	for n in $(podman network ls --format '{{.Name}}' | grep -E "^$p[0-9]+_default$" || true); do
		c=${n%%_*}
		kill -0 "${c#"$p"}" 2>/dev/null || podman network rm -f "$n" >/dev/null 2>&1
	done
}

# containers_build IMAGE...: the base images (docker/make-base: debootstrap, cached by its tag),
# then the build image and each IMAGE tagged $UMEDGE_TAG (docker/build-images), one check line
# per image; the images of earlier builds this replaced are pruned. Fails when any did not build.
containers_build() {
	local t=$SECONDS line status=0
	if podman image exists docker.io/library/debian:bookworm-slim; then
		echo "# debian:bookworm-slim: cached"
	fi
	if PODMAN="podman --runtime runc" UMEDGE_BUILD_OPTS="${LIMITS[*]}" "$ROOT/docker/make-base" >"$WORK/make-base.log" 2>&1; then
		ok "base images made or cached ($((SECONDS - t)) s)"
	else
		not_ok "docker/make-base failed"
		tail -30 "$WORK/make-base.log" | sed 's/^/    /'
		return 1
	fi
	PODMAN="podman --runtime runc" UMEDGE_BUILD_OPTS="--pull=never ${LIMITS[*]}" \
		UMEDGE_BUILD_BASE=localhost/umedge-buildbase:bookworm \
		"$ROOT/docker/build-images" --log-dir "$WORK" "$@" >"$WORK/build-images.out" 2>"$WORK/build-images.err" || status=1
	while IFS= read -r line; do ok "image ${line#build-images: }"; done <"$WORK/build-images.out"
	if [ $status != 0 ]; then
		not_ok "docker/build-images $*: an image failed to build"
		sed 's/^/    /' "$WORK/build-images.err"
	fi
	# what a newer build replaced (its tag moved on): dangling, labelled by the Dockerfiles
	pm image prune -f --filter label=io.umedge.stage=build >/dev/null 2>&1
	pm image prune -f --filter label=io.umedge.image >/dev/null 2>&1
	return $status
}

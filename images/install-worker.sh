#!/bin/sh
# Build stage of images/worker.Dockerfile: one family's environment in /opt/tollama, in two
# phases so that the dependency layer stays cached while sources change.
#
#   install-worker.sh deps      1. a venv from the base image's python3 (3.11);
#                               2. CPU variant of a torch family: the pinned CPU torch
#                                  ([tool.tollama] torch) from the local wheel folder
#                                  (images/local/wheels) and/or TORCH_INDEX_URL; CUDA variant:
#                                  torch and its CUDA wheels come from requirements-cuda.lock;
#                               3. the family's lock, hash-checked, unresolved (--no-deps: the
#                                  lock is complete).
#   install-worker.sh sources   4. the kit and the adapter as plain sources in /opt/tollama-src,
#                                  on the path through a .pth file written in step 3: no build
#                                  backend, so an offline build needs nothing beyond the lock's
#                                  wheels; then an import smoke test. (A separate folder, so the
#                                  final stage re-copies only the sources when they change.)
set -eu
: "${FAMILY:?FAMILY build arg is required}"
: "${VARIANT:=cpu}"
case "$VARIANT" in cpu|cuda) ;; *) echo "VARIANT must be cpu or cuda, got $VARIANT" >&2; exit 2 ;; esac

venv=/opt/tollama
src=/opt/tollama-src
local_dir=/tmp/local
pip="$venv/bin/python -m pip"

if [ -f "$local_dir/extra-ca.crt" ]; then
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cat /etc/ssl/certs/ca-certificates.crt "$local_dir/extra-ca.crt" > /tmp/ca-bundle.pem
  else
    cp "$local_dir/extra-ca.crt" /tmp/ca-bundle.pem
  fi
  export PIP_CERT=/tmp/ca-bundle.pem
fi

deps() {
  lock=/src/family/requirements-$VARIANT.lock
  [ -f "$lock" ] || { echo "family $FAMILY has no requirements-$VARIANT.lock" >&2; exit 2; }
  python3 -m venv "$venv"
  torch=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb")).get("tool", {}).get("tollama", {}).get("torch", ""))' \
    /src/family/pyproject.toml)
  if [ "$VARIANT" = cpu ] && [ -n "$torch" ]; then
    set -- "torch==$torch"
    if [ -d "$local_dir/wheels" ]; then set -- "$@" --find-links "$local_dir/wheels"; fi
    if [ -n "${TORCH_INDEX_URL:-}" ]; then set -- "$@" --extra-index-url "$TORCH_INDEX_URL"; fi
    if ! ls "$local_dir"/wheels/torch-*.whl >/dev/null 2>&1 && [ -z "${TORCH_INDEX_URL:-}" ]; then
      echo "WARNING: no CPU torch wheel in images/local/wheels and no TORCH_INDEX_URL: the default" \
           "index's torch for Linux is the CUDA build (several GB). See docs/deploy.md." >&2
    fi
    echo "installing $*"
    $pip install --quiet "$@"
  fi
  echo "installing $lock"
  $pip install --quiet --no-deps --require-hashes -r "$lock"
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$src" > "$site/tollama-src.pth"
  # Lean: the installer is not needed at run time.
  $pip uninstall --quiet --yes pip
  rm -rf /root/.cache
}

sources() {
  mkdir -p "$src"
  cp -r /src/kit/src/tollama_kit "/src/family/src/tollama_$FAMILY" "$src/"
  "$venv/bin/python" -m compileall -q "$src"
  # Smoke test: the worker app and the adapter import (no model is loaded).
  "$venv/bin/python" -c "import tollama_kit.server, tollama_$FAMILY.adapter as a; assert callable(a.create_adapter)"
}

case "${1:-}" in
  deps) deps ;;
  sources) sources ;;
  *) echo "usage: install-worker.sh deps|sources" >&2; exit 2 ;;
esac

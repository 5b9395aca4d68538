#!/usr/bin/env bash
# Make the offline worker base for a family whose Python is not bookworm's 3.11:
#
#   scripts/python-base-image.sh 3.12        → tollama-base:py3.12   (`just python-base 3.12`)
#
# Debian bookworm ships only Python 3.11 and no container registry may be reachable, so
# `python:3.12-slim` cannot be pulled. This image is the offline bookworm base
# (tollama-base:bookworm, made by scripts/docker-engine.sh with debootstrap) plus a CPython of the
# wanted version copied from the host into /usr/local: a pyenv build made on this same Debian 12
# (its extension modules link against bookworm's libssl3, libffi8, libsqlite3, ... which the base
# already carries for its own python3), found at $TOLLAMA_PYTHON_PREFIX or under `pyenv root`.
# The copy leaves out the test suite, IDLE/tkinter, the static libpython and site-packages (the
# host's pip and its local .pth hooks stay on the host); `python3` in the image is the copied one.
# scripts/build-image.sh uses tollama-base:py<version> only when python:<version>-slim is absent,
# so a host that can pull from a registry keeps the normal route (TOLLAMA_BASE_IMAGE overrides both).
#
# Idempotent: an existing image is kept (remove it to rebuild). Layers are Docker's, so a rebuild
# from the same interpreter reuses the cache.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:?usage: scripts/python-base-image.sh MAJOR.MINOR (e.g. 3.12)}
[[ $version =~ ^3\.[0-9]+$ ]] || { echo "python-base-image: version must look like 3.12, got $version" >&2; exit 2; }
image=${TOLLAMA_PYTHON_BASE_IMAGE:-tollama-base:py$version}
from=${TOLLAMA_BASE_IMAGE:-tollama-base:bookworm}
say() { printf 'python-base-image: %s\n' "$*" >&2; }

if docker image inspect "$image" >/dev/null 2>&1; then
  say "$image present ($(docker run --rm "$image" python3 --version))"
  exit 0
fi
docker image inspect "$from" >/dev/null 2>&1 || { say "$from is missing: run scripts/docker-engine.sh first"; exit 2; }

prefix=${TOLLAMA_PYTHON_PREFIX:-}
if [ -z "$prefix" ]; then
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  # The newest installed patch release of the wanted version (3.12.1, 3.12.10 sort as versions).
  prefix=$(find "$root/versions" -mindepth 1 -maxdepth 1 -name "$version.*" 2>/dev/null | sort -V | tail -n 1)
fi
if [ -z "$prefix" ] || [ ! -x "$prefix/bin/python$version" ]; then
  say "no CPython $version found (looked for \$TOLLAMA_PYTHON_PREFIX, then pyenv's versions/$version.*);"
  say "install one (e.g. pyenv install $version) or pull python:$version-slim where a registry is reachable"
  exit 2
fi
say "building $image from $from + $prefix"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/python"
stdlib="lib/python$version"
tar -C "$prefix" -c \
  --exclude="./$stdlib/test" --exclude="./$stdlib/idlelib" --exclude="./$stdlib/tkinter" \
  --exclude="./$stdlib/turtledemo" --exclude="./$stdlib/lib-dynload/_tkinter*" \
  --exclude="./$stdlib/site-packages/*" --exclude='*.a' --exclude='__pycache__' \
  --exclude='./bin/idle*' --exclude='./bin/pip*' --exclude='./bin/2to3*' . | tar -C "$work/python" -x

start=$SECONDS
docker build --quiet -t "$image" --build-arg "BASE=$from" -f - "$work" >/dev/null <<EOF
ARG BASE
FROM \${BASE}
LABEL org.opencontainers.image.title="tollama offline base: bookworm + CPython $version" \\
      tollama.python.source="$prefix"
COPY python/ /usr/local/
# libpython lives in /usr/local/lib now (the build's RUNPATH names the host's prefix).
RUN ldconfig \\
 && python3 -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$version'.split('.'))), sys.version" \\
 && python3 -c "import ssl, sqlite3, lzma, bz2, zlib, ctypes, ensurepip, tomllib, venv" \\
 && python3 -m compileall -q /usr/local/lib/python$version
EOF
say "$image built in $((SECONDS - start)) s ($(docker run --rm "$image" python3 --version))"

#!/usr/bin/env bash
# Build one tollama image:  scripts/build-image.sh FAMILY [VARIANT] [-- extra docker build args]
#
#   FAMILY   a folder under families/ (baseline, chronos, …) → <prefix>/<family>:<variant>
#            or "gateway"                                      → <prefix>/gateway:latest
#   VARIANT  cpu (default) | cuda
#
# Environment:
#   TOLLAMA_IMAGE_PREFIX  image name prefix (default tollama)
#   TOLLAMA_BASE_IMAGE    base image; default python:<py>-slim for the family's Python (<py> from
#                         [tool.tollama] python, default 3.11), or, when only that one is present
#                         locally, the offline tollama-base:bookworm (`just docker-engine`, Python
#                         3.11) for a 3.11 family and tollama-base:py<py> for another version (made
#                         from the host's CPython by scripts/python-base-image.sh when missing)
#   TOLLAMA_TORCH_INDEX_URL  CPU variant: an extra package index holding the CPU torch build
#   TOLLAMA_EXTRA_CA      a CA file to trust inside the build (default: $PIP_CERT when set;
#                         "none" for no extra CA)
#   PIP_FIND_LINKS        wheel folders searched for the family's pinned CPU torch wheel, which is
#                         copied into images/local/wheels/ so the build needs no torch download
set -euo pipefail
cd "$(dirname "$0")/.."

family=${1:?usage: scripts/build-image.sh FAMILY [VARIANT] [-- docker build args]}
shift
variant=cpu
if [ $# -gt 0 ] && [ "$1" != "--" ]; then variant=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
case "$variant" in cpu|cuda) ;; *) echo "VARIANT must be cpu or cuda, got $variant" >&2; exit 2 ;; esac
prefix=${TOLLAMA_IMAGE_PREFIX:-tollama}

# The family's Python ([tool.tollama] python, default 3.11); the gateway image is on 3.11.
py=3.11
if [ "$family" != gateway ] && [ -f "families/$family/pyproject.toml" ]; then
  py=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb")).get("tool", {}).get("tollama", {}).get("python", "3.11"))' \
    "families/$family/pyproject.toml")
fi
base=${TOLLAMA_BASE_IMAGE:-}
if [ -z "$base" ]; then
  base=python:$py-slim
  offline=tollama-base:py$py
  [ "$py" = 3.11 ] && offline=tollama-base:bookworm
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    # Offline, a family on another Python than bookworm's gets its base made from the host's
    # interpreter (scripts/python-base-image.sh), only when neither image is present.
    if [ "$py" != 3.11 ] && ! docker image inspect "$offline" >/dev/null 2>&1 \
        && docker image inspect tollama-base:bookworm >/dev/null 2>&1; then
      if ! bash scripts/python-base-image.sh "$py"; then
        echo "no offline Python $py base could be made; trying $base (needs a registry)" >&2
      fi
    fi
    if docker image inspect "$offline" >/dev/null 2>&1; then base=$offline; fi
  fi
fi
protocol=$(sed -n 's/^PROTOCOL_VERSION *= *\([0-9][0-9]*\).*/\1/p' families/kit/src/tollama_kit/protocol.py)

# The optional local build inputs (images/local/ is git-ignored and always exists).
local_dir=images/local
rm -rf "$local_dir/wheels" "$local_dir/extra-ca.crt"
extra_ca=${TOLLAMA_EXTRA_CA:-${PIP_CERT:-}}
if [ -n "$extra_ca" ] && [ "$extra_ca" != none ]; then
  cp "$extra_ca" "$local_dir/extra-ca.crt"
fi

if [ "$family" = gateway ]; then
  tag="$prefix/gateway:latest"
  set -- -f images/gateway.Dockerfile "$@"
else
  [ -f "families/$family/requirements-$variant.lock" ] || { echo "no families/$family/requirements-$variant.lock" >&2; exit 2; }
  tag="$prefix/$family:$variant"
  torch=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb")).get("tool", {}).get("tollama", {}).get("torch", ""))' \
    "families/$family/pyproject.toml")
  if [ "$variant" = cpu ] && [ -n "$torch" ]; then
    mkdir -p "$local_dir/wheels"
    IFS=' ' read -r -a folders <<< "${PIP_FIND_LINKS:-}"
    for folder in "${folders[@]}"; do
      tag_py=cp${py/./}
      for wheel in "$folder"/torch-"$torch"+cpu-"$tag_py"-*.whl "$folder"/torch-"$torch"-"$tag_py"-*.whl; do
        if [ -f "$wheel" ]; then
          # A hard link where the folder shares the file system, else a copy.
          ln -f "$wheel" "$local_dir/wheels/" 2>/dev/null || cp "$wheel" "$local_dir/wheels/"
        fi
      done
    done
  fi
  set -- -f images/worker.Dockerfile --build-arg "FAMILY=$family" --build-arg "VARIANT=$variant" \
    --build-arg "TORCH_INDEX_URL=${TOLLAMA_TORCH_INDEX_URL:-}" "$@"
fi

echo "building $tag from $base (Python $py)" >&2
start=$SECONDS
docker build --build-arg "BASE_IMAGE=$base" --build-arg "PROTOCOL_VERSION=$protocol" -t "$tag" "$@" .
echo "built $tag in $((SECONDS - start)) s ($(docker image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))" >&2

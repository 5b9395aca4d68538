#!/usr/bin/env bash
# Rehearse the README's two commands as a newcomer on a fresh machine would run them:
#
#   bash scripts/rehearse-fresh.sh [REF]      (REF: what to clone, default HEAD of this checkout)
#
# It clones REF into a temporary folder and runs `./dev test`, then `./dev serve` up to the first
# forecast, with a throwaway HOME (so no ~/.local/bin/uv, no ~/.docker/cli-plugins, no uv or pip
# cache, no ~/.tollama), DOCKER_CONFIG unset, and every PATH entry that holds a uv removed. The
# machine's own configuration (apt, pip's find-links, the Docker engine's image cache) stays: on a
# machine where the engine never ran, that part is fresh too. It prints the wall time of each
# command and exits non-zero when either fails. The clone and the HOME are removed at the end
# unless TOLLAMA_REHEARSAL_KEEP=1; logs go to $TOLLAMA_REHEARSAL_LOGS (default: a temporary folder,
# kept and printed).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
ref=${1:-HEAD}
port=${TOLLAMA_REHEARSAL_PORT:-11439}
logs=${TOLLAMA_REHEARSAL_LOGS:-$(mktemp -d /tmp/tollama-rehearsal-logs.XXXXXX)}
mkdir -p "$logs"
clone=$(mktemp -d /tmp/tollama-rehearsal-clone.XXXXXX)
home=$(mktemp -d /tmp/tollama-rehearsal-home.XXXXXX)
server=""

say() { printf 'rehearse: %s\n' "$*" >&2; }
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -- "-$server" 2>/dev/null || kill "$server"
    status=0
    wait "$server" 2>/dev/null || status=$?  # it was killed just above: 143 is the expected answer
    say "server stopped (exit $status)"
  fi
  if [ "${TOLLAMA_REHEARSAL_KEEP:-0}" != 1 ]; then rm -rf "$clone" "$home"; fi
}
trap cleanup EXIT

# PATH without any folder that provides uv, and without the real HOME's folders.
clean_path=""
IFS=: read -r -a entries <<< "$PATH"
for dir in "${entries[@]}"; do
  [ -n "$dir" ] || continue
  [ -x "$dir/uv" ] && continue
  case "$dir" in "$HOME"/.local/*|"$HOME"/.cargo/*) continue ;; esac
  clean_path="${clean_path:+$clean_path:}$dir"
done

git clone --quiet "$here" "$clone"
git -C "$clone" checkout --quiet "$(git -C "$here" rev-parse "$ref")"
say "clone of $(git -C "$clone" rev-parse --short HEAD) in $clone; HOME=$home; logs in $logs"

fresh_env=(env -u DOCKER_CONFIG -u XDG_CACHE_HOME -u XDG_CONFIG_HOME -u XDG_DATA_HOME -u VIRTUAL_ENV
  -u UV_CACHE_DIR -u TOLLAMA_HOME -u TOLLAMA_RUNTIMES HOME="$home" PATH="$clean_path" CI="${CI:-true}")
fresh() { "${fresh_env[@]}" "$@"; }

if fresh bash -c 'command -v uv' >/dev/null 2>&1; then
  say "uv is still on the cleaned PATH: $(fresh bash -c 'command -v uv')"
  exit 1
fi

start=$(date +%s)
status=0
(cd "$clone" && fresh ./dev test) > "$logs/test.log" 2>&1 || status=$?
test_s=$(( $(date +%s) - start ))
say "./dev test: exit $status after ${test_s} s; last line: $(tail -n 1 "$logs/test.log")"
if [ "$status" -ne 0 ]; then
  tail -n 40 "$logs/test.log" >&2
  exit "$status"
fi

start=$(date +%s)
# setsid: the server leads its own process group, so cleanup stops it and everything it started.
setsid bash -c 'cd "$1" && shift && exec "$@" ./dev serve' _ "$clone" "${fresh_env[@]}" TOLLAMA_PORT="$port" > "$logs/serve.log" 2>&1 &
server=$!
body='{"model": "naive", "horizon": 3, "series": [{"id": "s", "target": [1, 2, 3, 4]}]}'
answer=""
for _ in $(seq 1 600); do
  if ! kill -0 "$server" 2>/dev/null; then
    say "./dev serve exited before answering"; tail -n 40 "$logs/serve.log" >&2; exit 1
  fi
  answer=$(curl -sf "http://127.0.0.1:$port/api/forecast" -d "$body" 2>/dev/null) && break
  sleep 1
done
serve_s=$(( $(date +%s) - start ))
if [ -z "$answer" ]; then
  say "./dev serve gave no forecast within 600 s"; tail -n 40 "$logs/serve.log" >&2; exit 1
fi
say "./dev serve: first forecast after ${serve_s} s: ${answer:0:120}"
printf '| ./dev test | %s s | %s |\n| ./dev serve, first forecast | %s s | |\n' \
  "$test_s" "$(tail -n 1 "$logs/test.log")" "$serve_s"

# shellcheck shell=bash
# Shared by the skill's scripts: one HTTP call to the tollama server and the exit-code contract.
#
#   0 ok · 2 invalid request · 3 server unreachable · 4 model missing · 5 licence not accepted
#   6 timeout · 10 internal error (the server could not serve it)
#
# Environment: TOLLAMA_URL (default http://$TOLLAMA_HOST:$TOLLAMA_PORT, 127.0.0.1:11435),
# TOLLAMA_TIMEOUT (seconds, default 300), TOLLAMA_JSON_STDERR=1 for one JSON line on stderr:
# {"code", "exit_code", "message", "hint"}. Needs curl and python3.
set -euo pipefail

TOLLAMA_URL=${TOLLAMA_URL:-http://${TOLLAMA_HOST:-127.0.0.1}:${TOLLAMA_PORT:-11435}}
TOLLAMA_URL=${TOLLAMA_URL%/}

# fail EXIT_CODE CODE MESSAGE HINT
fail() {
  if [ "${TOLLAMA_JSON_STDERR:-0}" = "1" ]; then
    python3 -c 'import json, sys; print(json.dumps({"code": sys.argv[2], "exit_code": int(sys.argv[1]), "message": sys.argv[3], "hint": sys.argv[4]}))' \
      "$1" "$2" "$3" "$4" >&2
  else
    printf 'tollama: %s (%s)\nhint: %s\n' "$3" "$2" "$4" >&2
  fi
  exit "$1"
}

# The exit code and hint for one of tollama's error codes (docs/errors.md).
exit_for() {
  case "$1" in
    invalid_request | invalid_value | invalid_model_name | payload_too_large | unsupported)
      echo "2|fix the field the message names (see the model's limits: scripts/show.sh MODEL)" ;;
    model_not_found | variant_not_pulled)
      echo "4|pull it first: scripts/pull.sh MODEL (scripts/models.sh lists what is installed)" ;;
    license_not_accepted)
      echo "5|read the licence (scripts/show.sh MODEL), then: scripts/pull.sh MODEL --accept-license" ;;
    *)
      echo "10|the server could not serve it; see its log (tollama serve) and retry" ;;
  esac
}

# tollama_call METHOD PATH [BODY_FILE]: print the answer's body on success, else fail by the contract.
tollama_call() {
  local method=$1 path=$2 body=${3:-} out err status rc=0
  out=$(mktemp)
  err=$(mktemp)
  local args=(-sS -o "$out" -w '%{http_code}' --max-time "${TOLLAMA_TIMEOUT:-300}" -X "$method" -H 'content-type: application/json')
  if [ -n "$body" ]; then
    args+=(--data-binary "@$body")
  fi
  status=$(curl "${args[@]}" "$TOLLAMA_URL$path" 2>"$err") || rc=$?
  if [ "$rc" -ne 0 ]; then
    local detail
    detail=$(tr '\n' ' ' <"$err")
    rm -f "$out" "$err"
    case "$rc" in
      6 | 7) fail 3 server_unreachable "no tollama server answers at $TOLLAMA_URL: $detail" "start it with \`tollama serve\`, or set TOLLAMA_HOST/TOLLAMA_PORT (or TOLLAMA_URL)" ;;
      28) fail 6 timeout "no answer from $TOLLAMA_URL$path within ${TOLLAMA_TIMEOUT:-300} s" "raise TOLLAMA_TIMEOUT (seconds); a first call loads the model" ;;
      *) fail 10 internal_error "curl failed ($rc): $detail" "check TOLLAMA_URL ($TOLLAMA_URL)" ;;
    esac
  fi
  rm -f "$err"
  if [ "$status" -ge 400 ] || python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if isinstance(d, dict) and "error" in d and d.get("status") in (None, "error") else 1)' "$out" 2>/dev/null; then
    local parsed code message
    parsed=$(python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except ValueError:
    d = {}
d = d if isinstance(d, dict) else {}
print(d.get("code") or "internal_error")
print(str(d.get("error") or "HTTP " + sys.argv[2]).replace("\n", " "))' "$out" "$status")
    rm -f "$out"
    code=${parsed%%$'\n'*}
    message=${parsed#*$'\n'}
    local mapped
    mapped=$(exit_for "$code")
    fail "${mapped%%|*}" "$code" "$message" "${mapped#*|}"
  fi
  cat "$out"
  rm -f "$out"
}

# request_file ARG: a file with the JSON request (ARG, or stdin when ARG is - or absent).
request_file() {
  if [ -z "${1:-}" ] || [ "$1" = "-" ]; then
    local tmp
    tmp=$(mktemp)
    cat >"$tmp"
    echo "$tmp"
  elif [ -r "$1" ]; then
    echo "$1"
  else
    fail 2 invalid_request "cannot read the request file $1" "give a JSON forecast request as a file or on stdin"
  fi
}

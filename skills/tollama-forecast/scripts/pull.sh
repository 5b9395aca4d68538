#!/usr/bin/env bash
# pull.sh MODEL [--accept-license]: download a catalogue model onto the server; prints the final status (JSON).
source "$(dirname "$0")/lib.sh"
[ -n "${1:-}" ] || fail 2 invalid_request "usage: pull.sh MODEL [--accept-license]" "name a catalogue model (tollama info lists them)"
accept=false
if [ "${2:-}" = "--accept-license" ]; then
  accept=true
fi
body=$(mktemp)
python3 -c 'import json, sys; print(json.dumps({"model": sys.argv[1], "stream": False, "accept_license": sys.argv[2] == "true"}))' "$1" "$accept" >"$body"
tollama_call POST /api/pull "$body"

#!/usr/bin/env bash
# show.sh MODEL: a model's details, capabilities and licence (POST /api/show) as JSON.
source "$(dirname "$0")/lib.sh"
[ -n "${1:-}" ] || fail 2 invalid_request "usage: show.sh MODEL" "name a model (scripts/models.sh lists them)"
body=$(mktemp)
python3 -c 'import json, sys; print(json.dumps({"model": sys.argv[1]}))' "$1" >"$body"
tollama_call POST /api/show "$body"

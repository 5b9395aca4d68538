#!/usr/bin/env bash
# forecast.sh [REQUEST.json | -]: POST a forecast request (JSON, a file or stdin); print the answer (JSON).
# Exit codes: see lib.sh (0 ok, 2 invalid, 3 unreachable, 4 model missing, 5 licence, 6 timeout, 10 internal).
source "$(dirname "$0")/lib.sh"
request=$(request_file "${1:-}")
tollama_call POST /api/forecast "$request"

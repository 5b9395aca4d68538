#!/usr/bin/env bash
# validate.sh [REQUEST.json | -]: dry-run a forecast request (no inference); print the horizon, quantiles, warnings.
source "$(dirname "$0")/lib.sh"
request=$(request_file "${1:-}")
tollama_call POST /api/validate "$request"

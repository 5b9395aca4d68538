#!/usr/bin/env bash
# models.sh: the installed models (GET /api/tags) as JSON.
source "$(dirname "$0")/lib.sh"
tollama_call GET /api/tags

#!/usr/bin/env bash
# `make run`: validate the shipped desired state, then bring Asgard up with `asgard demo`:
# the gateway and controller on SQLite, in front of a fake Databricks on loopback, with a
# demo key printed once. Ctrl-C stops it.
set -euo pipefail
asgard="$1"
echo "== asgard validate desired"
"$asgard" validate desired
echo
echo "== asgard demo   (data: ${ASGARD_DATA_DIR:-.asgard}/demo)"
exec "$asgard" demo desired --port "${ASGARD_PORT:-8080}"

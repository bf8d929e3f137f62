#!/usr/bin/env bash
# `make run`: validate the shipped desired state, run one reconcile pass into the SQLite
# store, and show what is there. (The gateway issue turns this into the running server.)
set -euo pipefail
asgard="$1"
data="${ASGARD_DATA_DIR:-.asgard}"
echo "== asgard validate desired"
"$asgard" validate desired
echo
echo "== asgard reconcile --once desired   (store: $data/asgard.sqlite)"
"$asgard" reconcile --once desired
echo
echo "== asgard status"
"$asgard" status
echo
"$asgard" audit verify
echo
echo "Where to look:"
printf '  %-48s %s\n' \
    "$data/asgard.sqlite" "the store (sqlite3 $data/asgard.sqlite .tables)" \
    "$asgard audit tail" "the newest audit entries" \
    "$asgard reconcile --dry-run desired" "what a pass would change now (nothing, once converged)" \
    "$asgard --help" "every command"
echo "Provisioning actions stay pending / awaiting approval until the terraform connector exists."

#!/usr/bin/env python3
"""Differential check of Asgard's YAML layer against PyYAML on the shipped desired state.

Every (kind, id) PyYAML finds in the directory must be exactly the set of objects
`asgard reconcile --dry-run --json` plans to create against an empty store, and the
count of files must agree. Prints `N passed, M failed`; exits 1 on any failure.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import yaml

asgard, directory = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(condition, message):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {message}")


expected = set()
files = sorted(p for p in pathlib.Path(directory).rglob("*") if p.suffix in (".yaml", ".yml"))
for path in files:
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if document is not None:
            expected.add(f"{document['kind']}/{document['id']}")

with tempfile.TemporaryDirectory() as empty:
    env = dict(os.environ, ASGARD_DATA_DIR=os.path.join(empty, "data"))
    out = subprocess.run([asgard, "reconcile", "--dry-run", "--json", directory], env=env,
                         capture_output=True, text=True, check=False)
    check(out.returncode == 0, f"dry run exited {out.returncode}: {out.stderr}")
    plan = json.loads(out.stdout)
    actions = [a["action"] for a in plan["actions"]]
    planned = {a["object"] for a in actions}
    check(all(a["verb"] == "create" for a in actions), "an empty store plans only creates")
    check(planned == expected, f"PyYAML sees {sorted(expected - planned)} not planned; planned {sorted(planned - expected)} not seen")
    check(not os.path.exists(os.path.join(empty, "data")), "the dry run created the data directory")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

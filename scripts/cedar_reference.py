#!/usr/bin/env python3
"""The reference side of Cedar's differential test (Tests/CedarTests/DifferentialTests.swift).

Decides every request of every case with `cedarpy` (the official Rust `cedar-policy`) and writes
the answers, in one process for all cases.

    .venv/bin/python scripts/cedar_reference.py CASES.json OUT.json

CASES.json: [{"policies": "<Cedar text>", "entities": [<Cedar entity JSON>],
              "requests": [{"principal": "User::\"a\"" | {"type", "id"}, "action": ..., "resource": ...,
                            "context": {...}}]}]
OUT.json:   [{"results": [{"decision": "allow"|"deny", "reasons": [ids], "errors": [ids],
                              "messages": [cedarpy's error messages]}]}]
            a case whose policies cedarpy cannot parse gets {"parse_error": "<message>", "results": []};
            one whose entities or a request cedarpy refuses gets {"entity_error": "<message>", "results": []}.

Reasons and errors are policy ids (`policy0`, `policy1`, ... in file order), sorted.
"""

import json
import re
import sys

import cedarpy

# cedarpy reports each erring policy as "error while evaluating policy `policyN`: <message>".
_POLICY_ERROR = re.compile(r"^error while evaluating policy `([^`]*)`")


def decide(case):
    try:
        policies = cedarpy.PolicySet.from_str(case["policies"])
    except ValueError as error:
        return {"parse_error": str(error), "results": []}
    try:
        entities = cedarpy.Entities.from_json_str(json.dumps(case["entities"]))
    except ValueError as error:
        return {"entity_error": str(error), "results": []}
    requests = [
        {
            "principal": request["principal"],
            "action": request["action"],
            "resource": request["resource"],
            "context": request.get("context", {}),
        }
        for request in case["requests"]
    ]
    answers = cedarpy.is_authorized_batch(requests, policies, entities)
    results = []
    for answer in answers:
        if answer.decision == cedarpy.Decision.NoDecision:
            # The request itself (or its context) was refused before any policy ran.
            return {"entity_error": "; ".join(answer.diagnostics.errors), "results": []}
        errors = set()
        for message in answer.diagnostics.errors:
            match = _POLICY_ERROR.match(message)
            if match is None:
                return {"entity_error": "unrecognised error: " + message, "results": []}
            errors.add(match.group(1))
        results.append({
            "decision": "allow" if answer.decision == cedarpy.Decision.Allow else "deny",
            "reasons": sorted(answer.diagnostics.reasons),
            "errors": sorted(errors),
            "messages": list(answer.diagnostics.errors),
        })
    return {"results": results}


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: cedar_reference.py CASES.json OUT.json\n")
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        cases = json.load(handle)
    out = [decide(case) for case in cases]
    with open(argv[2], "w", encoding="utf-8") as handle:
        json.dump(out, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

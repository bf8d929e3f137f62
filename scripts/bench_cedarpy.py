#!/usr/bin/env python3
"""Cedar authorization on cedarpy, for comparison with Benchmarks/Benchmarks/CedarBenchmarks.

The same three scenarios as the Swift benchmark (see BENCHMARKS.md, "Cedar authorization"):
Asgard's policy set (policies/*.cedar) with an allowed and a denied `invoke`, and 1,000 generated
policies on 360 generated entities (byte-identical to the Swift generator: checked by SHA-256).

The policy set and the entities are parsed once (cedarpy.PolicySet, cedarpy.Entities). Then:

- single calls: N calls of cedarpy.is_authorized (after a warm-up), each timed with
  time.perf_counter_ns(); p50/p99/p99.9 of the N timings, calls/s = 1 / their mean;
- batches: cedarpy.is_authorized_batch with the same request 1,000 times, each batch timed and
  divided by 1,000; p50/p99 over the batches.

Every figure includes the Python side of a call: the context dict is serialized to JSON, the
request crosses into Rust, the response comes back as JSON text and is parsed into an
AuthzResult. Each decision is checked once before measuring (the script exits otherwise). A
fourth row, an empty policy set with no entities, shows that fixed per-request cost alone.

Usage: .venv/bin/python scripts/bench_cedarpy.py [--calls N] [--batches B]
       [--calls-generated N] [--batches-generated B]
(needs cedarpy==4.12.2: .venv/bin/pip install cedarpy==4.12.2)
"""
import argparse
import gc
import hashlib
import importlib.metadata
import platform
import sys
import time
from pathlib import Path

import cedarpy

ROOT = Path(__file__).resolve().parent.parent

# The entities of policies/tests/invoke.yaml, in Cedar's entity JSON (as in the Swift benchmark).
ASGARD_ENTITIES_JSON = """
[
  {"uid": {"type": "User", "id": "maria"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Project", "id": "fraud-detection"}, "parents": [],
   "attrs": {"classification_level": 2, "active": true, "owner": {"__entity": {"type": "User", "id": "maria"}}, "approvers": []}},
  {"uid": {"type": "Project", "id": "retired"}, "parents": [],
   "attrs": {"classification_level": 3, "active": false, "owner": {"__entity": {"type": "User", "id": "maria"}}, "approvers": []}},
  {"uid": {"type": "Project", "id": "vault"}, "parents": [],
   "attrs": {"classification_level": 3, "active": true, "owner": {"__entity": {"type": "User", "id": "maria"}}, "approvers": []}},
  {"uid": {"type": "Key", "id": "fraud-scoring-agent"}, "parents": [],
   "attrs": {"project": {"__entity": {"type": "Project", "id": "fraud-detection"}}, "max_level": 2,
             "allowed_models": ["databricks/llama-3-3-70b"], "allowed_vendors": [],
             "expires": {"__extn": {"fn": "datetime", "arg": "2027-06-30"}}}},
  {"uid": {"type": "Key", "id": "notebook"}, "parents": [],
   "attrs": {"project": {"__entity": {"type": "Project", "id": "fraud-detection"}}, "max_level": 1,
             "allowed_models": [], "allowed_vendors": ["databricks"]}},
  {"uid": {"type": "Key", "id": "vault-key"}, "parents": [],
   "attrs": {"project": {"__entity": {"type": "Project", "id": "vault"}}, "max_level": 3,
             "allowed_models": ["databricks/llama-3-3-70b"], "allowed_vendors": []}},
  {"uid": {"type": "Key", "id": "overreaching"}, "parents": [],
   "attrs": {"project": {"__entity": {"type": "Project", "id": "fraud-detection"}}, "max_level": 3,
             "allowed_models": ["databricks/secure"], "allowed_vendors": []}},
  {"uid": {"type": "Key", "id": "old-key"}, "parents": [],
   "attrs": {"project": {"__entity": {"type": "Project", "id": "retired"}}, "max_level": 3,
             "allowed_models": ["databricks/llama-3-3-70b"], "allowed_vendors": []}},
  {"uid": {"type": "Model", "id": "databricks/secure"}, "parents": [],
   "attrs": {"vendor": "databricks", "name": "databricks/secure", "max_level": 3}},
  {"uid": {"type": "Model", "id": "databricks/llama-3-3-70b"}, "parents": [],
   "attrs": {"vendor": "databricks", "name": "databricks/llama-3-3-70b", "max_level": 2}},
  {"uid": {"type": "Model", "id": "openai/gpt-4o-mini"}, "parents": [],
   "attrs": {"vendor": "openai", "name": "openai/gpt-4o-mini", "max_level": 1}}
]
"""

ASGARD_CONTEXT = {"level": 2, "estimated_cost_micros": 1500,
                  "now": {"__extn": {"fn": "datetime", "arg": "2026-11-25T10:00:00Z"}}}

# SHA-256 of the generated texts; the Swift generator (GeneratedFixture) produces the same bytes.
GENERATED_POLICIES_SHA256 = "77a92a8950798b86ed9a17bc97d61c18bfff12f407f0f073e6a485c95eb6e5a2"
GENERATED_ENTITIES_SHA256 = "fb565bdec3923feefe7f7f74b133fec3ca850b26b580b24bc078c3998dda6adb"
GENERATED_EXPECTED_REASONS = {"p0138", "p0282", "p0362", "p0426", "p0522", "p0542", "p0570",
                              "p0702", "p0714", "p0858", "p0911"}


def asgard_policies():
    """Every policies/*.cedar, in name order, each followed by a newline (as in Swift)."""
    return "".join(p.read_text(encoding="utf-8") + "\n" for p in sorted((ROOT / "policies").glob("*.cedar")))


def generated_entities_json():
    """50 folders in a tree, 10 groups, 200 users, 100 documents (see GeneratedFixture)."""
    items = []

    def entity(type_, id_, attrs, parents):
        attr_text = ",".join('"%s":%s' % (k, v) for k, v in attrs)
        parent_text = ",".join('{"type":"%s","id":"%s"}' % p for p in parents)
        items.append('{"uid":{"type":"%s","id":"%s"},"attrs":{%s},"parents":[%s]}' % (type_, id_, attr_text, parent_text))

    for k in range(50):
        entity("Folder", "f%d" % k, [("name", '"folder-%d"' % k)], [] if k == 0 else [("Folder", "f%d" % ((k - 1) // 3))])
    for k in range(10):
        entity("Group", "g%d" % k, [], [] if k == 0 else [("Group", "g0")])
    for n in range(200):
        entity("User", "u%d" % n, [
            ("dept", '"dept-%d"' % (n % 8)),
            ("level", "%d" % (n % 5)),
            ("email", '"u%d@corp%d.example"' % (n, n % 3)),
            ("tags", '["tag-%d","tag-%d"]' % (n % 7, (n * 3 + 1) % 7)),
        ], [("Group", "g%d" % (1 + n % 9))])
    for n in range(100):
        name = ("report-%d.pdf" if n % 2 == 0 else "notes-%d.txt") % n
        entity("Document", "d%d" % n, [
            ("owner", '{"__entity":{"type":"User","id":"u%d"}}' % ((n * 7) % 200)),
            ("classification", "%d" % (n % 4)),
            ("name", '"%s"' % name),
            ("size", "%d" % ((n * 37) % 1000)),
            ("tags", '["tag-%d"]' % (n % 7)),
        ], [("Folder", "f%d" % (n % 50))])
    return "[" + ",\n".join(items) + "]"


def generated_policies():
    """1,000 policies; a forbid when i % 10 == 7, else a permit (see GeneratedFixture)."""
    out = []
    for i in range(1000):
        effect = "forbid" if i % 10 == 7 else "permit"
        principal = ['principal == User::"u%d"' % (i % 200), 'principal in Group::"g%d"' % (i % 10),
                     "principal is User", "principal"][i % 4]
        action = ['action == Action::"read"', 'action == Action::"write"',
                  'action in [Action::"read", Action::"write"]'][i % 3]
        resource = ['resource in Folder::"f%d"' % (i % 50), 'resource == Document::"d%d"' % (i % 100),
                    "resource is Document", "resource"][(i // 4) % 4]
        condition = [
            "principal.level == %d && resource.classification <= principal.level" % (i % 5),
            'resource.name like "*-%d.*"' % (i % 20),
            'principal.tags.contains("tag-%d") && resource.tags.contains("tag-%d")' % (i % 7, (i // 7) % 7),
            "resource.size + context.extra * %d < %d" % (i % 9 + 1, (i * 13) % 700),
            'principal.dept == "dept-%d" && principal.email like "*@corp%d.example"' % (i % 8, i % 3),
            "context.hour >= %d && context.hour < %d && principal.level * 2 > %d" % (i % 24, i % 24 + 2, i % 7),
        ][(i // 3) % 6]
        unless = "\nunless { context.hour < %d }" % (18 + i % 6) if effect == "forbid" else ""
        out.append('@id("p%04d")\n%s (%s, %s, %s)\nwhen { %s }%s;\n' % (i, effect, principal, action, resource, condition, unless))
    return "".join(out)


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def percentile(sorted_values, q):
    """Nearest-rank percentile of an ascending list."""
    index = max(0, min(len(sorted_values) - 1, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def check(name, result, allowed, reasons):
    got_reasons = set(result.diagnostics.id_annotations_by_reason.get(r, r) for r in result.diagnostics.reasons)
    if result.allowed != allowed or got_reasons != reasons or result.diagnostics.errors:
        sys.exit("%s: unexpected %s because of %s (errors %s); expected %s because of %s" % (
            name, result.decision, sorted(got_reasons), result.diagnostics.errors,
            "allow" if allowed else "deny", sorted(reasons)))


def measure_single(request, policies, entities, calls):
    is_authorized = cedarpy.is_authorized
    clock = time.perf_counter_ns
    for _ in range(min(calls, 2000)):  # warm-up
        is_authorized(request, policies, entities)
    gc.collect()
    samples = [0] * calls
    for k in range(calls):
        start = clock()
        is_authorized(request, policies, entities)
        samples[k] = clock() - start
    return sorted(samples)


def measure_batch(request, policies, entities, batches, size=1000):
    requests = [request] * size
    cedarpy.is_authorized_batch(requests, policies, entities)  # warm-up
    gc.collect()
    samples = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        cedarpy.is_authorized_batch(requests, policies, entities)
        samples.append((time.perf_counter_ns() - start) / size)
    return sorted(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000, help="timed single calls, Asgard scenarios")
    parser.add_argument("--batches", type=int, default=30, help="timed batches of 1,000 requests, Asgard scenarios")
    parser.add_argument("--calls-generated", type=int, default=5_000, help="timed single calls, 1,000 policies")
    parser.add_argument("--batches-generated", type=int, default=5, help="timed batches of 1,000, 1,000 policies")
    args = parser.parse_args()

    version = importlib.metadata.version("cedarpy")
    if version != "4.12.2":
        print("warning: cedarpy %s, not the pinned 4.12.2" % version, file=sys.stderr)

    policies_text = generated_policies()
    entities_text = generated_entities_json()
    if sha256(policies_text) != GENERATED_POLICIES_SHA256 or sha256(entities_text) != GENERATED_ENTITIES_SHA256:
        sys.exit("the generated policies or entities differ from the Swift benchmark's (SHA-256 mismatch)")

    asgard = (cedarpy.PolicySet.from_str(asgard_policies()),
              cedarpy.Entities.from_json_str(ASGARD_ENTITIES_JSON))
    generated = (cedarpy.PolicySet.from_str(policies_text), cedarpy.Entities.from_json_str(entities_text))
    empty = (cedarpy.PolicySet.from_str(""), cedarpy.Entities.from_json_str("[]"))
    if len(asgard[1]) != 12 or len(generated[1]) != 360:
        sys.exit("unexpected entity counts %d and %d" % (len(asgard[1]), len(generated[1])))

    scenarios = [
        ("authorize: Asgard policy set, invoke allowed", asgard,
         {"principal": 'Key::"fraud-scoring-agent"', "action": 'Action::"invoke"',
          "resource": 'Model::"databricks/llama-3-3-70b"', "context": ASGARD_CONTEXT},
         True, {"key-invokes-allowed-model"}, args.calls, args.batches),
        ("authorize: Asgard policy set, invoke denied", asgard,
         {"principal": 'Key::"fraud-scoring-agent"', "action": 'Action::"invoke"',
          "resource": 'Model::"openai/gpt-4o-mini"', "context": ASGARD_CONTEXT},
         False, set(), args.calls, args.batches),
        ("authorize: 1,000 generated policies", generated,
         {"principal": 'User::"u42"', "action": 'Action::"read"', "resource": 'Document::"d17"',
          "context": {"hour": 10, "extra": 3}},
         True, GENERATED_EXPECTED_REASONS, args.calls_generated, args.batches_generated),
        # The binding's fixed cost per request: nothing to evaluate, the same context to convert.
        ("floor: empty policy set, no entities, Asgard's context", empty,
         {"principal": 'Key::"fraud-scoring-agent"', "action": 'Action::"invoke"',
          "resource": 'Model::"databricks/llama-3-3-70b"', "context": ASGARD_CONTEXT},
         False, set(), args.calls, args.batches),
    ]
    for name, (policies, entities), request, allowed, reasons, _, _ in scenarios:
        check(name, cedarpy.is_authorized(request, policies, entities), allowed, reasons)
        for result in cedarpy.is_authorized_batch([request] * 3, policies, entities):
            check(name + " (batch)", result, allowed, reasons)

    clock_cost = sorted(-(time.perf_counter_ns() - time.perf_counter_ns()) for _ in range(10_000))
    print("cedarpy %s, Python %s; perf_counter_ns() pair p50 %d ns" % (
        version, platform.python_version(), percentile(clock_cost, 50)))
    print()
    print("| Scenario | mode | samples | p50 (µs) | p99 (µs) | p99.9 (µs) | calls/s (1 / mean) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (policies, entities), request, _, _, calls, batches in scenarios:
        single = measure_single(request, policies, entities, calls)
        mean = sum(single) / len(single)
        print("| %s | is_authorized, one call | %d | %.2f | %.2f | %.2f | %s |" % (
            name, calls, percentile(single, 50) / 1000, percentile(single, 99) / 1000, percentile(single, 99.9) / 1000,
            format(round(1e9 / mean), ",")))
        batch = measure_batch(request, policies, entities, batches)
        mean = sum(batch) / len(batch)
        print("| %s | is_authorized_batch, per request (batch of 1,000) | %d batches | %.2f | %.2f | – | %s |" % (
            name, batches, percentile(batch, 50) / 1000, percentile(batch, 99) / 1000, format(round(1e9 / mean), ",")))
        sys.stdout.flush()


if __name__ == "__main__":
    main()

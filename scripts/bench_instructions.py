#!/usr/bin/env python3
"""Instructions per gateway call under callgrind (issue 18): a figure that does not move with
whatever else the machine is doing, beside bench_gateway.py's CPU seconds per call.

Each target (`asgard stack-floor --mode nio-fixed`, `--mode nio-proxy`, `--mode fixed`,
`--mode proxy`, `--mode proxy-ahc`, `asgard serve` with every step on, on SQLite) runs under `valgrind --tool=callgrind`, twice: once answering CALLS_LOW calls and
once CALLS_HIGH, each after the same warm-up, one call after the other over one keep-alive
connection, with nginx's fixed completion as the upstream. Startup, warm-up and shutdown are the
same in both runs, and so is their length: the CALLS_HIGH run goes first, and the CALLS_LOW run
idles after its calls until it has lasted as long. What the process does on timers (the
desired-state watcher, the budget and rate lease keepers) therefore cancels out too, and
(Ir(high) - Ir(low)) / (high - low) is the instructions one call costs.

Asgard's per-stage breakdown is the same difference taken for the inclusive cost of the
functions that carry each stage (callgrind_annotate --inclusive=yes). Only synchronous
functions name a stage: an async function is split into resumption pieces, and the cost
callgrind charges to it includes whatever its task switches ran inline (other calls' work).
The upstream client and the HTTP server are the layer figures (differences of targets). The
ingest runs one transaction per batch of calls; calls sent one after the other make small
batches (2-3 calls), so its figure here is higher than under load, where batches are larger.

Two things valgrind 3.19 needs: it cannot read the Swift release binary's DWARF 5, so a copy
without debug sections (objcopy --strip-debug; the symbol table stays) is what runs; and it
writes into the read-only mask libdispatch gives sigsuspend() when an async main parks the main
thread, so Benchmarks/callgrind/sigsuspend_shim.c is preloaded to pass it a copy.

Environment: ASGARD_BIN (default .build/release/asgard), BENCH_TARGETS (default
floor-nio-fixed,floor-nio-proxy,floor-fixed,floor-proxy,floor-proxy-ahc,asgard), CALLS_LOW (default 200), CALLS_HIGH
(default 1200), WARMUP_CALLS (default 100). Writes .build/bench-instructions.txt.
"""
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_gateway as g  # noqa: E402  (its helpers: processes, nginx, the desired state)

TARGETS = os.environ.get("BENCH_TARGETS", "floor-nio-fixed,floor-nio-proxy,floor-fixed,floor-proxy,floor-proxy-ahc,asgard").split(",")
CALLS_LOW = int(os.environ.get("CALLS_LOW", "200"))
CALLS_HIGH = int(os.environ.get("CALLS_HIGH", "1200"))
WARMUP_CALLS = int(os.environ.get("WARMUP_CALLS", "100"))
RAW = os.path.join(g.ROOT, ".build", "bench-instructions.txt")
RUN = os.path.join(g.ROOT, ".build", "bench-instructions-run")

# Asgard's stages: a label and the fully demangled function names whose inclusive cost is the
# stage (matched as substrings of callgrind_annotate's function column; full names tell apart
# overloads that the simplified form writes alike).
STAGES = [
    ("read the request (ChatRequest: JSON parse and checks)", ["ChatRequest.init(bytes: [Swift.UInt8]"]),
    ("authenticate the key", ["KeyAuthenticator.authenticate("]),
    ("Cedar decision", ["PolicyEngine.decide("]),
    ("guardrails: every string of the request and the answer (DocumentGuardrail.apply(String))", ["DocumentGuardrail.apply(Swift.String)"]),
    ("guardrails: the answer's whole pass (CompletionGuardrail.apply)", ["CompletionGuardrail.apply("]),
    ("upstream body encoding (JSONValue.jsonBytes)", ["JSONValue.jsonBytes.getter"]),
    ("JSON parse, request and answer (JSONValue.parse)", ["JSONValue.parse([Swift.UInt8])"]),
    ("budget reservation", ["BudgetLedger.reserve("]),
    ("the call's record framed and written to the journal (CallJournal.append)", ["CallJournal.append("]),
    ("ingest into SQLite: ledger rows and the audit chain (one transaction per batch)", ["in AsgardStore.SQLiteStore.ingest("]),
    ("  of which the audit chain (AuditTable.append)", ["AuditTable.append(_: [AsgardCore.AuditEntry], times:"]),
    ("metrics", ["GatewayMetrics.request(endpoint:", "GatewayMetrics.spend(project:"]),
]


def log(text=""):
    print(text, flush=True)


def stripped_binary():
    path = os.path.join(RUN, "asgard-nodebug")
    subprocess.run(["objcopy", "--strip-debug", g.ASGARD, path], check=True)
    return path


def shim():
    path = os.path.join(RUN, "sigsuspend_shim.so")
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", path, os.path.join(g.ROOT, "Benchmarks", "callgrind", "sigsuspend_shim.c")], check=True)
    return path


def drive(port, body, auth, calls):
    """`calls` POSTs one after the other over one keep-alive connection; every answer must be 200."""
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(calls):
        connection.request("POST", "/v1/chat/completions", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"bench: a call answered {response.status}")
    connection.close()


def callgrind(name, argv, env, calls, body, auth, port, last=0.0):
    """Runs argv under callgrind, answers warm-up + `calls` calls, idles until `last` seconds have
    passed since the calls began, stops it; (Ir, out file, seconds from the calls' start to the stop)."""
    out = os.path.join(RUN, f"callgrind-{name}-{calls}.out")
    server = g.start(f"{name}-{calls}", ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, *argv], env=env)
    g.wait_http(f"http://127.0.0.1:{port}/healthz", server, seconds=600)
    drive(port, body, auth, WARMUP_CALLS)
    started = time.monotonic()
    drive(port, body, auth, calls)
    time.sleep(max(0.0, last - (time.monotonic() - started)))
    seconds = time.monotonic() - started
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(600)
    g.processes.remove(server)
    totals = next(line for line in open(out) if line.startswith(("totals:", "summary:")))
    return int(totals.split()[1]), out, seconds


def inclusive(out):
    """{fully demangled function: inclusive Ir} from callgrind_annotate."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out], capture_output=True, text=True, check=True).stdout
    text = subprocess.run(["swift", "demangle"], input=text, capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(?:[^:\s]*:)?(.*?)(?:\s+\[[^\]]*\])?$", line)
        if m:
            # Specializations and thunks of one function demangle alike; one calls the other,
            # so the largest is the function's cost (a sum would count it twice).
            function = m.group(2).strip()
            costs[function] = max(costs.get(function, 0), int(m.group(1).replace(",", "")))
    return costs


def stage_cost(costs, names):
    """The stage's inclusive cost: for each function named, the largest inclusive cost among the
    entries that name it (a specialization and the thunk that calls it are one function, not two)."""
    return sum(max((cost for function, cost in costs.items() if name in function), default=0) for name in names)


def main():
    shutil.rmtree(RUN, ignore_errors=True)
    os.makedirs(os.path.join(RUN, "nginx-tmp"))
    g.RUN = RUN
    binary = stripped_binary()
    _, nginx_port = g.start_nginx()
    lines = [f"asgard: {subprocess.run(['git', '-C', g.ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()}",
             f"valgrind: {subprocess.run(['valgrind', '--version'], capture_output=True, text=True).stdout.strip()}",
             f"method: warm-up {WARMUP_CALLS} calls, then {CALLS_LOW} or {CALLS_HIGH} calls, sequential, one keep-alive connection, "
             f"both runs equally long; "
             f"per call = (Ir({CALLS_HIGH}) - Ir({CALLS_LOW})) / {CALLS_HIGH - CALLS_LOW}"]
    per_call = {}
    asgard_runs = None
    try:
        env = dict(os.environ, LD_PRELOAD=shim(), BENCH_UPSTREAM_URL=f"http://127.0.0.1:{nginx_port}", BENCH_UPSTREAM_TOKEN=g.UPSTREAM_TOKEN)
        desired, auth = g.mint_desired()
        asgard_body = open(g.write_body("asgard", "bench/fixed-model"), "rb").read()
        floor_body = open(g.write_body("floor", "fixed-model"), "rb").read()
        for name in [t for t in ("floor-nio-fixed", "floor-nio-proxy", "floor-fixed", "floor-proxy", "floor-proxy-ahc", "asgard") if t in TARGETS]:
            runs = {}
            for calls in (CALLS_HIGH, CALLS_LOW):
                port = g.free_port()
                if name == "asgard":
                    data = os.path.join(RUN, f"asgard-data-{calls}")
                    argv = [binary, "serve", desired, "--port", str(port), "--policies", os.path.join(g.ROOT, "policies"), "--data-dir", data]
                    body, key = asgard_body, auth
                else:
                    argv = [binary, "stack-floor", "--mode", name.removeprefix("floor-"), "--port", str(port),
                            "--upstream", f"http://127.0.0.1:{nginx_port}"]
                    body, key = floor_body, None
                last = runs[CALLS_HIGH][2] if CALLS_HIGH in runs else 0.0
                runs[calls] = callgrind(name, argv, env, calls, body, key, port, last)
                log(f"{name}: {calls} calls: {runs[calls][0]:,} instructions ({runs[calls][2]:.1f} s from the calls' start)")
            low, high = runs[CALLS_LOW], runs[CALLS_HIGH]
            per_call[name] = (high[0] - low[0]) / (CALLS_HIGH - CALLS_LOW)
            lines.append(f"{name}: Ir({CALLS_LOW}) {low[0]}, Ir({CALLS_HIGH}) {high[0]}; runs lasted {low[2]:.1f} s and {high[2]:.1f} s; "
                         f"{per_call[name]:,.0f} instructions per call")
            if name == "asgard":
                asgard_runs = runs
    finally:
        for process in list(g.processes):
            g.stop(process)

    lines += ["", "Instructions per call (callgrind; difference of two runs)", "", "| target | instructions per call |", "|---|---:|"]
    for name, value in per_call.items():
        lines.append(f"| {name} | {value:,.0f} |")
    rows = [(label, per_call[name] - (per_call[base] if base else 0)) for label, name, base in g.LAYERS
            if name in per_call and (base is None or base in per_call)]
    if rows:
        lines += ["", "| layer | instructions per call |", "|---|---:|"] + [f"| {label} | {value:,.0f} |" for label, value in rows]
    if asgard_runs:
        low, high = inclusive(asgard_runs[CALLS_LOW][1]), inclusive(asgard_runs[CALLS_HIGH][1])
        lines += ["", "Asgard by stage (inclusive instructions per call of the functions that carry it)", "",
                  "| stage | instructions per call |", "|---|---:|"]
        for label, names in STAGES:
            value = (stage_cost(high, names) - stage_cost(low, names)) / (CALLS_HIGH - CALLS_LOW)
            lines.append(f"| {label} | {value:,.0f} |")
    log("\n".join(lines))
    with open(RAW, "w") as f:
        f.write("\n".join(lines) + "\n")
    log(f"\nraw figures: {os.path.relpath(RAW, g.ROOT)}")


if __name__ == "__main__":
    main()

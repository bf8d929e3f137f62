#!/usr/bin/env python3
"""The gateway load benchmark behind `make bench` (issue 4). Standard library only.

On loopback, against nginx answering a fixed chat completion (the upstream), it measures
these targets one after the other: nginx directly; nginx as a reverse proxy in front of it
(`nginx-proxy`, the least a proxy written in C pays); Asgard's HTTP stack with no governance
(`asgard stack-floor`: `floor-fixed` answers a fixed completion, `floor-proxy` forwards each
call to nginx through Asgard's upstream client, `floor-proxy-ahc` through AsyncHTTPClient
alone, the client before issue 18; `floor-nio-fixed` and `floor-nio-proxy` the same on
SwiftNIO's HTTP server without Hummingbird, the least any Swift gateway pays), so that
Asgard's own CPU per call is told from its stack's; Asgard (`asgard serve`, release build,
every pipeline step on, on SQLite), two Asgard replicas on one PostgreSQL 15 (durable: fsync
and synchronous commit on) behind a second nginx as the load balancer (`replicas`), and a
LiteLLM proxy (`--num_workers 2`), each routed to that upstream nginx.
For each: open-loop fixed rates with Benchmarks/gateway/loadgen.c (latency from each request's
scheduled send time, so no coordinated omission), then the maximum rate with wrk (closed loop).
Added latency = the gateway's percentile minus nginx's at the same rate.

Prints a table; writes the raw figures to .build/bench-gateway.txt. Everything runs in
.build/bench-gateway-run/ (generated configs, the Asgard store, logs), recreated each run.

Environment: BENCH_SECONDS (per fixed rate, default 30), BENCH_RATES (default 500,1000,2000),
BENCH_WRK_SECONDS (default 20), BENCH_WRK_CONNECTIONS (default 64), BENCH_TARGETS
(default direct,nginx-proxy,floor-nio-fixed,floor-nio-proxy,floor-fixed,floor-proxy,floor-proxy-ahc,asgard,replicas,litellm), ASGARD_BIN (default .build/release/asgard),
BENCH_PREFILL_LEDGER_ROWS (ledger rows added to Asgard's store before it is measured, default 0),
BENCH_AFTER_SECONDS (default 0: when set, after each fixed rate the server's CPU is also measured
for that many seconds of idle, per call of the step: work a call defers, such as a timer left
behind, which the step's own window would miss; 40 s covers the 30 s request-body deadline).
"""
import calendar
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "Benchmarks", "gateway")
RUN = os.path.join(ROOT, ".build", "bench-gateway-run")
RAW = os.path.join(ROOT, ".build", "bench-gateway.txt")
VENV_BIN = os.path.join(ROOT, ".venv-bench", "bin")
ASGARD = os.path.abspath(os.environ.get("ASGARD_BIN", os.path.join(ROOT, ".build", "release", "asgard")))

SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
WARMUP = 5.0                      # seconds of the same rate before each measured window
RATES = [int(r) for r in os.environ.get("BENCH_RATES", "500,1000,2000").split(",")]
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "20"))
WRK_CONNECTIONS = int(os.environ.get("BENCH_WRK_CONNECTIONS", "64"))
PREFILL_LEDGER_ROWS = int(os.environ.get("BENCH_PREFILL_LEDGER_ROWS", "0"))
AFTER_SECONDS = float(os.environ.get("BENCH_AFTER_SECONDS", "0"))
TARGETS = os.environ.get("BENCH_TARGETS", "direct,nginx-proxy,floor-nio-fixed,floor-nio-proxy,floor-fixed,floor-proxy,floor-proxy-ahc,asgard,replicas,litellm").split(",")
UPSTREAM_TOKEN = "bench-upstream-token"   # nginx ignores it; not a secret
# The load generator's own lateness (p99 of actual minus scheduled send time) above which a
# step is taken as disturbed by something else on the machine, and run once more.
MAX_SEND_LAG_US = 1000

# The cost of each layer of a call: a label, the target, and the target it is measured above.
LAYERS = [("nginx as a reverse proxy (nginx-proxy)", "nginx-proxy", None),
          ("SwiftNIO's HTTP server alone (floor-nio-fixed)", "floor-nio-fixed", None),
          ("a plain SwiftNIO proxy: NIO's server and Asgard's upstream client (floor-nio-proxy)", "floor-nio-proxy", None),
          ("Hummingbird over SwiftNIO (floor-fixed - floor-nio-fixed)", "floor-fixed", "floor-nio-fixed"),
          ("HTTP server (floor-fixed)", "floor-fixed", None), ("upstream client (floor-proxy - floor-fixed)", "floor-proxy", "floor-fixed"),
          ("AsyncHTTPClient as the upstream client (floor-proxy-ahc - floor-fixed)", "floor-proxy-ahc", "floor-fixed"),
          ("Asgard's pipeline, recording, store (asgard - floor-proxy)", "asgard", "floor-proxy")]

raw_lines = []
processes = []


def log(text=""):
    print(text, flush=True)


def raw(text):
    raw_lines.append(text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name, argv, env=None, cwd=None):
    out = open(os.path.join(RUN, name + ".log"), "wb")
    process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
    processes.append(process)
    return process


def stop(process):
    """SIGTERM the process group we started, SIGKILL after 10 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process in processes:
        processes.remove(process)


def wait_http(url, process, seconds=120, headers=None):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"bench: {url}: the server exited with {process.returncode}; see {RUN}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2) as response:
                if response.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.25)
    sys.exit(f"bench: {url} did not answer 200 within {seconds} s; see {RUN}")


def post(url, body_path, auth=None):
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    request = urllib.request.Request(url, data=open(body_path, "rb").read(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def cpu_seconds(pid):
    """User + system CPU seconds of pid (or of each pid of a list) and all its descendants (from /proc)."""
    if isinstance(pid, list):
        return sum(cpu_seconds(one) for one in pid)
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except OSError:
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def settle(server_pid, seconds=90):
    """Waits until the server is idle (under 0.05 cores for a second): a saturated server keeps
    working through its backlog after the client has gone, which would skew the next step."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        before = cpu_seconds(server_pid)
        time.sleep(1)
        if cpu_seconds(server_pid) - before < 0.05:
            return
    raw(f"warning: the server was still busy {seconds} s after the load stopped")


def parse_kv(line):
    """key=value pairs (the first word of a wrk line is its tag, WRK)."""
    return {k: float(v) for k, v in (field.split("=") for field in line.split() if "=" in field)}


def loadgen(port, body, auth, rate, seconds, server_pid):
    argv = [os.path.join(RUN, "loadgen"), "-p", str(port), "-r", str(rate), "-d", str(seconds), "-w", str(WARMUP),
            "-c", "256", "-i", "32", "-T", "5", "-b", body]
    if auth:
        argv += ["-H", "Authorization: " + auth]
    before = cpu_seconds(server_pid)
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    used = cpu_seconds(server_pid) - before
    after = ""
    result = parse_kv(out)
    if AFTER_SECONDS:
        idle_from = cpu_seconds(server_pid)
        time.sleep(AFTER_SECONDS)
        calls = rate * (seconds + WARMUP)
        result["after_us_per_call"] = (cpu_seconds(server_pid) - idle_from) / calls * 1e6
        after = f" after_{AFTER_SECONDS:g}s_us_per_call={result['after_us_per_call']:.1f}"
    settle(server_pid)
    result["server_cores"] = used / (seconds + WARMUP)
    raw(f"loadgen {out} server_cores={result['server_cores']:.2f}{after}")
    # Saturated: the target could not keep up with the schedule (or failed calls).
    result["saturated"] = (result["achieved_rps"] < 0.97 * rate or result["unsent"] > 0 or result["unfinished"] > 0
                           or result["errors"] > 0 or result["non2xx"] > 0)
    return result


def wrk(port, body, auth, server_pid):
    env = dict(os.environ, BENCH_BODY_FILE=body, BENCH_AUTH=auth or "")
    argv = ["wrk", "-t2", f"-c{WRK_CONNECTIONS}", f"-d{WRK_SECONDS}s", "-s", os.path.join(HERE, "post.lua"),
            f"http://127.0.0.1:{port}/v1/chat/completions"]
    before = cpu_seconds(server_pid)
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env).stdout
    used = cpu_seconds(server_pid) - before
    line = next(l for l in out.splitlines() if l.startswith("WRK "))
    result = parse_kv(line)
    result["server_cores"] = used / WRK_SECONDS
    raw(f"wrk -t2 -c{WRK_CONNECTIONS} -d{WRK_SECONDS}s {line[4:]} server_cores={result['server_cores']:.2f}")
    return result


def measure(name, port, body, auth, server_pid):
    uptime = subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()
    raw(f"== {name}  uptime: {uptime}")
    log(f"{name}: {uptime}")
    log(f"{name}: warm-up, then fixed rates {RATES} for {SECONDS:g} s each (+{WARMUP:g} s warm-up), then wrk {WRK_SECONDS} s")
    loadgen(port, body, auth, RATES[0], 5, server_pid)   # warm-up: connections, caches, upstream pools
    results = {"rates": {}}
    for rate in RATES:
        if any(r["saturated"] for r in results["rates"].values()):
            log(f"  {rate:>5} RPS: not run (saturated at a lower rate)")
            raw(f"loadgen rate={rate} not run: saturated at a lower rate")
            continue
        r = loadgen(port, body, auth, rate, SECONDS, server_pid)
        if r["lag_p99_us"] > MAX_SEND_LAG_US and not r["saturated"]:
            log(f"  {rate:>5} RPS: the load generator lagged (send lag p99 {r['lag_p99_us']:.0f} µs): the machine is busy; once more")
            raw(f"loadgen rate={rate} disturbed (send lag p99 {r['lag_p99_us']:.0f} us), run again")
            again = loadgen(port, body, auth, rate, SECONDS, server_pid)
            r = again if again["lag_p99_us"] < r["lag_p99_us"] else r
        r["disturbed"] = r["lag_p99_us"] > MAX_SEND_LAG_US and not r["saturated"]
        results["rates"][rate] = r
        log(f"  {rate:>5} RPS: achieved {r['achieved_rps']:.0f}, p50 {r['p50_us']:.0f} µs, p99 {r['p99_us']:.0f} µs, "
            f"p99.9 {r['p999_us']:.0f} µs, max {r['max_us']:.0f} µs, non-2xx {r['non2xx']:.0f}, errors {r['errors']:.0f}"
            f"{' SATURATED' if r['saturated'] else ''} (server {r['server_cores']:.2f} cores"
            + (f"; then {r['after_us_per_call']:.1f} µs of CPU per call in the {AFTER_SECONDS:g} s after" if AFTER_SECONDS else "") + ")")
    results["wrk"] = w = wrk(port, body, auth, server_pid)
    log(f"  max (wrk -c{WRK_CONNECTIONS}): {w['rps']:.0f} RPS, p50 {w['p50_us']:.0f} µs, p99 {w['p99_us']:.0f} µs, "
        f"non-2xx {w['non2xx']:.0f} (server {w['server_cores']:.2f} cores)")
    return results


def write_body(name, model):
    path = os.path.join(RUN, f"body-{name}.json")
    with open(path, "w") as f:
        json.dump({"model": model, "messages": [{"role": "user", "content": "Say hello to the benchmark."}], "max_tokens": 16}, f)
    return path


def run_asgard(nginx_port):
    if not os.access(ASGARD, os.X_OK):
        sys.exit(f"bench: {ASGARD} is missing: swift build -c release --product asgard")
    desired, auth = mint_desired()
    data = os.path.join(RUN, "asgard-data")
    port = free_port()
    env = dict(os.environ, BENCH_UPSTREAM_URL=f"http://127.0.0.1:{nginx_port}", BENCH_UPSTREAM_TOKEN=UPSTREAM_TOKEN)
    server = start("asgard", [ASGARD, "serve", desired, "--port", str(port), "--policies", os.path.join(ROOT, "policies"),
                              "--data-dir", data], env=env)
    wait_http(f"http://127.0.0.1:{port}/healthz", server)
    body = write_body("asgard", "bench/fixed-model")
    status, answer = post(f"http://127.0.0.1:{port}/v1/chat/completions", body, auth)
    # The call is in the call journal when answered; the server copies it into the store within
    # milliseconds, so another process may have to look twice.
    for _ in range(20):
        status_json = json.loads(subprocess.run([ASGARD, "status", "--json", "--data-dir", data], capture_output=True, text=True, check=True).stdout)
        ledger = status_json.get("ledger_rows", status_json.get("ledger"))
        if ledger:
            break
        time.sleep(0.1)
    log(f"asgard: one call answered {status} ({answer['usage']}); store: ledger rows {ledger}, audit entries {status_json.get('audit_entries')}")
    if status != 200 or not ledger:
        sys.exit(f"bench: the Asgard check call failed (status {status}, ledger {ledger})")
    if PREFILL_LEDGER_ROWS:
        stop(server)
        prefill_ledger(os.path.join(data, "asgard.sqlite"), PREFILL_LEDGER_ROWS)
        server = start("asgard-prefilled", [ASGARD, "serve", desired, "--port", str(port), "--policies", os.path.join(ROOT, "policies"),
                                  "--data-dir", data], env=env)
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        status, _ = post(f"http://127.0.0.1:{port}/v1/chat/completions", body, auth)
        if status != 200:
            sys.exit(f"bench: the Asgard check call failed after the prefill (status {status})")
    results = measure("asgard", port, body, auth, server.pid)
    stop(server)  # a graceful stop: the server copies every journaled call into the store first
    after = json.loads(subprocess.run([ASGARD, "status", "--json", "--data-dir", data], capture_output=True, text=True, check=True).stdout)
    results["ledger_rows"] = after.get("ledger_rows", after.get("ledger"))
    raw(f"asgard store after the run: ledger rows {results['ledger_rows']}, audit entries {after.get('audit_entries')}")
    return results


def prefill_ledger(path, rows):
    """`rows` more ledger rows, copies of the check call's with their own request ids, spread over
    the 365 days before the current month (so this month's budgets are untouched): a store with a
    year of history, to see whether the store's size moves the tail."""
    import sqlite3
    started = time.monotonic()
    db = sqlite3.connect(path)
    now = time.gmtime()
    month_start_us = calendar.timegm((now.tm_year, now.tm_mon, 1, 0, 0, 0)) * 1_000_000
    step_us = 365 * 86_400 * 1_000_000 // rows
    with db:
        db.execute("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO ledger (request_id, time, project, key_id, vendor, model, upstream, prompt_tokens, completion_tokens,
                                cost_micros, latency_us, status, estimated, overrun)
            SELECT 'prefill-' || i, ? - i * ?, l.project, l.key_id, l.vendor, l.model, l.upstream, l.prompt_tokens,
                   l.completion_tokens, l.cost_micros, l.latency_us, l.status, l.estimated, l.overrun
            FROM n, (SELECT * FROM ledger LIMIT 1) AS l""", (rows, month_start_us, step_us))
    count = db.execute("SELECT count(*) FROM ledger").fetchone()[0]
    db.close()
    log(f"asgard: the store now holds {count} ledger rows ({time.monotonic() - started:.0f} s to add {rows})")
    raw(f"asgard store prefilled: ledger rows {count}")


def run_floor(mode, nginx_port):
    """`asgard stack-floor --mode MODE`: the same server stack as `asgard serve`, nothing else."""
    if not os.access(ASGARD, os.X_OK):
        sys.exit(f"bench: {ASGARD} is missing: swift build -c release --product asgard")
    port = free_port()
    env = dict(os.environ, BENCH_UPSTREAM_TOKEN=UPSTREAM_TOKEN)
    server = start(f"floor-{mode}", [ASGARD, "stack-floor", "--mode", mode, "--port", str(port),
                                     "--upstream", f"http://127.0.0.1:{nginx_port}"], env=env)
    wait_http(f"http://127.0.0.1:{port}/healthz", server)
    body = write_body(f"floor-{mode}", "fixed-model")
    status, answer = post(f"http://127.0.0.1:{port}/v1/chat/completions", body, "Bearer caller-token")
    if status != 200 or "usage" not in answer:
        sys.exit(f"bench: the stack-floor ({mode}) check call failed (status {status})")
    results = measure(f"floor-{mode}", port, body, "Bearer caller-token", server.pid)
    stop(server)
    return results


def mint_desired():
    """The benchmark's desired/ with a freshly minted key: (directory, Authorization header)."""
    minted = json.loads(subprocess.run([ASGARD, "keygen", "--json"], capture_output=True, text=True, check=True).stdout)
    desired = os.path.join(RUN, "desired-" + secrets.token_hex(4))
    shutil.copytree(os.path.join(HERE, "desired"), desired)
    key_file = os.path.join(desired, "keys", "bench.yaml")
    text = open(key_file).read().replace("sha256:" + "0" * 64, minted["digest"])
    open(key_file, "w").write(text)
    subprocess.run([ASGARD, "validate", desired], check=True, stdout=subprocess.DEVNULL)
    return desired, "Bearer " + minted["key"]


def start_balancer(name, upstream_ports):
    """nginx as a reverse proxy (balancer.conf.in: one worker, round robin, keepalive 64) in front
    of upstream_ports, on a free port, its config, pid and log named NAME in RUN. (process, port)"""
    port = free_port()
    conf = open(os.path.join(HERE, "balancer.conf.in")).read().replace("@RUN@", RUN).replace("@PORT@", str(port)).replace("@NAME@", name)
    conf = conf.replace("@UPSTREAMS@", "".join(f"        server 127.0.0.1:{p};\n" for p in upstream_ports))
    open(os.path.join(RUN, f"{name}.conf"), "w").write(conf)
    process = start(name, ["nginx", "-c", os.path.join(RUN, f"{name}.conf"), "-p", RUN + "/"])
    time.sleep(0.5)
    return process, port


def run_nginx_proxy(nginx_port):
    """nginx as a reverse proxy in front of the upstream nginx (`start_balancer`): the least a
    proxy written in C pays per call on this machine, the kernel's work on the caller's and the
    vendor's connections included."""
    proxy, port = start_balancer("nginx-proxy", [nginx_port])
    body = write_body("nginx-proxy", "fixed-model")
    status, answer = post(f"http://127.0.0.1:{port}/v1/chat/completions", body)
    if status != 200 or "usage" not in answer:
        sys.exit(f"bench: the nginx proxy check call failed (status {status})")
    results = measure("nginx-proxy", port, body, None, proxy.pid)
    stop(proxy)
    return results


def run_replicas(nginx_port):
    """Two replicas on one PostgreSQL, behind nginx (round robin, keepalive): the shape of
    deploy/docker-compose.yml. PostgreSQL runs durable (fsync and synchronous commit on)."""
    if not os.access(ASGARD, os.X_OK):
        sys.exit(f"bench: {ASGARD} is missing: swift build -c release --product asgard")
    pg_dir = os.path.join("/tmp", "asgard-bench-pg-" + secrets.token_hex(4))
    url = subprocess.run([os.path.join(ROOT, "scripts", "postgres.sh"), "start", pg_dir, str(os.getpid())],
                         capture_output=True, text=True, check=True, env=dict(os.environ, POSTGRES_DURABLE="1")).stdout.strip()
    try:
        desired, auth = mint_desired()
        env = dict(os.environ, BENCH_UPSTREAM_URL=f"http://127.0.0.1:{nginx_port}", BENCH_UPSTREAM_TOKEN=UPSTREAM_TOKEN,
                   ASGARD_DATABASE_URL=url + "?sslmode=disable&pool_size=10")
        servers, ports = [], []
        for name in ("a", "b"):
            port = free_port()
            server = start(f"replica-{name}", [ASGARD, "serve", desired, "--port", str(port), "--policies", os.path.join(ROOT, "policies"),
                                               "--data-dir", os.path.join(RUN, f"replica-{name}-data")], env=dict(env, ASGARD_REPLICA=name))
            servers.append(server)
            ports.append(port)
        for port, server in zip(ports, servers):
            wait_http(f"http://127.0.0.1:{port}/healthz", server)
        balancer, lb_port = start_balancer("balancer", ports)
        body = write_body("replicas", "bench/fixed-model")
        # The follower serves the key once the leader has written it: both must answer.
        for port in ports + [lb_port]:
            for _ in range(100):
                try:
                    if post(f"http://127.0.0.1:{port}/v1/chat/completions", body, auth)[0] == 200:
                        break
                except Exception:
                    pass
                time.sleep(0.1)
            else:
                sys.exit(f"bench: replica on port {port} never answered the check call; see {RUN}")
        log(f"replicas: two replicas on {url} answer through nginx on port {lb_port}")
        results = measure("replicas", lb_port, body, auth, [s.pid for s in servers] + [balancer.pid])
        for server in servers + [balancer]:
            stop(server)
        store = subprocess.run([ASGARD, "status", "--json"], capture_output=True, text=True, check=True,
                               env=dict(os.environ, ASGARD_DATABASE_URL=url + "?sslmode=disable")).stdout
        results["ledger_rows"] = json.loads(store).get("ledger_rows")
        raw(f"replicas store after the run: ledger rows {results['ledger_rows']}")
        return results
    finally:
        subprocess.run([os.path.join(ROOT, "scripts", "postgres.sh"), "stop", pg_dir], check=False)


def run_litellm(nginx_port):
    master = "sk-bench-" + secrets.token_urlsafe(24)    # minted per run, never written to the repo
    config = os.path.join(RUN, "litellm.yaml")
    with open(config, "w") as f:
        f.write(f"""model_list:
  - model_name: bench-model
    litellm_params:
      model: openai/fixed-model
      api_base: http://127.0.0.1:{nginx_port}/v1
      api_key: {UPSTREAM_TOKEN}
litellm_settings:
  telemetry: false
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
""")
    port = free_port()
    env = dict(os.environ,
               LITELLM_MASTER_KEY=master,
               LITELLM_LOCAL_MODEL_COST_MAP="True",   # the bundled cost map, not a download
               LITELLM_TELEMETRY="False",
               LITELLM_LOG="ERROR",
               DISABLE_ADMIN_UI="True",
               # Anything that tries the network through a proxy-aware client fails at once.
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1,localhost",
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", no_proxy="127.0.0.1,localhost")
    env.pop("DATABASE_URL", None)
    server = start("litellm", [os.path.join(VENV_BIN, "litellm"), "--config", config, "--host", "127.0.0.1", "--port", str(port),
                               "--num_workers", "2", "--telemetry", "False"], env=env, cwd=RUN)
    auth = "Bearer " + master
    wait_http(f"http://127.0.0.1:{port}/health/liveliness", server, seconds=180)
    body = write_body("litellm", "bench-model")
    status, answer = post(f"http://127.0.0.1:{port}/v1/chat/completions", body, auth)
    log(f"litellm: one call answered {status} ({answer.get('usage')})")
    if status != 200:
        sys.exit(f"bench: the LiteLLM check call failed (status {status})")
    results = measure("litellm", port, body, auth, server.pid)
    stop(server)
    return results


def versions():
    def out(argv):
        p = subprocess.run(argv, capture_output=True, text=True)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    litellm = subprocess.run([os.path.join(VENV_BIN, "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True).stdout.strip() if "litellm" in TARGETS else "-"
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return {"nginx": out(["nginx", "-v"]), "wrk": out(["wrk", "-v"]), "litellm": litellm, "swift": out(["swift", "--version"]),
            "asgard": commit, "cpu": f"{cpu}, {os.cpu_count()} cores", "kernel": os.uname().release}


def per_call(x):
    """The server's CPU per call: its process's user + system seconds over the step (warm-up
    included) divided by the calls it answered in that time. The headline figure of issue 18."""
    return f"{x['server_cores'] * 1e6 / x['achieved_rps']:.0f}" if x["achieved_rps"] else "–"


def added(gateway, direct, rate, key):
    g, d = gateway["rates"].get(rate), direct["rates"].get(rate)
    if not d:
        return "–"
    if not g:
        return "not run (saturated below)"
    if g["saturated"]:
        return f"saturated ({g['achieved_rps']:.0f} RPS)"
    if g["disturbed"] or d["disturbed"]:
        return "disturbed"
    return f"{(g[key] - d[key]) / 1000:.2f}"


def start_nginx():
    """The upstream: nginx answering a fixed chat completion on a free port, run in RUN. (process, port)"""
    port = free_port()
    conf = open(os.path.join(HERE, "nginx.conf.in")).read().replace("@RUN@", RUN).replace("@PORT@", str(port))
    open(os.path.join(RUN, "nginx.conf"), "w").write(conf)
    nginx = start("nginx", ["nginx", "-c", os.path.join(RUN, "nginx.conf"), "-p", RUN + "/"])
    time.sleep(0.5)
    return nginx, port


def main():
    shutil.rmtree(RUN, ignore_errors=True)
    os.makedirs(os.path.join(RUN, "nginx-tmp"))
    subprocess.run(["gcc", "-O2", "-o", os.path.join(RUN, "loadgen"), os.path.join(HERE, "loadgen.c")], check=True)
    info = versions()
    for k, v in info.items():
        raw(f"{k}: {v}")
    raw(f"uptime before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    raw(f"method: fixed rates {RATES} RPS, {SECONDS:g} s measured after {WARMUP:g} s warm-up each (loadgen, open loop); "
        f"max RPS: wrk -t2 -c{WRK_CONNECTIONS} -d{WRK_SECONDS}s")

    nginx, nginx_port = start_nginx()
    direct_body = write_body("direct", "fixed-model")
    status, _ = post(f"http://127.0.0.1:{nginx_port}/v1/chat/completions", direct_body)
    assert status == 200

    results = {}
    try:
        if "direct" in TARGETS:
            results["direct"] = measure("direct", nginx_port, direct_body, None, nginx.pid)
        if "nginx-proxy" in TARGETS:
            results["nginx-proxy"] = run_nginx_proxy(nginx_port)
        for mode in ("nio-fixed", "nio-proxy", "fixed", "proxy", "proxy-ahc"):
            if f"floor-{mode}" in TARGETS:
                results[f"floor-{mode}"] = run_floor(mode, nginx_port)
        if "asgard" in TARGETS:
            results["asgard"] = run_asgard(nginx_port)
        if "replicas" in TARGETS:
            results["replicas"] = run_replicas(nginx_port)
        if "litellm" in TARGETS:
            results["litellm"] = run_litellm(nginx_port)
    finally:
        for process in list(processes):
            stop(process)
    raw(f"uptime after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")

    # The table: absolute figures, then added latency against nginx directly.
    lines = ["", "Gateway load (latency in ms; open loop, from each request's scheduled send time)", "",
             "| target | rate RPS | achieved | CPU µs per call | p50 | p99 | p99.9 | max | non-2xx+errors | loadgen send lag p99 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        for rate, x in r["rates"].items():
            if x["saturated"]:   # the percentiles would cover only the calls that completed
                lines.append(f"| {name} | {rate} | {x['achieved_rps']:.0f} (saturated) | {per_call(x)} | – | – | – | – | "
                             f"{x['non2xx'] + x['errors']:.0f} | – |")
                continue
            lines.append(f"| {name} | {rate} | {x['achieved_rps']:.0f}{' (disturbed)' if x['disturbed'] else ''} | {per_call(x)} | {x['p50_us']/1000:.2f} | "
                         f"{x['p99_us']/1000:.2f} | {x['p999_us']/1000:.2f} | {x['max_us']/1000:.2f} | {x['non2xx'] + x['errors']:.0f} | "
                         f"{x['lag_p99_us']/1000:.2f} |")
    direct = results.get("direct")
    if direct:
        lines += ["", "Added latency over nginx directly (ms)", "", "| gateway | rate RPS | p50 | p99 | p99.9 |", "|---|---|---|---|---|"]
        for name in ("nginx-proxy", "floor-nio-fixed", "floor-nio-proxy", "floor-fixed", "floor-proxy", "floor-proxy-ahc", "asgard", "replicas", "litellm"):
            for rate in RATES:
                if name in results:
                    lines.append(f"| {name} | {rate} | {added(results[name], direct, rate, 'p50_us')} | "
                                 f"{added(results[name], direct, rate, 'p99_us')} | {added(results[name], direct, rate, 'p999_us')} |")
    lines += ["", f"Max RPS (wrk -t2 -c{WRK_CONNECTIONS} -d{WRK_SECONDS}s, closed loop)", "",
              "| target | RPS | p50 ms | p99 ms | non-2xx+errors | server CPU (cores) |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        w = r["wrk"]
        bad = w["non2xx"] + w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
        lines.append(f"| {name} | {w['rps']:.0f} | {w['p50_us']/1000:.2f} | {w['p99_us']/1000:.2f} | {bad:.0f} | {w['server_cores']:.2f} |")
    if "asgard" in results and "litellm" in results:
        lines.append(f"\nmax RPS ratio Asgard / LiteLLM: {results['asgard']['wrk']['rps'] / results['litellm']['wrk']['rps']:.1f}")
    # CPU per call by layer, at each rate: the server stack alone, its upstream client, and
    # Asgard's own governance (what Asgard costs beyond a plain proxy on the same stack).
    if any(name in results for _, name, _ in LAYERS):
        lines += ["", "CPU µs per call by layer (differences of the targets' CPU per call at the same rate)", "",
                  "| layer | " + " | ".join(f"{rate} RPS" for rate in RATES) + " |", "|---|" + "---|" * len(RATES)]
        for label, name, base in LAYERS:
            if name not in results or (base and base not in results):
                continue
            cells = []
            for rate in RATES:
                x, b = results[name]["rates"].get(rate), results[base]["rates"].get(rate) if base else None
                if not x or x["saturated"] or (base and (not b or b["saturated"])):
                    cells.append("–")
                    continue
                mine = x["server_cores"] * 1e6 / x["achieved_rps"]
                under = b["server_cores"] * 1e6 / b["achieved_rps"] if b else 0
                cells.append(f"{mine - under:.0f}")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for name in ("asgard", "replicas"):
        if name not in results or not direct or 2000 not in RATES:
            continue
        a, d = results[name]["rates"].get(2000), direct["rates"][2000]
        if a is None:
            lines.append(f"goal for {name} (<= 1 ms added p99 at 2,000 RPS): NOT met (saturated below)")
            continue
        extra = (a["p99_us"] - d["p99_us"]) / 1000
        if a["saturated"]:
            verdict = "NOT met (saturated)"
        elif a["disturbed"] or d["disturbed"]:
            verdict = f"undetermined: the load generator lagged, the machine was busy ({extra:.2f} ms)"
        else:
            verdict = f"{'met' if extra <= 1.0 else 'NOT met'} ({extra:.2f} ms)"
        lines.append(f"goal for {name} (<= 1 ms added p99 at 2,000 RPS): {verdict}")
    log("\n".join(lines))
    raw("\n".join(lines))
    with open(RAW, "w") as f:
        f.write("\n".join(raw_lines) + "\n")
    log(f"\nraw figures: {os.path.relpath(RAW, ROOT)}")


if __name__ == "__main__":
    main()

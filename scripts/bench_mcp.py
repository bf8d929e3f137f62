#!/usr/bin/env python3
"""The MCP benchmark behind `make bench-mcp` (issue 15): calls per second through `/mcp` beside
`/v1/chat/completions`, on one `asgard serve` (release build) whose upstream is the fake
Databricks (release build, `fake-databricks`), everything on loopback.

Three closed-loop runs with wrk (BENCH_WRK_SECONDS each, BENCH_WRK_CONNECTIONS connections, two
threads), each twice: `POST /v1/chat/completions`; `tools/call whoami` and `tools/call chat`
through one MCP session (JSON responses, a unique JSON-RPC id per call). Then the official
Python `mcp` client calling whoami and chat one after another in one session (an agent's own
view: the client's cost included). wrk's latencies are closed-loop (they hide queueing), so only
the rates are the result; the percentiles are printed for orientation, not claimed as tails.

usage: bench_mcp.py ASGARD_BIN FAKE_DATABRICKS_BIN. Writes the figures to .build/bench-mcp.txt.
"""
import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "15"))
CONNECTIONS = int(os.environ.get("BENCH_WRK_CONNECTIONS", "16"))
PYTHON_CALLS = int(os.environ.get("BENCH_PYTHON_CALLS", "300"))
KEY = "asg_bench_mcp_" + secrets.token_hex(16)
CHAT = {"model": "databricks/llama-3-3-70b", "messages": [{"role": "user", "content": "Score this transaction."}], "max_tokens": 16}

lines = []


def say(text=""):
    print(text, flush=True)
    lines.append(text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body, headers):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def wrk_script(path, url_path, body, headers, unique_ids):
    """A wrk Lua script posting `body`; with `unique_ids`, each call gets its own JSON-RPC id."""
    header_lines = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    if unique_ids:
        template = json.dumps(dict(body, id="ID")).replace('"ID"', '"%s"')
        # Each thread numbers its calls after its own id (set by `setup`): no two calls share an id.
        lua = (f'wrk.method = "POST"\n{header_lines}counter = 0\nthreads = 0\n'
               f'setup = function(thread)\n  threads = threads + 1\n  thread:set("tid", threads)\nend\n'
               f'request = function()\n  counter = counter + 1\n'
               f'  return wrk.format(nil, "{url_path}", nil, string.format([[{template}]], tostring(tid) .. "-" .. counter))\nend\n')
    else:
        lua = f'wrk.method = "POST"\nwrk.body = [[{json.dumps(body)}]]\n{header_lines}wrk.path = "{url_path}"\n'
    lua += ('done = function(summary, latency, requests)\n'
            '  io.write(string.format("non2xx=%d errors=%d\\n", summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\n'
            'end\n')
    with open(path, "w") as f:
        f.write(lua)


def run_wrk(base, script, label):
    out = subprocess.run(["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{SECONDS}s", "--latency", "-s", script, base],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", out))
    errors = re.search(r"non2xx=(\d+) errors=(\d+)", out)
    say(f"  {label:<34} {rate:>9.0f} calls/s   p50 {pct.get('50', '?'):>8}  p99 {pct.get('99', '?'):>8}   "
        f"non-2xx {errors.group(1)}, socket errors {errors.group(2)}")
    return rate


async def python_client(base):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client
    async with streamablehttp_client(base + "/mcp", headers={"Authorization": f"Bearer {KEY}"}) as (r, w, _):
        async with ClientSession(r, w) as s:
            await s.initialize()
            for tool, args in [("whoami", {}), ("chat", {k: v for k, v in CHAT.items()})]:
                await s.call_tool(tool, args)
                started = time.perf_counter()
                for _ in range(PYTHON_CALLS):
                    result = await s.call_tool(tool, args)
                    assert not result.isError, result.content
                elapsed = time.perf_counter() - started
                say(f"  official Python client, {tool:<7} one at a time: {PYTHON_CALLS / elapsed:>6.0f} calls/s "
                    f"({elapsed / PYTHON_CALLS * 1e3:.2f} ms per call, the client's own cost included)")


def main():
    asgard, fake_bin = (os.path.abspath(p) for p in sys.argv[1:3])
    work = tempfile.mkdtemp(prefix="asgard-bench-mcp-")
    desired = os.path.join(work, "desired")
    shutil.copytree(os.path.join(ROOT, "desired"), desired)
    with open(os.path.join(desired, "keys", "bench.yaml"), "w") as f:
        f.write(f"kind: Key\nid: bench-agent\nproject: fraud-detection\ndigest: sha256:{__import__('hashlib').sha256(KEY.encode()).hexdigest()}\n"
                "allowed_models: [databricks/llama-3-3-70b]\nmax_data_class: internal\nrequests_per_minute: 1000000\n")
    with open(os.path.join(desired, "projects", "fraud-detection.yaml")) as f:
        text = f.read()
    with open(os.path.join(desired, "projects", "fraud-detection.yaml"), "w") as f:
        f.write(text.replace("monthly_budget_usd: 2500.00", "monthly_budget_usd: 1000000"))
    token = "dapi" + secrets.token_hex(16)
    environment = dict(os.environ, ASGARD_AUDIT_KEY=secrets.token_hex(32), DATABRICKS_TOKEN=token,
                       OPENAI_BASE_URL="http://127.0.0.1:9", OPENAI_API_KEY="unused", LITELLM_BASE_URL="http://127.0.0.1:9", LITELLM_API_KEY="unused")
    fake = subprocess.Popen([fake_bin, "--port", "0", "--token", token], stdout=subprocess.PIPE, text=True)
    server = None
    try:
        environment["DATABRICKS_HOST"] = fake.stdout.readline().strip()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(os.path.join(work, "serve.log"), "w")
        server = subprocess.Popen([asgard, "serve", desired, "--port", str(port), "--policies", os.path.join(ROOT, "policies"),
                                   "--data-dir", os.path.join(work, "data")], env=environment, stdout=log, stderr=log)
        for _ in range(600):
            try:
                if urllib.request.urlopen(base + "/healthz", timeout=2).status == 200:
                    break
            except Exception:
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        _, headers, _ = post(base + "/mcp", {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}, auth)
        session = {k.lower(): v for k, v in headers.items()}["mcp-session-id"]
        post(base + "/mcp", {"jsonrpc": "2.0", "method": "notifications/initialized"}, dict(auth, **{"Mcp-Session-Id": session}))
        mcp_headers = dict(auth, **{"Mcp-Session-Id": session})
        scripts = {
            "POST /v1/chat/completions": (wrk_script, "/v1/chat/completions", CHAT, auth, False),
            "MCP tools/call whoami": (wrk_script, "/mcp", {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "whoami", "arguments": {}}},
                                      mcp_headers, True),
            "MCP tools/call chat": (wrk_script, "/mcp", {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "chat", "arguments": CHAT}},
                                    mcp_headers, True),
        }
        for name, (make, path, body, headers, unique) in scripts.items():
            make(os.path.join(work, name.replace(" ", "_").replace("/", "_") + ".lua"), path, body, headers, unique)
        cpus = os.cpu_count()
        model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        say(f"MCP benchmark: {cpus} CPUs ({model}); wrk -t2 -c{CONNECTIONS} -d{SECONDS}s, closed loop; asgard and the fake on the same machine")
        for round_ in (1, 2):
            say(f"run {round_}:")
            for name in scripts:
                run_wrk(base, os.path.join(work, name.replace(" ", "_").replace("/", "_") + ".lua"), name)
        asyncio.run(python_client(base))
    finally:
        if server:
            server.terminate()
            server.wait()
        fake.terminate()
        fake.wait()
        with open(os.path.join(ROOT, ".build", "bench-mcp.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

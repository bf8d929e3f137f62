#!/usr/bin/env python3
"""The official OpenAI Python SDK as a hostile key holder against Asgard's /v1 (issue 13).

Usage: openai_sdk_attacks.py requests BASE_URL KEY TIGHT_KEY
       openai_sdk_attacks.py leave BASE_URL KEY
  KEY        a fraud-detection key (project classified confidential, which blocks secrets)
  TIGHT_KEY  a key of a project with a $0.05 budget
`requests`: fields the reservation once ignored, fields no manifest prices, secrets in fields
the guardrails once skipped, a lower declared data class. `leave` (run while the vendor is slow):
a streamed call whose client gives up before the response head is still settled and recorded.
Prints `N passed, M failed`; exits 1 on any failure.
"""
import json
import sys
import time
import urllib.request

import openai

mode, base = sys.argv[1:3]
passed = failed = 0
MODEL = "databricks/llama-3-3-70b"
SECRET = "sk-proj-" + "A1b2C3d4" * 6
messages = [{"role": "user", "content": "hello"}]


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def client(api_key, timeout=20):
    return openai.OpenAI(base_url=base + "/v1", api_key=api_key, max_retries=0, timeout=timeout)


def expect_error(name, status, code, call, param=None):
    try:
        call()
    except openai.APIStatusError as error:
        body = error.body if isinstance(error.body, dict) else {}
        check(name, error.status_code == status and body.get("code") == code and (param is None or body.get("param") == param),
              f"{error.status_code} {body}")
        check(name + " never echoes the secret", SECRET not in json.dumps(body), body)
        return
    except Exception as error:  # noqa: BLE001 - any other outcome is the failure being tested for
        check(name, False, f"raised {type(error).__name__}: {error}")
        return
    check(name, False, "the call succeeded")


if mode == "requests":
    key, tight_key = sys.argv[3:5]
    # A $0.05 budget: one completion with a 20,000-token cap fits ($0.03 at $1.50/M); `n` and
    # `max_completion_tokens` multiply or raise the worst case and are counted.
    reply = client(tight_key).chat.completions.create(model=MODEL, messages=messages, max_tokens=20_000)
    check("a call within the budget", reply.choices[0].message.content != "", reply)
    expect_error("n is reserved", 402, "budget_exceeded",
                 lambda: client(tight_key).chat.completions.create(model=MODEL, messages=messages, max_tokens=20_000, n=5))
    expect_error("max_completion_tokens is reserved", 402, "budget_exceeded",
                 lambda: client(tight_key).chat.completions.create(model=MODEL, messages=messages, max_completion_tokens=100_000))
    # Fields no manifest prices or bounds are refused, named.
    expect_error("service_tier is refused", 400, "invalid_request",
                 lambda: client(key).chat.completions.create(model=MODEL, messages=messages, service_tier="flex"), param="service_tier")
    expect_error("extra_params is refused", 400, "invalid_request",
                 lambda: client(key).chat.completions.create(model=MODEL, messages=messages, extra_body={"extra_params": {"n": 64}}),
                 param="extra_params")
    # Secrets where the guardrails once did not look, and a lower class declared to weaken them.
    expect_error("a secret in a message name", 400, "guardrail_blocked",
                 lambda: client(key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi", "name": SECRET}]))
    expect_error("a secret in user", 400, "guardrail_blocked",
                 lambda: client(key).chat.completions.create(model=MODEL, messages=messages, user=SECRET))
    expect_error("a secret in a content part", 400, "guardrail_blocked",
                 lambda: client(key).chat.completions.create(
                     model=MODEL, messages=[{"role": "user", "content": [{"type": "text", "text": "key: " + SECRET}]}]))
    expect_error("declaring public does not weaken block", 400, "guardrail_blocked",
                 lambda: client(key).chat.completions.create(
                     model=MODEL, messages=[{"role": "user", "content": "key: " + SECRET}], extra_headers={"X-Asgard-Data-Class": "public"}))
elif mode == "leave":
    key = sys.argv[3]
    try:
        for _ in client(key, timeout=0.5).chat.completions.create(model=MODEL, messages=messages, stream=True, max_tokens=300):
            pass
        check("the client gives up first", False, "the stream finished")
    except openai.APITimeoutError:
        check("the client gives up first", True)
    # The call is settled and recorded all the same (the project has no other call): the usage
    # API shows it, charged at the vendor's usage or, if the vendor never got to report it, the
    # worst case, estimated.
    recorded, usage = False, None
    for _ in range(100):
        request = urllib.request.Request(base + "/api/projects/fraud-detection/usage", headers={"Authorization": "Bearer " + key})
        try:
            usage = json.load(urllib.request.urlopen(request, timeout=20))["usage"]
        except OSError as error:  # 503 ledger_behind on a busy machine: ask again
            usage = str(error)
        else:
            if any(row["calls"] == 1 and row["cost_micros"] > 0 for row in usage):
                recorded = True
                break
        time.sleep(0.2)
    check("a client that left before the head is charged and recorded", recorded, usage)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

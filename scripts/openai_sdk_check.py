#!/usr/bin/env python3
"""The official OpenAI Python SDK against Asgard's /v1: a plain completion, the model list,
and each error class the gateway maps to.

Usage: openai_sdk_check.py BASE_URL KEY LIMITED_KEY BROKE_KEY
  KEY          a key allowed databricks/llama-3-3-70b, not openai/gpt-4o-mini
  LIMITED_KEY  a key limited to 1 request per minute
  BROKE_KEY    a key of a project whose budget cannot fit a call
Prints `N passed, M failed`; exits 1 on any failure.
"""
import sys

import openai

base, key, limited_key, broke_key = sys.argv[1:5]
passed = failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def client(api_key):
    return openai.OpenAI(base_url=base + "/v1", api_key=api_key, max_retries=0, timeout=20)


def expect_error(name, error_class, call, code=None, status=None):
    try:
        call()
    except error_class as error:
        body = error.body if isinstance(error.body, dict) else {}
        check(name, code is None or body.get("code") == code, f"code {body.get('code')!r}, expected {code!r}")
        check(name + " status", status is None or error.status_code == status, f"status {error.status_code}")
        return
    except Exception as error:  # noqa: BLE001 - any other class is the failure being tested for
        check(name, False, f"raised {type(error).__name__}: {error}")
        return
    check(name, False, "no error raised")


messages = [{"role": "user", "content": "hello from the OpenAI SDK"}]

reply = client(key).chat.completions.create(model="databricks/llama-3-3-70b", messages=messages)
check("plain completion", reply.choices[0].message.content.startswith("This is a deterministic answer"), reply)
check("usage reported", reply.usage is not None and reply.usage.completion_tokens > 0, reply.usage)

stream = client(key).chat.completions.create(model="databricks/llama-3-3-70b", messages=messages, stream=True,
                                            stream_options={"include_usage": True})
pieces, usage = [], None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
    if chunk.usage is not None:
        usage = chunk.usage
check("streamed text equals the plain completion", "".join(pieces) == reply.choices[0].message.content, "".join(pieces))
check("streamed usage", usage is not None and usage.completion_tokens == reply.usage.completion_tokens, usage)

models = [m.id for m in client(key).models.list()]
check("models list", models == ["databricks/llama-3-3-70b"], models)

expect_error("AuthenticationError", openai.AuthenticationError,
             lambda: client("asg_not_a_key").chat.completions.create(model="databricks/llama-3-3-70b", messages=messages),
             code="invalid_api_key", status=401)
expect_error("PermissionDeniedError", openai.PermissionDeniedError,
             lambda: client(key).chat.completions.create(model="openai/gpt-4o-mini", messages=messages),
             code="model_not_allowed", status=403)
expect_error("NotFoundError", openai.NotFoundError,
             lambda: client(key).chat.completions.create(model="databricks/no-such-model", messages=messages),
             code="model_not_found", status=404)
expect_error("BadRequestError", openai.BadRequestError,
             lambda: client(key).chat.completions.create(model="databricks/llama-3-3-70b", messages=[]),
             code="invalid_request", status=400)
client(limited_key).chat.completions.create(model="databricks/llama-3-3-70b", messages=messages)
expect_error("RateLimitError", openai.RateLimitError,
             lambda: client(limited_key).chat.completions.create(model="databricks/llama-3-3-70b", messages=messages),
             code="rate_limited", status=429)
expect_error("APIStatusError 402", openai.APIStatusError,
             lambda: client(broke_key).chat.completions.create(model="databricks/llama-3-3-70b", messages=messages),
             code="budget_exceeded", status=402)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

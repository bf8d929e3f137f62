#!/usr/bin/env python3
"""Checks the fake Databricks with the official Databricks SDK for Python as the client.

usage: databricks_sdk_check.py PORT TOKEN

Runs against http://127.0.0.1:PORT: queries (plain, max_tokens, usage_context, streaming
through the SDK's own HTTP client), listing and get, the endpoint lifecycle (create and wait,
list, query, patch tags, delete, then not found), and the errors the SDK must map to its
exception classes. Endpoints named sdk-check-429 and sdk-check-503, when the fake lists them,
are expected to always answer 429 and 503. Prints "N passed, M failed"; exits 1 on failure.
"""
import json
import sys
import traceback
from datetime import timedelta

from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import (
    BadRequest,
    InvalidParameterValue,
    NotFound,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    TemporarilyUnavailable,
    TooManyRequests,
    Unauthenticated,
)
from databricks.sdk.service.serving import (
    ChatMessage,
    ChatMessageRole,
    EndpointCoreConfigInput,
    EndpointStateConfigUpdate,
    EndpointStateReady,
    EndpointTag,
    ServedEntityInput,
)

LLAMA = "databricks-meta-llama-3-3-70b-instruct"
CREATED = "sdk-check-created"
REPLY_PREFIX = "This is a deterministic answer from "


def client(port, token, retry_timeout=1):
    # A short retry timeout: the SDK retries 429 and 503 for minutes by default.
    config = Config(
        host=f"http://127.0.0.1:{port}",
        token=token,
        auth_type="pat",
        retry_timeout_seconds=retry_timeout,
        http_timeout_seconds=30,
    )
    return WorkspaceClient(config=config)


def user(text):
    return [ChatMessage(role=ChatMessageRole.USER, content=text)]


def raises(kind, call):
    """Runs call and returns the error it raised, unwrapping the SDK's retry TimeoutError."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - we classify it below
        seen = error
        while not isinstance(seen, kind) and seen.__cause__ is not None:
            seen = seen.__cause__
        assert isinstance(seen, kind), f"expected {kind.__name__}, got {type(error).__name__}: {error}"
        return seen
    raise AssertionError(f"expected {kind.__name__}, nothing raised")


def main():
    port, token = sys.argv[1], sys.argv[2]
    w = client(port, token)
    results = []

    def check(name):
        def decorate(function):
            try:
                function()
                results.append((name, None))
            except Exception:  # noqa: BLE001 - every failure is reported
                results.append((name, traceback.format_exc()))
            return function

        return decorate

    @check("query returns a chat completion with usage and served-model-name")
    def _():
        response = w.serving_endpoints.query(name=LLAMA, messages=user("hello from the SDK"))
        assert response.object.value == "chat.completion", response.object
        assert response.id.startswith("chatcmpl-"), response.id
        assert response.model == "meta-llama-3.3-70b-instruct-121024", response.model
        assert response.served_model_name == LLAMA, response.served_model_name
        assert len(response.choices) == 1
        content = response.choices[0].message.content
        assert content.startswith(REPLY_PREFIX + LLAMA), content
        assert response.choices[0].message.role.value == "assistant"
        usage = response.usage
        assert usage.prompt_tokens == 4 + 1, usage  # "hello from the SDK": 4 words + 1
        assert usage.completion_tokens == len(content.split()), usage
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, usage

    @check("query is deterministic")
    def _():
        first = w.serving_endpoints.query(name=LLAMA, messages=user("same"))
        second = w.serving_endpoints.query(name=LLAMA, messages=user("same"))
        assert first.as_dict() == second.as_dict()

    @check("max_tokens, n and temperature are honoured")
    def _():
        response = w.serving_endpoints.query(name=LLAMA, messages=user("x"), max_tokens=3, n=2, temperature=0.0)
        assert [c.message.content for c in response.choices] == ["This is a", "This is a"], response.choices
        assert response.usage.completion_tokens == 6, response.usage

    @check("usage_context is accepted")
    def _():
        response = w.serving_endpoints.query(
            name="fraud-triage",
            messages=user("triage this transaction"),
            usage_context={"project": "fraud-detection"},
        )
        assert response.served_model_name == "fraud-triage-llm-1", response.served_model_name
        assert response.choices[0].message.content.startswith(REPLY_PREFIX + "fraud-triage")

    @check("streaming through the SDK's HTTP client yields SSE chunks, usage and [DONE]")
    def _():
        plain = w.serving_endpoints.query(name=LLAMA, messages=user("stream please"))
        raw = w.api_client.do(
            "POST",
            f"/serving-endpoints/{LLAMA}/invocations",
            body={
                "messages": [{"role": "user", "content": "stream please"}],
                "stream": True,
                "stream_options": {"include_usage": True},
            },
            headers={"Accept": "text/event-stream", "Content-Type": "application/json"},
            raw=True,
        )
        text = raw["contents"].read().decode("utf-8")
        frames = [line[len("data: "):] for line in text.split("\n") if line.startswith("data: ")]
        assert frames[-1] == "[DONE]", frames[-3:]
        chunks = [json.loads(frame) for frame in frames[:-1]]
        assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
        content = "".join(
            choice["delta"].get("content", "") for chunk in chunks for choice in chunk["choices"]
        )
        assert content == plain.choices[0].message.content, content
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        finishes = [choice["finish_reason"] for chunk in chunks for choice in chunk["choices"]]
        assert finishes[-1] == "stop" and all(f is None for f in finishes[:-1]), finishes
        assert chunks[-1]["usage"] == plain.usage.as_dict(), chunks[-1]

    @check("list returns the endpoints with state and tags")
    def _():
        endpoints = {e.name: e for e in w.serving_endpoints.list()}
        assert LLAMA in endpoints and "fraud-triage" in endpoints, sorted(endpoints)
        triage = endpoints["fraud-triage"]
        assert triage.state.ready == EndpointStateReady.READY, triage.state
        assert triage.state.config_update.value == "NOT_UPDATING", triage.state
        assert {t.key: t.value for t in triage.tags}["project"] == "fraud-detection", triage.tags
        assert triage.task == "llm/v1/chat"

    @check("get returns one endpoint")
    def _():
        endpoint = w.serving_endpoints.get(name="fraud-triage")
        assert endpoint.name == "fraud-triage"
        assert endpoint.state.ready == EndpointStateReady.READY

    @check("create_and_wait makes a ready endpoint that lists, queries, retags and deletes")
    def _():
        entity = ServedEntityInput(
            entity_name="system.ai.llama_v3_2_3b_instruct",
            entity_version="2",
            workload_size="Small",
            scale_to_zero_enabled=True,
        )
        created = w.serving_endpoints.create_and_wait(
            name=CREATED,
            config=EndpointCoreConfigInput(name=CREATED, served_entities=[entity]),
            tags=[EndpointTag(key="project", value="fraud-detection"), EndpointTag(key="team", value="risk")],
            timeout=timedelta(seconds=30),
        )
        assert created.name == CREATED, created.name
        assert created.state.ready == EndpointStateReady.READY, created.state
        assert created.state.config_update == EndpointStateConfigUpdate.NOT_UPDATING, created.state
        served = created.config.served_entities[0]
        assert (served.entity_name, served.entity_version, served.workload_size, served.scale_to_zero_enabled) == (
            "system.ai.llama_v3_2_3b_instruct",
            "2",
            "Small",
            True,
        ), served
        assert {t.key: t.value for t in created.tags} == {"project": "fraud-detection", "team": "risk"}, created.tags

        listed = {e.name: e for e in w.serving_endpoints.list()}
        assert CREATED in listed, sorted(listed)
        assert listed[CREATED].id == created.id, (listed[CREATED].id, created.id)

        response = w.serving_endpoints.query(name=CREATED, messages=user("hello new endpoint"))
        assert response.choices[0].message.content.startswith(REPLY_PREFIX + CREATED), response.choices
        assert response.served_model_name == served.name, response.served_model_name

        error = raises(ResourceAlreadyExists, lambda: w.serving_endpoints.create(name=CREATED))
        assert error.error_code == "RESOURCE_ALREADY_EXISTS", error.error_code

        patched = w.serving_endpoints.patch(
            name=CREATED, add_tags=[EndpointTag(key="owner", value="maria")], delete_tags=["team"]
        )
        assert [(t.key, t.value) for t in patched.tags] == [("project", "fraud-detection"), ("owner", "maria")], patched
        again = w.serving_endpoints.get(name=CREATED)
        assert {t.key: t.value for t in again.tags} == {"project": "fraud-detection", "owner": "maria"}, again.tags

        w.serving_endpoints.delete(name=CREATED)
        raises(ResourceDoesNotExist, lambda: w.serving_endpoints.get(name=CREATED))
        raises(ResourceDoesNotExist, lambda: w.serving_endpoints.delete(name=CREATED))
        raises(ResourceDoesNotExist, lambda: w.serving_endpoints.patch(name=CREATED, delete_tags=["owner"]))
        assert CREATED not in {e.name for e in w.serving_endpoints.list()}

    @check("a bad endpoint name raises InvalidParameterValue")
    def _():
        error = raises(BadRequest, lambda: w.serving_endpoints.create(name="not a valid name"))
        assert isinstance(error, InvalidParameterValue), type(error)

    @check("an unknown endpoint raises NotFound (RESOURCE_DOES_NOT_EXIST)")
    def _():
        error = raises(NotFound, lambda: w.serving_endpoints.query(name="no-such-endpoint", messages=user("x")))
        assert isinstance(error, ResourceDoesNotExist), type(error)
        assert error.error_code == "RESOURCE_DOES_NOT_EXIST", error.error_code
        raises(ResourceDoesNotExist, lambda: w.serving_endpoints.get(name="no-such-endpoint"))

    @check("a bad temperature raises InvalidParameterValue")
    def _():
        error = raises(BadRequest, lambda: w.serving_endpoints.query(name=LLAMA, messages=user("x"), temperature=3.0))
        assert isinstance(error, InvalidParameterValue), type(error)

    @check("a wrong token raises Unauthenticated")
    def _():
        bad = client(port, token + "-wrong")
        raises(Unauthenticated, lambda: list(bad.serving_endpoints.list()))
        raises(Unauthenticated, lambda: bad.serving_endpoints.query(name=LLAMA, messages=user("x")))

    names = {e.name for e in w.serving_endpoints.list()}
    if "sdk-check-429" in names:

        @check("429 REQUEST_LIMIT_EXCEEDED raises TooManyRequests after a short retry")
        def _():
            error = raises(TooManyRequests, lambda: w.serving_endpoints.query(name="sdk-check-429", messages=user("x")))
            assert error.error_code == "REQUEST_LIMIT_EXCEEDED", error.error_code

    if "sdk-check-503" in names:

        @check("503 raises TemporarilyUnavailable after a short retry")
        def _():
            raises(TemporarilyUnavailable, lambda: w.serving_endpoints.query(name="sdk-check-503", messages=user("x")))

    failed = [(name, trace) for name, trace in results if trace]
    for name, trace in results:
        print(("ok   " if trace is None else "FAIL ") + name)
    for name, trace in failed:
        print(f"\n--- {name}\n{trace}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main())

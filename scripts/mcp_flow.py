"""The MCP acceptance flow, with the official Python `mcp` client over streamable HTTP.

Run by `make test` (Tests/AsgardCLITests/MCPFlowTests.swift) against `asgard serve` with the
terraform doubles and the fake Databricks. Every check raises on failure; the last line printed
is a JSON summary the Swift test reads.

usage: mcp_flow.py BASE_URL AGENT_KEY EXPIRED_KEY APPROVER_SECRET OTHER_APPROVER_SECRET
  AGENT_KEY: a key of project fraud-detection allowed databricks/llama-3-3-70b
  APPROVER_SECRET: lars.berg@example.com (approver of fraud-detection, admin)
  OTHER_APPROVER_SECRET: priya.natarajan@example.com (approver of fraud-detection)
"""

import asyncio
import json
import re
import sys
import time

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from mcp.shared.exceptions import McpError

INVALID_PARAMS = -32602
HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def unauthenticated(base, expired_key):
    """401 with WWW-Authenticate naming the RFC 9728 metadata, and the metadata itself."""
    url = base + "/mcp"
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    seen = {}
    for name, token in [("none", None), ("bad", "asg_not_a_key_at_all"), ("expired", expired_key)]:
        h = dict(headers)
        if token:
            h["Authorization"] = f"Bearer {token}"
        r = httpx.post(url, json=body, headers=h)
        check(r.status_code == 401, f"{name} token: status {r.status_code} {r.text}")
        challenge = r.headers.get("www-authenticate", "")
        m = re.match(r'Bearer resource_metadata="([^"]+)"', challenge)
        check(m is not None, f"{name} token: WWW-Authenticate is {challenge!r}")
        if token:
            check('error="invalid_token"' in challenge, f"{name} token: {challenge!r}")
        seen[name] = challenge
        metadata_url = m.group(1)
        check(metadata_url == base + "/.well-known/oauth-protected-resource/mcp", metadata_url)
    check("expired" in seen["expired"], seen["expired"])
    for path, resource in [("/.well-known/oauth-protected-resource/mcp", base + "/mcp"),
                           ("/.well-known/oauth-protected-resource", base)]:
        r = httpx.get(base + path)
        check(r.status_code == 200 and r.headers["content-type"].startswith("application/json"), f"{path}: {r.status_code}")
        document = r.json()
        check(document["resource"] == resource, f"{path}: resource {document['resource']}")
        check(document["bearer_methods_supported"] == ["header"], f"{path}: {document}")
    return seen


def bad_values(schema):
    """Values that break `schema`, each with what it breaks."""
    kind = schema.get("type")
    wrong = {"string": 12345, "integer": "seven", "boolean": "yes", "array": "not a list", "object": 5}
    values = [wrong.get(kind if isinstance(kind, str) else "object", None)]
    if "enum" in schema:
        values.append("not-one-of-them")
    if "pattern" in schema:
        values.append("Not An Id!")
    if kind == "integer":
        values.append(schema.get("maximum", 10) + 1)
    if kind == "string":
        values.append("")
        values.append("x" * (schema.get("maxLength", 256) + 1))
    if kind == "array":
        values.append(["x"] * (schema.get("maxItems", 10) + 1))
    return [v for v in values if v is not None]


def valid_value(schema):
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "string":
        if "pattern" in schema and "apr_" in schema["pattern"]:
            return "apr_0000000000000000"
        if "pattern" in schema and "req_" in schema["pattern"]:
            return "req_0000000000000000"
        if "pattern" in schema and "[0-9]{4}" in schema["pattern"]:
            return "2026-12-01"
        if "pattern" in schema and "\\." in schema["pattern"]:
            return "100.00"
        if "email" in schema.get("description", "").lower():
            return "maria.silva@example.com"
        return "fraud-detection"
    if kind == "integer":
        return schema.get("minimum", 0)
    if kind == "boolean":
        return True
    if kind == "array":
        return [valid_value(schema["items"])] * max(1, schema.get("minItems", 0))
    if kind == "object":
        return {k: valid_value(v) for k, v in schema.get("properties", {}).items() if k in schema.get("required", [])}
    return None


def invalid_calls(tools):
    """For every tool: an unknown argument, each required one missing, each one of a wrong kind."""
    for tool in tools:
        schema = tool.inputSchema
        base = valid_value(schema)
        yield tool.name, "extra", dict(base, surely_not_an_argument=1)
        for name in schema.get("required", []):
            args = dict(base)
            del args[name]
            yield tool.name, name, args
        for name, prop in schema.get("properties", {}).items():
            for value in bad_values(prop):
                yield tool.name, name, dict(base, **{name: value})


async def session(base, token):
    return streamablehttp_client(base + "/mcp", headers={"Authorization": f"Bearer {token}"})


async def call(s, name, args=None):
    result = await s.call_tool(name, args or {})
    return result


async def until(s, name, args, predicate, what, seconds=120):
    deadline = time.monotonic() + seconds
    while True:
        result = await s.call_tool(name, args)
        check(not result.isError, f"{name}: {result.content}")
        if predicate(result.structuredContent):
            return result.structuredContent
        check(time.monotonic() < deadline, f"timed out waiting for {what}: {result.structuredContent}")
        await asyncio.sleep(0.5)


async def main(base, agent_key, expired_key, lars, priya):
    summary = {"challenges": unauthenticated(base, expired_key)}

    async with streamablehttp_client(base + "/mcp", headers={"Authorization": f"Bearer {agent_key}"}) as (r, w, _):
        async with ClientSession(r, w) as agent:
            init = await agent.initialize()
            check(init.protocolVersion == "2025-11-25", init.protocolVersion)
            listed = (await agent.list_tools()).tools
            names = sorted(t.name for t in listed)
            check(len(names) == 15, names)
            for tool in listed:
                check(tool.inputSchema.get("type") == "object", tool.name)
                check(tool.outputSchema and tool.outputSchema.get("type") == "object", tool.name)
                check(tool.title, tool.name)
                hints = tool.annotations.model_dump() if tool.annotations else {}
                check(all(hints.get(h) is not None for h in HINTS), f"{tool.name}: {hints}")
            summary["tools"] = names

            who = (await call(agent, "whoami")).structuredContent
            check(who["kind"] == "key" and who["project"] == "fraud-detection", who)

            # Invalid arguments, generated from the input schemas: invalid params, naming the field.
            invalid = 0
            for tool, field, args in invalid_calls(listed):
                try:
                    result = await agent.call_tool(tool, args)
                except McpError as error:
                    check(error.error.code == INVALID_PARAMS, f"{tool} {field}: {error.error}")
                    check(field in error.error.message or field == "extra" and "surely_not_an_argument" in error.error.message,
                          f"{tool} {field}: {error.error.message}")
                    check("Swift" not in error.error.message and "Error(" not in error.error.message, error.error.message)
                    invalid += 1
                    continue
                raise AssertionError(f"{tool} with bad {field} {args}: no invalid-params error: {result}")
            summary["invalid_params"] = invalid

            # The auto tier: the volume is applied through the terraform double.
            volume = (await call(agent, "request_resource", {
                "project": "fraud-detection", "service": "databricks-uc-volume", "id": "agent-volume",
                "parameters": {"catalog": "main", "schema": "agent_features", "volume": "raw"}, "wait_seconds": 25})).structuredContent
            check(volume["tier"] == "auto" and volume["gate"]["decision"] == "allowed", volume)
            volume = await until(agent, "get_request", {"request_id": volume["request_id"]},
                                 lambda v: v["object_status"] == "applied", "the volume to be applied")
            check(volume["applied_plan"], volume)
            summary["volume"] = volume["request_id"]

            # The human tier: an approval id comes back, and the key cannot decide it.
            warehouse = (await call(agent, "request_resource", {
                "project": "fraud-detection", "service": "databricks-sql-warehouse", "id": "agent-warehouse",
                "parameters": {"cluster_size": "2X-Small", "auto_stop_mins": 10, "max_num_clusters": 1}, "wait_seconds": 25})).structuredContent
            check(warehouse["tier"] == "human", warehouse)
            warehouse = await until(agent, "get_request", {"request_id": warehouse["request_id"]},
                                    lambda v: v["approval"] and v["approval"]["status"] == "pending", "the warehouse's approval")
            approval = warehouse["approval"]
            check(approval["requested_by"] == "Key/fraud-scoring-agent" or approval["requested_by"].startswith("Key/"), approval)
            refused = await call(agent, "approve", {"approval_id": approval["id"]})
            check(refused.isError and "Cedar denied approve" in refused.content[0].text, refused.content)
            summary["warehouse_approval"] = approval["id"]

            # A key cannot pull a kill switch, nor act for another project.
            check((await call(agent, "kill", {"scope": "global", "reason": "x"})).isError, "kill by a key")
            other = await call(agent, "get_budget", {"project": "marketing-copy"})
            check(other.isError and "Cedar denied get_budget" in other.content[0].text, other.content)

            # An agent proposes a project: pending, human tier, never active by itself.
            proposal = (await call(agent, "register_project", {
                "id": "agent-labs", "name": "Agent Labs", "owner": "maria.silva@example.com", "classification": "internal",
                "monthly_budget_usd": "100.00", "approvers": ["priya.natarajan@example.com"]})).structuredContent
            check(proposal["approval"]["status"] == "pending" and proposal["tier"] == "human", proposal)
            summary["proposal"] = proposal["request_id"]

            # chat: a completion and its ledger row; get_costs shows it.
            answer = await call(agent, "chat", {"model": "databricks/llama-3-3-70b",
                                               "messages": [{"role": "user", "content": "Score this transaction."}]})
            check(not answer.isError, answer.content)
            chat = answer.structuredContent
            check(chat["content"] and chat["ledger"] and chat["ledger"]["request_id"] == chat["request_id"], chat)
            check(chat["ledger"]["project"] == "fraud-detection" and int(chat["ledger"]["completion_tokens"]) > 0, chat)
            summary["chat"] = chat
            costs = (await call(agent, "get_costs", {})).structuredContent
            today = time.strftime("%Y-%m-%d", time.gmtime())
            gateway = [l for l in costs["lines"] if l["source"] == "gateway" and l["vendor"] == "databricks" and l["day"] == today]
            check(gateway and gateway[0]["measurement"] == "measured", costs["lines"])
            from decimal import Decimal
            check(Decimal(gateway[0]["amount_usd"]) >= Decimal(chat["ledger"]["cost_usd"]) > 0, (gateway, chat["ledger"]))
            summary["gateway_cost_today"] = gateway[0]["amount_usd"]

    # People: a person's own request is never theirs to approve; another approver's is.
    async with streamablehttp_client(base + "/mcp", headers={"Authorization": f"Bearer {lars}"}) as (r, w, _):
        async with ClientSession(r, w) as person:
            await person.initialize()
            mine = (await call(person, "request_resource", {
                "project": "fraud-detection", "service": "databricks-sql-warehouse", "id": "lars-warehouse",
                "parameters": {"cluster_size": "2X-Small", "auto_stop_mins": 10, "max_num_clusters": 1}, "wait_seconds": 25})).structuredContent
            mine = await until(person, "get_request", {"request_id": mine["request_id"]},
                               lambda v: v["approval"] and v["approval"]["status"] == "pending", "lars's approval")
            own = await call(person, "approve", {"approval_id": mine["approval"]["id"]})
            check(own.isError and "requester-never-approves" in own.content[0].text, own.content)
            # Lars approves the agent's warehouse: the next pass applies exactly that plan.
            decided = await call(person, "approve", {"approval_id": summary["warehouse_approval"]})
            check(not decided.isError and decided.structuredContent["approval"]["status"] == "approved", decided.content)
            plan = decided.structuredContent["approval"]["plan_digest"]
            applied = await until(person, "get_request", {"request_id": warehouse["request_id"]},
                                  lambda v: v["object_status"] == "applied", "the approved warehouse to be applied")
            check(applied["applied_plan"] == plan, (applied["applied_plan"], plan))
            # Lars is an admin: he decides the agent's project proposal.
            decided = await call(person, "approve", {"approval_id": proposal["approval"]["id"]})
            check(not decided.isError, decided.content)
            project = await until(person, "get_request", {"request_id": summary["proposal"]},
                                  lambda v: v["object_status"] == "applied", "the proposed project to be applied")
            # Cancel lars's own pending warehouse: the request is cancelled, its approval void.
            cancelled = (await call(person, "cancel_request", {"request_id": mine["request_id"], "reason": "not needed"})).structuredContent
            check(cancelled["status"] == "cancelled", cancelled)
            summary["cancelled"] = mine["request_id"]

    async with streamablehttp_client(base + "/mcp", headers={"Authorization": f"Bearer {priya}"}) as (r, w, _):
        async with ClientSession(r, w) as person:
            await person.initialize()
            pending = (await call(person, "list_approvals", {"project": "fraud-detection"})).structuredContent["approvals"]
            check(all(a["status"] == "pending" for a in pending), pending)
            # A person who is no admin cannot pull a kill switch.
            check((await call(person, "kill", {"scope": "project", "id": "fraud-detection", "reason": "x"})).isError, "kill by priya")

    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))

#!/usr/bin/env python3
"""Runs a statement (the cost query Asgard's databricks-billing source sends, given by the test)
through the official Databricks SDK for Python against the fake's Statement Execution API.

usage: databricks_sql_check.py URL TOKEN WAREHOUSE_ID STATEMENT FROM_DAY TO_DAY

Executes STATEMENT, with FROM_DAY and TO_DAY as the named parameters from_day and to_day, with wait_timeout "0s" (so the answer is PENDING), polls
get_statement until the statement ends, reads the first chunk from the statement and every
further chunk with get_statement_result_chunk_n following next_chunk_index, then checks the SDK's
own errors: an unknown statement id raises NotFound, a bad statement ends FAILED. Prints one JSON
object on the last line: {"state", "columns", "rows", "chunks_fetched", "total_chunk_count",
"failed_state", "failed_sql_state", "not_found"}. Exits 1 when the SDK raised unexpectedly.
"""
import json
import os
import sys
import time

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.sql import StatementParameterListItem, StatementState

TERMINAL = {StatementState.SUCCEEDED, StatementState.FAILED, StatementState.CANCELED, StatementState.CLOSED}


def wait(w, response):
    deadline = time.monotonic() + 60
    while response.status.state not in TERMINAL:
        if time.monotonic() > deadline:
            raise AssertionError(f"statement {response.statement_id} still {response.status.state} after 60 s")
        time.sleep(0.05)
        response = w.statement_execution.get_statement(response.statement_id)
    return response


def main():
    url, token, warehouse, statement, from_day, to_day = sys.argv[1:7]
    os.environ.pop("DATABRICKS_CONFIG_PROFILE", None)
    w = WorkspaceClient(host=url, token=token, auth_type="pat")
    sql = w.statement_execution

    first = sql.execute_statement(
        warehouse_id=warehouse,
        statement=statement,
        parameters=[
            StatementParameterListItem(name="from_day", value=from_day),
            StatementParameterListItem(name="to_day", value=to_day),
        ],
        wait_timeout="0s",
    )
    assert first.status.state == StatementState.PENDING, f"wait_timeout 0s answered {first.status.state}"
    done = wait(w, first)
    assert done.status.state == StatementState.SUCCEEDED, f"statement ended {done.status.state}: {done.status.error}"
    columns = [[c.name, c.type_name.value if c.type_name else None, c.type_text] for c in done.manifest.schema.columns]
    rows = list(done.result.data_array or [])
    chunks_fetched = 1
    next_index = done.result.next_chunk_index
    while next_index is not None:
        chunk = sql.get_statement_result_chunk_n(done.statement_id, next_index)
        assert chunk.chunk_index == next_index, f"asked chunk {next_index}, got {chunk.chunk_index}"
        rows.extend(chunk.data_array or [])
        chunks_fetched += 1
        next_index = chunk.next_chunk_index

    failed = sql.execute_statement(warehouse_id=warehouse, statement="SELECT nope FROM system.billing.usage", wait_timeout="5s")
    failed = wait(w, failed)

    try:
        sql.get_statement("00000000-0000-0000-0000-000000000000")
        not_found = False
    except NotFound:
        not_found = True

    print(json.dumps({
        "state": done.status.state.value,
        "columns": columns,
        "rows": rows,
        "chunks_fetched": chunks_fetched,
        "total_chunk_count": done.manifest.total_chunk_count,
        "total_row_count": done.manifest.total_row_count,
        "failed_state": failed.status.state.value,
        "failed_sql_state": failed.status.sql_state,
        "not_found": not_found,
    }))


if __name__ == "__main__":
    main()

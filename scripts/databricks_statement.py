"""Runs one SQL statement through the official databricks-sdk's Statement Execution API and prints
its rows as tab-separated lines: the oracle the cost tests compare Asgard's rollup with.

usage: databricks_statement.py HOST TOKEN WAREHOUSE_ID STATEMENT FROM_DAY TO_DAY
"""
import sys
import time

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import StatementParameterListItem, StatementState


def main() -> None:
    host, token, warehouse, statement, from_day, to_day = sys.argv[1:7]
    client = WorkspaceClient(host=host, token=token, auth_type="pat")
    api = client.statement_execution
    response = api.execute_statement(
        warehouse_id=warehouse,
        statement=statement,
        parameters=[
            StatementParameterListItem(name="from_day", value=from_day),
            StatementParameterListItem(name="to_day", value=to_day),
        ],
        wait_timeout="0s",
    )
    deadline = time.monotonic() + 60
    while response.status.state in (StatementState.PENDING, StatementState.RUNNING):
        if time.monotonic() > deadline:
            sys.exit("the statement did not finish within 60 s")
        time.sleep(0.2)
        response = api.get_statement(response.statement_id)
    if response.status.state != StatementState.SUCCEEDED:
        sys.exit(f"the statement ended {response.status.state}: {response.status.error}")
    rows = []
    chunk = response.result
    while chunk is not None:
        rows.extend(chunk.data_array or [])
        if chunk.next_chunk_index is None:
            break
        chunk = api.get_statement_result_chunk_n(response.statement_id, chunk.next_chunk_index)
    for row in rows:
        print("\t".join("" if value is None else value for value in row))


if __name__ == "__main__":
    main()

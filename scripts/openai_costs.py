"""Reads the organization's costs through the official openai SDK (`admin.organization.usage.costs`),
following `next_page`, and prints each project's exact daily sum as tab-separated lines
(`project_id  YYYY-MM-DD  amount`): the oracle the cost tests compare Asgard's figures with.

The SDK's models hold amounts as floats, so the sums are taken from the raw JSON with Decimal.

usage: openai_costs.py BASE_URL ADMIN_KEY START_TIME END_TIME LIMIT
"""
import datetime
import decimal
import json
import sys

from openai import OpenAI


def main() -> None:
    base_url, admin_key, start, end, limit = sys.argv[1:6]
    client = OpenAI(base_url=base_url.rstrip("/") + "/v1", api_key="unused", admin_api_key=admin_key)
    usage = client.admin.organization.usage
    sums: dict[tuple[str, str], decimal.Decimal] = {}
    page = None
    pages = 0
    while True:
        arguments = dict(start_time=int(start), end_time=int(end), bucket_width="1d", group_by=["project_id"], limit=int(limit))
        if page is not None:
            arguments["page"] = page
        raw = usage.with_raw_response.costs(**arguments)
        parsed = raw.parse()  # the SDK's own model: fails on a shape it does not know
        body = json.loads(raw.http_response.text, parse_float=decimal.Decimal)
        pages += 1
        for bucket in body["data"]:
            day = datetime.datetime.fromtimestamp(bucket["start_time"], datetime.timezone.utc).date().isoformat()
            for result in bucket["results"]:
                if result["project_id"] is not None and result["amount"]["currency"] == "usd":
                    key = (result["project_id"], day)
                    sums[key] = sums.get(key, decimal.Decimal(0)) + decimal.Decimal(result["amount"]["value"])
        if not parsed.has_more:
            break
        page = parsed.next_page
    print(f"pages\t{pages}")
    for (project, day), amount in sorted(sums.items()):
        print(f"{project}\t{day}\t{amount}")


if __name__ == "__main__":
    main()

"""boto3 against the same moto Athena the Rust adapter used: proves the stand-in speaks
Athena's real protocol, and reads back what the adapter ran.

argv[1]: the moto URL. Prints JSON: {"queries": [[state, query], ...], "boto3_rows": [...]}.
"""
import json
import sys
import urllib.request

import boto3

url = sys.argv[1]
athena = boto3.client(
    "athena", endpoint_url=url, region_name="us-east-1",
    aws_access_key_id="AKIDLOCAL", aws_secret_access_key="local-secret",
)
# Every query the adapter started, oldest first, with the state it ended in.
ids = athena.list_query_executions(WorkGroup="primary")["QueryExecutionIds"]
executions = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
queries = sorted(
    ([e["Status"]["State"], e["Query"], e["Status"].get("SubmissionDateTime", "").isoformat()
      if hasattr(e["Status"].get("SubmissionDateTime", ""), "isoformat") else ""] for e in executions),
    key=lambda q: q[2],
)
# boto3's own round trip: seed one result, start a query, read it back through GetQueryResults.
body = json.dumps({"results": [{"rows": [{"Data": [{"VarCharValue": "did"}]},
                                         {"Data": [{"VarCharValue": "did:plc:boto3"}]}]}]}).encode()
request = urllib.request.Request(f"{url}/moto-api/static/athena/query-results", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
urllib.request.urlopen(request).read()
started = athena.start_query_execution(QueryString="SELECT did FROM lake.account_purges", WorkGroup="primary")
rows = athena.get_query_results(QueryExecutionId=started["QueryExecutionId"])["ResultSet"]["Rows"]
print(json.dumps({"queries": [q[:2] for q in queries],
                  "boto3_rows": [[d.get("VarCharValue") for d in r["Data"]] for r in rows]}))

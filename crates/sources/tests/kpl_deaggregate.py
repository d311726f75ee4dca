"""Independent oracle for ks-producer's KPL aggregation: de-aggregates Kinesis records with PyPI
aws-kinesis-agg (pinned in requirements-dev.txt) and prints the user records.

stdin:  JSON list of {"PartitionKey", "SequenceNumber", "Data" (base64)} as read from the stream.
stdout: JSON list of {"partitionKey", "data" (base64), "aggregated"} in stream order.
"""

import json
import pathlib
import sys

# The oracle's one copy lives with the end-to-end check's, in the workspace's .ci/.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / ".ci"))
import kpl_oracle  # noqa: E402


def main() -> None:
    records = json.load(sys.stdin)
    out = []
    for user in kpl_oracle.deaggregate(records, lambda r: r["Data"]):
        k = user["kinesis"]
        data = k["data"]
        if isinstance(data, bytes):
            data = data.decode("ascii")
        out.append({"partitionKey": k["partitionKey"], "data": data, "aggregated": bool(k.get("aggregated", False))})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

"""Independent oracle for ks-producer's KPL aggregation: de-aggregates Kinesis records with PyPI
aws-kinesis-agg (pinned in requirements-dev.txt) and prints the user records.

stdin:  JSON list of {"PartitionKey", "SequenceNumber", "Data" (base64)} as read from the stream.
stdout: JSON list of {"partitionKey", "data" (base64), "aggregated"} in stream order.
"""

import json
import sys

from aws_kinesis_agg.deaggregator import deaggregate_records


def main() -> None:
    records = json.load(sys.stdin)
    wrapped = [
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "sequenceNumber": r["SequenceNumber"],
                "partitionKey": r["PartitionKey"],
                "approximateArrivalTimestamp": 0,
                "data": r["Data"],
            }
        }
        for r in records
    ]
    out = []
    for user in deaggregate_records(wrapped):
        k = user["kinesis"]
        data = k["data"]
        if isinstance(data, bytes):
            data = data.decode("ascii")
        out.append({"partitionKey": k["partitionKey"], "data": data, "aggregated": bool(k.get("aggregated", False))})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

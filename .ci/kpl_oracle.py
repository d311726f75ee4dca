"""KPL de-aggregation by PyPI aws-kinesis-agg, the independent oracle the end-to-end check
(.ci/e2e_check.py) and the producer's aggregation test (crates/sources/tests/kpl_deaggregate.py)
share: one copy of wrapping stream records as the Lambda event records the library reads.
"""

from aws_kinesis_agg.deaggregator import deaggregate_records


def deaggregate(records, data_b64):
    """The user records inside `records` (GetRecords' `SequenceNumber`, `PartitionKey`), as
    aws-kinesis-agg yields them (Lambda event records, data base64); `data_b64(record)` gives a
    record's data as base64 text."""
    wrapped = [
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "sequenceNumber": r["SequenceNumber"],
                "partitionKey": r["PartitionKey"],
                "approximateArrivalTimestamp": 0,
                "data": data_b64(r),
            }
        }
        for r in records
    ]
    return deaggregate_records(wrapped)

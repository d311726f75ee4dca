"""The end-to-end test's independent side (.ci/e2e.sh): boto3 and PyPI aws-kinesis-agg, not
the project's code, create the resources, put the bad records, and read everything back.

  setup                     the stream (2 shards), the bucket, the producer's cursor table
  put-bad                   puts records the pipeline must fail (written to $E2E_BAD)
  check PREFIX:DS:MODEL...  every good record of the stream is in s3://$E2E_BUCKET/PREFIX
                            exactly once, NDJSON with a sentiment from MODEL, under keys with
                            Firehose's layout for delivery stream DS; every bad record is in
                            PREFIXprocessing-failed/ exactly once, as a Firehose error record.
                            MODEL "none": the function never answered, so every record must
                            be an error record (Lambda.FunctionError) and none delivered.
"""

import base64
import collections
import hashlib
import json
import os
import re
import sys

import boto3

import kpl_oracle  # .ci/, beside this script

URL = os.environ["AWS_ENDPOINT_URL"]
STREAM = os.environ["E2E_STREAM"]
BUCKET = os.environ["E2E_BUCKET"]
BAD = os.environ["E2E_BAD"]
LABELS = {"POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"}
ERROR_FIELDS = {
    "attemptsMade",
    "arrivalTimestamp",
    "errorCode",
    "errorMessage",
    "attemptEndingTimestamp",
    "rawData",
    "lambdaArn",
}
KPL_MAGIC = b"\xf3\x89\x9a\xc2"

kinesis = boto3.client("kinesis", endpoint_url=URL)
s3 = boto3.client("s3", endpoint_url=URL)


# The languages ks-lexicon scores (ks_lexicon::LANGUAGES).
LEXICON_LANGUAGES = ("en", "pt", "fr", "es", "de", "it", "nl", "ja")


def fail(msg):
    print(f"e2e check FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def setup():
    kinesis.create_stream(StreamName=STREAM, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 1})
    s3.create_bucket(Bucket=BUCKET)
    boto3.client("dynamodb", endpoint_url=URL).create_table(
        TableName="stream-producer-cursors",
        AttributeDefinitions=[{"AttributeName": "source", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "source", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def put_bad():
    # Not JSON; truncated JSON; invalid UTF-8; a KPL aggregate whose checksum is wrong.
    bad = [
        b"this is not json",
        b'{"id":"bad-1","text":"truncated',
        b'{"id":"bad-2","text":"\xff\xfe"}',
        KPL_MAGIC + b"\x0a\x03pk0\x1a\x05\x08\x00\x1a\x01x" + hashlib.md5(b"other").digest(),
    ]
    for i, data in enumerate(bad):
        kinesis.put_record(StreamName=STREAM, Data=data, PartitionKey=f"bad-{i}")
    with open(BAD, "w") as f:
        json.dump([base64.b64encode(b).decode() for b in bad], f)
    print(f"   put {len(bad)} bad records straight into the stream")


def stream_records():
    """Every user record in the stream, de-aggregated by aws-kinesis-agg."""
    out = []
    for shard in kinesis.list_shards(StreamName=STREAM)["Shards"]:
        it = kinesis.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            page = kinesis.get_records(ShardIterator=it, Limit=10000)
            if not page["Records"]:
                break
            users = kpl_oracle.deaggregate(
                page["Records"], lambda r: base64.b64encode(r["Data"]).decode()
            )
            out += [base64.b64decode(u["kinesis"]["data"]) for u in users]
            it = page.get("NextShardIterator")
    return out


def objects(prefix):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def check(spec, records, bad):
    prefix, ds, model = spec.split(":", 2)
    good = [r for r in records if r not in bad]
    codes = collections.Counter()
    if model == "none":
        good, bad = [], records
    key_re = re.compile(
        r"^(processing-failed/|deletions/)?(\d{4})/(\d\d)/(\d\d)/(\d\d)/"
        + re.escape(ds)
        + r"-1-(\d{4})-(\d\d)-(\d\d)-(\d\d)-\d\d-\d\d-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
    )
    delivered = collections.Counter()
    failed = collections.Counter()
    labels = collections.Counter()
    keys = objects(prefix)
    if not keys:
        fail(f"nothing under s3://{BUCKET}/{prefix}")
    for key in keys:
        rel = key[len(prefix):]
        m = key_re.match(rel)
        if not m:
            fail(f"s3://{BUCKET}/{key} does not have Firehose's key layout for {ds}")
        if m.group(2, 3, 4, 5) != m.group(6, 7, 8, 9):
            fail(f"{key}: the folder's hour is not the object's")
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        if not body.endswith(b"\n"):
            fail(f"{key}: not newline-terminated NDJSON")
        for line in body.split(b"\n")[:-1]:
            if m.group(1) == "deletions/":
                # Deletion and account records: unscored, byte for byte, in their own area.
                if json.loads(line).get("op") not in ("delete", "account"):
                    fail(f"{key}: not a deletion record: {line[:200]!r}")
                labels["deletion records"] += 1
                delivered[line] += 1
                continue
            if m.group(1):
                e = json.loads(line)
                if set(e) != ERROR_FIELDS:
                    fail(f"{key}: error record fields {sorted(e)}")
                failed[base64.b64decode(e["rawData"])] += 1
                codes[e["errorCode"]] += 1
                continue
            value = json.loads(line)
            s = value.pop("sentiment", None)
            lang = value.get("lang", "en")[:2].lower()
            if s is None and model == "lexicon" and lang not in LEXICON_LANGUAGES:
                # The lexicon has analysers for some languages: the others come as they came.
                labels[f"unscored ({lang})"] += 1
                delivered[line] += 1
                continue
            # The lexicon names the analyser of each language (`lexicon:pt-leia`): the record's.
            named = s.get("model", "") if isinstance(s, dict) else ""
            model_ok = named == model or (model == "lexicon" and named.startswith(f"lexicon:{lang}-"))
            if not isinstance(s, dict) or s.get("label") not in LABELS or not model_ok:
                fail(f"{key}: record without a {model} sentiment: {line[:200]!r}")
            labels[s["label"]] += 1
            # Byte-exact: the original bytes are kept; the sentiment member is added at the end.
            original = line[: line.rindex(b',"sentiment":')] + b"}"
            delivered[original] += 1
    expected = collections.Counter(good)
    if delivered != expected:
        missing = expected - delivered
        extra = delivered - expected
        fail(
            f"{prefix}: {sum(missing.values())} records missing, {sum(extra.values())} extra or "
            f"changed; e.g. missing {list(missing)[:2]}, extra {list(extra)[:2]}"
        )
    if failed != collections.Counter(bad):
        fail(f"{prefix}processing-failed/: {failed} but expected each of {bad} once")
    if model == "none" and set(codes) != {"Lambda.FunctionError", "Kinesis.DeaggregationFailed"}:
        fail(f"{prefix}: error codes {dict(codes)}, expected Lambda.FunctionError (and the broken aggregate)")
    print(
        f"   {prefix}: {sum(delivered.values())} records exactly once in "
        f"{len([k for k in keys if 'processing-failed/' not in k])} objects ({dict(labels)}); "
        f"{sum(failed.values())} records in processing-failed/ {dict(codes)}"
    )


def main():
    cmd = sys.argv[1]
    if cmd == "setup":
        setup()
    elif cmd == "put-bad":
        put_bad()
    elif cmd == "check":
        with open(BAD) as f:
            bad = [base64.b64decode(b) for b in json.load(f)]
        records = stream_records()
        # The corrupt aggregate comes back from aws-kinesis-agg as it was put (its checksum fails).
        missing = [b for b in bad if b not in records]
        if missing:
            fail(f"bad records not read back from the stream: {missing}")
        print(f"   the stream holds {len(records)} user records ({len(bad)} bad)")
        for spec in sys.argv[2:]:
            check(spec, records, bad)
    else:
        fail(f"unknown command {cmd}")


if __name__ == "__main__":
    main()

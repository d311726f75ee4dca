#!/usr/bin/env bash
# `make invoke-producer`: run stream-producer under `cargo lambda watch` (the real binary behind a
# local Lambda Runtime API) against moto's server as Kinesis and DynamoDB, offline, and invoke it
# with the sample events: the rule's scheduled event twice (the second continues from the
# cursor), then the Scheduler's custom input (a smaller page budget). Then reads the stream and
# the cursor back. Every process started here is stopped on exit, success or failure.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
# pids, cleanup on exit, free_port, wait_for_port, start_moto
source .ci/lib.sh

logs=$(mktemp -d)
start_moto "$logs"

# The stream and the cursor table, as the deployed stack would have them.
"$PY" - <<'PY'
import os, boto3
url = os.environ["AWS_ENDPOINT_URL"]
boto3.client("kinesis", endpoint_url=url).create_stream(StreamName="social-posts", ShardCount=2)
boto3.client("dynamodb", endpoint_url=url).create_table(
    TableName="stream-producer-cursors",
    AttributeDefinitions=[{"AttributeName": "source", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "source", "KeyType": "HASH"}],
    BillingMode="PAY_PER_REQUEST",
)
PY

invoke_port=$(free_port)
cargo lambda watch -q -p stream-producer --bin stream-producer --ignore-changes \
  --invoke-address 127.0.0.1 --invoke-port "$invoke_port" --timeout 60 \
  --env-var "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL,AWS_REGION=us-east-1,AWS_ACCESS_KEY_ID=AKIDLOCAL,AWS_SECRET_ACCESS_KEY=local-secret" \
  --env-var SOURCE=synthetic,SYNTHETIC_PER_INVOCATION=300,STREAM_NAME=social-posts \
  --env-var CURSOR_STORE=dynamodb,CURSOR_TABLE=stream-producer-cursors,PARTITION_KEY_POINTER=/user/username \
  > "$logs/watch.log" 2>&1 &
pids+=($!)
wait_for_port "$invoke_port" "cargo lambda watch" "$logs/watch.log"

for event in events/eventbridge-scheduled.json events/eventbridge-scheduled.json events/eventbridge-scheduler-input.json; do
  echo "== stream-producer <- $event"
  cargo lambda invoke stream-producer -A 127.0.0.1 -P "$invoke_port" --data-file "$event"
  echo
done

echo "== read back from moto"
"$PY" - <<'PY'
import os, boto3
url = os.environ["AWS_ENDPOINT_URL"]
k = boto3.client("kinesis", endpoint_url=url)
total = 0
for shard in k.list_shards(StreamName="social-posts")["Shards"]:
    it = k.get_shard_iterator(StreamName="social-posts", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    n = len(k.get_records(ShardIterator=it, Limit=10000)["Records"])
    print(f"{shard['ShardId']}: {n} records")
    total += n
item = boto3.client("dynamodb", endpoint_url=url).get_item(TableName="stream-producer-cursors", Key={"source": {"S": "synthetic:42"}})["Item"]
print(f"stream total: {total} records; cursor {item['source']['S']} = {item['position']['S']} (version {item['version']['N']})")
assert total == 700, total
PY
echo "(function logs: $logs/watch.log)"

#!/usr/bin/env bash
# `make e2e` (part of `make test`): the whole pipeline on real local endpoints, offline.
#   moto server (Kinesis, S3, DynamoDB) on a free loopback port; the stream, bucket and table;
#   stream-producer under `cargo lambda watch`, invoked with events/ (KPL aggregation on), plus
#   bad records put straight into the stream; then `kinesis-sentiment firehose` reading the
#   stream and invoking firehose-transform under `cargo lambda watch`:
#     1. lexicon backend, in two runs (the second resumes from the first's checkpoints after
#        the producer ran again), into s3://BUCKET/lexicon/
#     2. Comprehend backend against the local stand-in (throttling injected), into
#        s3://BUCKET/comprehend/
#     2d. Iceberg mode (.ci/e2e_iceberg.py): the demo against a scripted Jetstream with
#        deletions, a crash injected before a table commit; pyiceberg reads the posts table
#     3. a function that fails to start (a bad setting): every record, after the retries, is an
#        error record in s3://BUCKET/broken/processing-failed/
#   and .ci/e2e_check.py reads the stream and the bucket back and asserts every record is in
#   S3 exactly once, or in processing-failed/ if it is bad.
# Every process started here is stopped on exit, success or failure.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
# pids, cleanup on exit, free_port, wait_for_port, start_moto
source .ci/lib.sh

# Shows a log when a step fails, so CI output says why.
on_error() { echo "e2e: failed; logs in $logs:" >&2; for f in "$logs"/*.log; do echo "--- $f" >&2; tail -n 30 "$f" >&2; done; }
logs=$(mktemp -d)
trap on_error ERR
# The binary copies are ~0.5 GB; the logs stay for reading.
trap 'cleanup; rm -f "$logs/kinesis-sentiment" "$logs/comprehend-standin" "$logs/bedrock-standin" "$logs/jetstream-standin"' EXIT INT TERM

echo "== e2e: building kinesis-sentiment, the Comprehend and Bedrock stand-ins and the two functions"
cargo build -q -p kinesis-sentiment --bin kinesis-sentiment
cargo build -q -p ks-testkit --bin comprehend-standin --bin bedrock-standin --bin jetstream-standin
# What `cargo lambda watch` runs (`cargo run -p F --bin F`), built now: a package built alone
# has other features than in `cargo test --workspace`, and compiling it on the first invoke
# would outlast the invoke's timeout.
cargo build -q -p stream-producer --bin stream-producer
cargo build -q -p firehose-transform --bin firehose-transform
# A copy: a build in between (another checkout sharing target/) cannot swap it mid-test.
cp target/debug/kinesis-sentiment target/debug/comprehend-standin target/debug/bedrock-standin \
  target/debug/jetstream-standin "$logs/"
KS=$logs/kinesis-sentiment

start_moto "$logs"
export E2E_STREAM=social-posts E2E_BUCKET=sentiment-e2e E2E_BAD="$logs/bad.json"

echo "== e2e: stream (2 shards), bucket and cursor table on moto at $AWS_ENDPOINT_URL"
"$PY" .ci/e2e_check.py setup

producer_port=$(free_port)
cargo lambda watch -q -p stream-producer --bin stream-producer --ignore-changes \
  --invoke-address 127.0.0.1 --invoke-port "$producer_port" --timeout 60 \
  --env-var "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL,AWS_REGION=us-east-1,AWS_ACCESS_KEY_ID=AKIDLOCAL,AWS_SECRET_ACCESS_KEY=local-secret" \
  --env-var SOURCE=synthetic,SYNTHETIC_PER_INVOCATION=400,STREAM_NAME=$E2E_STREAM,AGGREGATION=true \
  --env-var CURSOR_STORE=dynamodb,CURSOR_TABLE=stream-producer-cursors,PARTITION_KEY_POINTER=/user/username \
  > "$logs/watch-producer.log" 2>&1 &
pids+=($!)
wait_for_port "$producer_port" "cargo lambda watch (stream-producer)" "$logs/watch-producer.log"

produce() {
  cargo lambda invoke stream-producer -A 127.0.0.1 -P "$producer_port" \
    --data-file events/eventbridge-scheduled.json > "$logs/invoke-producer.json"
  echo "   stream-producer <- events/eventbridge-scheduled.json: $(cat "$logs/invoke-producer.json")"
}
produce
"$PY" .ci/e2e_check.py put-bad

start_transform() { # log name, then --env-var/--env-file arguments; sets transform_port
  local name=$1; shift
  transform_port=$(free_port)
  cargo lambda watch -q -p firehose-transform --bin firehose-transform --ignore-changes \
    --invoke-address 127.0.0.1 --invoke-port "$transform_port" --timeout "${TIMEOUT:-60}" "$@" \
    > "$logs/watch-$name.log" 2>&1 &
  transform_pid=$!
  pids+=("$transform_pid")
  wait_for_port "$transform_port" "cargo lambda watch (firehose-transform, $name)" "$logs/watch-$name.log"
}

firehose() { # prefix, checkpoint file, delivery stream, more flags
  local prefix=$1 checkpoints=$2 delivery=$3; shift 3
  "$KS" firehose --stream "$E2E_STREAM" --bucket "$E2E_BUCKET" --prefix "$prefix" --error-prefix "$prefix" \
    --endpoint-url "$AWS_ENDPOINT_URL" --function firehose-transform \
    --lambda-endpoint "http://127.0.0.1:$transform_port" --delivery-stream "$delivery" \
    --buffer-bytes "${BUFFER_BYTES:-200000}" --buffer-seconds 1 --poll-ms 200 --exit-when-idle 3 --retry-backoff-ms 100 \
    --checkpoint-file "$checkpoints" "$@" 2>&1 | tee -a "$logs/firehose.log"
}

echo "== e2e: 1. firehose-transform, lexicon backend"
start_transform lexicon --env-var SENTIMENT_BACKEND=lexicon,LANGUAGE_POINTER=/lang,PARTITION_KEYS=true
firehose lexicon/ "$logs/cp-lexicon.json" e2e-lexicon
echo "   the producer runs again; the delivery stream resumes from its checkpoints"
produce
firehose lexicon/ "$logs/cp-lexicon.json" e2e-lexicon
kill "$transform_pid"; wait "$transform_pid" 2>/dev/null || true

echo "== e2e: 2. firehose-transform, Comprehend backend against the local stand-in (every 5th call throttled)"
comprehend_port=$(free_port)
"$logs/comprehend-standin" --addr "127.0.0.1:$comprehend_port" --throttle-every 5 > "$logs/comprehend.log" 2>&1 &
pids+=($!)
wait_for_port "$comprehend_port" "the Comprehend stand-in" "$logs/comprehend.log"
start_transform comprehend \
  --env-var "AWS_ENDPOINT_URL_COMPREHEND=http://127.0.0.1:$comprehend_port,AWS_REGION=us-east-1,AWS_ACCESS_KEY_ID=AKIDLOCAL,AWS_SECRET_ACCESS_KEY=local-secret" \
  --env-var SENTIMENT_BACKEND=comprehend,LANGUAGE_POINTER=/lang,PARTITION_KEYS=true
firehose comprehend/ "$logs/cp-comprehend.json" e2e-comprehend
kill "$transform_pid"; wait "$transform_pid" 2>/dev/null || true

echo "== e2e: 2b. the stand-ins driven by boto3, then firehose-transform, Bedrock backend (first calls throttled)"
standin() { # name, port, then environment assignments; the Bedrock stand-in
  local name=$1 port=$2; shift 2
  env "$@" "$logs/bedrock-standin" "$port" > "$logs/$name.log" 2>&1 &
  pids+=($!)
  wait_for_port "$port" "the Bedrock stand-in ($name)" "$logs/$name.log"
}
bedrock_port=$(free_port); standin bedrock-boto3 "$bedrock_port"
throttled_port=$(free_port); standin bedrock-throttled "$throttled_port" STANDIN_THROTTLE_FIRST=2
plain_comprehend_port=$(free_port)
"$logs/comprehend-standin" --addr "127.0.0.1:$plain_comprehend_port" > "$logs/comprehend-boto3.log" 2>&1 &
pids+=($!)
wait_for_port "$plain_comprehend_port" "the Comprehend stand-in (boto3)" "$logs/comprehend-boto3.log"
"$PY" .ci/standins_boto3.py "http://127.0.0.1:$bedrock_port" "http://127.0.0.1:$plain_comprehend_port" \
  "http://127.0.0.1:$throttled_port" | sed 's/^/   /'
pipeline_port=$(free_port); standin bedrock "$pipeline_port" STANDIN_THROTTLE_FIRST=3
start_transform bedrock \
  --env-var "AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:$pipeline_port,AWS_REGION=us-east-1,AWS_ACCESS_KEY_ID=AKIDLOCAL,AWS_SECRET_ACCESS_KEY=local-secret" \
  --env-var SENTIMENT_BACKEND=bedrock,BEDROCK_BACKOFF_BASE_MS=10,PARTITION_KEYS=true
firehose bedrock/ "$logs/cp-bedrock.json" e2e-bedrock
kill "$transform_pid"; wait "$transform_pid" 2>/dev/null || true

echo "== e2e: 2c. the Jetstream stand-in read by the Python websockets client"
jetstream_port=$(free_port)
"$logs/jetstream-standin" "$jetstream_port" > "$logs/jetstream.log" 2>&1 &
pids+=($!)
wait_for_port "$jetstream_port" "the Jetstream stand-in" "$logs/jetstream.log"
"$PY" .ci/jetstream_client.py "ws://127.0.0.1:$jetstream_port/subscribe" | sed 's/^/   /'

echo "== e2e: 2d. Iceberg mode: a scripted Jetstream (posts, edits, deletions, accounts gone) through the demo, a crash injected before a commit; pyiceberg scans the posts table"
"$PY" .ci/e2e_iceberg.py "$KS" "$logs/iceberg" | sed 's/^/   /'

echo "== e2e: 3. a function that cannot start (bad setting): retried, then every record is an error record"
TIMEOUT=3 start_transform broken --env-var SENTIMENT_BACKEND=bogus
BUFFER_BYTES=3145728 firehose broken/ "$logs/cp-broken.json" e2e-broken --retries 1 --invoke-timeout 5

echo "== e2e: reading the stream and the bucket back"
"$PY" .ci/e2e_check.py check lexicon/:e2e-lexicon:lexicon comprehend/:e2e-comprehend:comprehend \
  "bedrock/:e2e-bedrock:bedrock:amazon.nova-micro-v1:0" broken/:e2e-broken:none

echo "== e2e: kinesis-sentiment report on the bucket"
"$KS" report --input "s3://$E2E_BUCKET/lexicon/" --endpoint-url "$AWS_ENDPOINT_URL" --html "$logs/report.html" | tail -n 4
trap - ERR
echo "e2e: passed (logs in $logs)"

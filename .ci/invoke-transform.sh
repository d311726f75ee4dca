#!/usr/bin/env bash
# `make invoke-transform`: run firehose-transform under `cargo lambda watch` (the real binary
# behind a local Lambda Runtime API) and invoke it with the sample events, offline:
#   1. Comprehend backend against the local Comprehend stand-in (AWS_ENDPOINT_URL_COMPREHEND)
#   2. the lexicon backend
# Every process started here is stopped on exit, success or failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# pids, cleanup on exit, free_port, wait_for_port
source .ci/lib.sh

show() { # a Firehose response, one line per record: result, record id, text and sentiment label
  python3 -c '
import base64, json, sys
for r in json.load(sys.stdin)["records"]:
    if r["result"] != "Ok":
        print("%-17s %-22s (original bytes go to processing-failed/)" % (r["result"], r["recordId"][-22:]))
        continue
    line = base64.b64decode(r["data"]).decode("utf-8", "replace")
    try:
        v = json.loads(line)
        s = v.get("sentiment") or {}
        text = str(v.get("text", ""))[:60]
        print("%-17s %-22s %-9s %-10s %s" % (r["result"], r["recordId"][-22:], s.get("label") or "-", s.get("model", ""), text))
    except ValueError:
        print("%-17s %-22s %s" % (r["result"], r["recordId"][-22:], line.rstrip()[:80]))
'
}

logs=$(mktemp -d)
cargo build -q -p ks-testkit --bin comprehend-standin
comprehend_port=$(free_port)
target/debug/comprehend-standin --addr "127.0.0.1:$comprehend_port" > "$logs/comprehend.log" 2>&1 &
pids+=($!)
wait_for_port "$comprehend_port" "the Comprehend stand-in" "$logs/comprehend.log"

invoke_port=$(free_port)
# An env file, not --env-var: TEXT_POINTERS holds a comma, which --env-var would split on.
cat > "$logs/comprehend.env" <<ENV
AWS_ENDPOINT_URL_COMPREHEND=http://127.0.0.1:$comprehend_port
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=AKIDLOCAL
AWS_SECRET_ACCESS_KEY=local-secret
LANGUAGE_POINTER=/lang
TEXT_POINTERS=/extended_tweet/full_text,/text
ENV
cargo lambda watch -q -p firehose-transform --bin firehose-transform --ignore-changes \
  --invoke-address 127.0.0.1 --invoke-port "$invoke_port" --timeout 60 --env-file "$logs/comprehend.env" \
  > "$logs/watch.log" 2>&1 &
pids+=($!)
wait_for_port "$invoke_port" "cargo lambda watch" "$logs/watch.log"

for event in events/firehose-social-posts.json events/firehose-edge-cases.json events/firehose-docs-kinesis-source.json events/sam/streams-as-source.json; do
  echo "== firehose-transform (SENTIMENT_BACKEND=comprehend, local stand-in) <- $event"
  cargo lambda invoke firehose-transform -A 127.0.0.1 -P "$invoke_port" --data-file "$event" | show
done
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true

invoke_port=$(free_port)
cargo lambda watch -q -p firehose-transform --bin firehose-transform --ignore-changes \
  --invoke-address 127.0.0.1 --invoke-port "$invoke_port" --timeout 60 \
  --env-var SENTIMENT_BACKEND=lexicon,LANGUAGE_POINTER=/lang \
  > "$logs/watch-lexicon.log" 2>&1 &
pids+=($!)
wait_for_port "$invoke_port" "cargo lambda watch" "$logs/watch-lexicon.log"
echo "== firehose-transform (SENTIMENT_BACKEND=lexicon) <- events/firehose-social-posts.json"
cargo lambda invoke firehose-transform -A 127.0.0.1 -P "$invoke_port" --data-file events/firehose-social-posts.json | show
echo "(function logs: $logs)"

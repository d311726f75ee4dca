"""The baseline for `make bench-producer`'s Jetstream rows: the consumer a Python developer would
write from Jetstream's README and boto3's documentation. `websockets` reads `/subscribe` from the
oldest event kept (`cursor=1`, as the producer's START_POSITION=oldest does) until it reaches an
event stamped after it connected (caught up, the producer's rule too), makes the same flat record
of each created post, and puts them with boto3's `put_records` in batches of 500, sending the
failed entries of a batch again.

Usage: jetstream_baseline.py JETSTREAM_URL KINESIS_URL [STREAM]   (run by benches/producer.rs)
Prints one JSON line: events and posts read, PutRecords calls, wall and CPU seconds of the run
(from connecting to the last put answered; imports and client set-up are outside it), the
seconds spent in put_records, and the process's peak RSS (VmHWM).
"""
import asyncio
import json
import resource
import sys
import time

import boto3
import websockets
from botocore.config import Config

JETSTREAM_URL, KINESIS_URL = sys.argv[1], sys.argv[2]
STREAM = sys.argv[3] if len(sys.argv) > 3 else "bench"
BATCH = 500  # PutRecords' limit per request
POST = "app.bsky.feed.post"
TAG = "app.bsky.richtext.facet#tag"


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def vm_hwm_mb():
    """This process's peak RSS. Not ru_maxrss: Linux carries that over an exec from the process
    that spawned this one (the benchmark, holding the backlog), VmHWM starts with the new image."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def flat(event):
    """The record the producer puts: the same fields, in the same way."""
    commit, did = event["commit"], event["did"]
    record, rkey = commit["record"], commit["rkey"]
    uri = f"at://{did}/{commit['collection']}/{rkey}"
    langs = [lang for lang in record.get("langs", []) if isinstance(lang, str)]
    facet_tags = [
        feature.get("tag")
        for facet in record.get("facets", [])
        for feature in facet.get("features", [])
        if feature.get("$type") == TAG
    ]
    tags = []
    for tag in list(record.get("tags", [])) + facet_tags:
        if isinstance(tag, str) and tag not in tags:
            tags.append(tag)
    doc = {
        "id": uri,
        "did": did,
        "rkey": rkey,
        "cid": commit["cid"],
        "time_us": event["time_us"],
        "created_at": record.get("createdAt"),
        "text": record.get("text", ""),
        "lang": langs[0] if langs else None,
        "langs": langs,
        "reply_to": record.get("reply", {}).get("parent", {}).get("uri"),
        "tags": tags,
        "url": f"https://bsky.app/profile/{did}/post/{rkey}",
        "source": "bluesky",
    }
    return {
        "Data": json.dumps(doc, separators=(",", ":")).encode(),
        "PartitionKey": f"{event['time_us']:016}:{uri}",
    }


def put(client, batch, stats):
    started = time.perf_counter()
    while batch:
        out = client.put_records(StreamName=STREAM, Records=batch)
        stats["calls"] += 1
        stats["put_s"] += time.perf_counter() - started
        started = time.perf_counter()
        if out["FailedRecordCount"] == 0:
            return
        batch = [r for r, result in zip(batch, out["Records"]) if "ErrorCode" in result]


async def main():
    client = boto3.client(
        "kinesis",
        endpoint_url=KINESIS_URL,
        region_name="us-east-1",
        aws_access_key_id="AKIDLOCAL",
        aws_secret_access_key="local-secret",
        config=Config(retries={"total_max_attempts": 3, "mode": "standard"}),
    )
    stats = {"events": 0, "posts": 0, "calls": 0, "put_s": 0.0}
    started, cpu_started = time.perf_counter(), cpu_seconds()
    connected_us = int(time.time() * 1e6)
    batch = []
    url = f"{JETSTREAM_URL}?wantedCollections={POST}&cursor=1"
    # max_queue: websockets' default of 16 frames pauses the socket every 16 frames, and with it
    # this loop sat idle 70% of the time (6,100 events/s, 3.3 s of CPU in 13.7 s); 4,096 lets
    # the baseline run at its CPU's pace (measured in this benchmark, 2026-12).
    async with websockets.connect(url, max_size=2**20, ping_interval=None, max_queue=4096) as ws:
        async for message in ws:
            stats["events"] += 1
            try:
                event = json.loads(message)
            except ValueError:
                continue
            commit = event.get("commit") or {}
            if (
                event.get("kind") == "commit"
                and commit.get("operation") == "create"
                and commit.get("collection") == POST
            ):
                batch.append(flat(event))
                stats["posts"] += 1
                if len(batch) == BATCH:
                    put(client, batch, stats)
                    batch = []
            if event.get("time_us", 0) >= connected_us:
                break
    put(client, batch, stats)
    stats["wall_s"] = time.perf_counter() - started
    stats["cpu_s"] = cpu_seconds() - cpu_started
    stats["max_rss_mb"] = vm_hwm_mb()
    stats["versions"] = f"python {sys.version.split()[0]}, websockets {websockets.__version__}, boto3 {boto3.__version__}"
    print(json.dumps(stats))


asyncio.run(main())

"""The Jetstream stand-in read by another implementation: the Python `websockets` client, as a
Jetstream consumer written from Jetstream's README would read it (query parameters, JSON text
frames, inclusive cursor replay, collection filter, identity/account events always sent, pings).

Usage: jetstream_client.py WS_URL   (run by .ci/e2e.sh against target/debug/jetstream-standin)
"""
import asyncio
import json
import sys
import time

import websockets

URL = sys.argv[1]


async def read(query, n):
    frames = []
    async with websockets.connect(f"{URL}?{query}", max_size=2**20, ping_interval=None) as ws:
        while len(frames) < n:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    return frames


async def main():
    now_us = int(time.time() * 1e6)
    # GIVEN a cursor 10 s back WHEN posts are asked for THEN the backlog replays in time order,
    # posts only among the commits, identity and account events included
    frames = await read(f"wantedCollections=app.bsky.feed.post&cursor={now_us - 10_000_000}", 200)
    kinds = {f["kind"] for f in frames}
    assert kinds <= {"commit", "identity", "account"} and "commit" in kinds, kinds
    assert {"identity", "account"} <= kinds, kinds
    commits = [f["commit"] for f in frames if f["kind"] == "commit"]
    assert {c["collection"] for c in commits} == {"app.bsky.feed.post"}, commits[:3]
    assert {c["operation"] for c in commits} == {"create", "update", "delete"}
    for c in commits:
        if c["operation"] == "delete":
            assert "record" not in c and "cid" not in c, c  # omitted when empty, as Jetstream does
        else:
            assert c["record"]["$type"] == "app.bsky.feed.post" and c["cid"], c
    times = [f["time_us"] for f in frames]
    assert times == sorted(times), "replay is in time order"
    # AND the replay is inclusive of the cursor: asking from a frame's time_us starts with it
    again = await read(f"wantedCollections=app.bsky.feed.post&cursor={times[50]}", 1)
    assert again[0]["time_us"] == times[50], (again[0], times[50])
    # AND, as in Jetstream v2, each event carries the instance's sequence number, and a cursor
    # below 10^15 is read as one (replay from that event, inclusive)
    seqs = [f["cursor"] for f in frames]
    assert all(isinstance(q, int) for q in seqs) and seqs == sorted(seqs), seqs[:5]
    by_seq = await read(f"wantedCollections=app.bsky.feed.post&cursor={seqs[50]}", 1)
    assert by_seq[0]["cursor"] == seqs[50] and by_seq[0]["time_us"] == times[50], by_seq[0]
    # AND a prefix filter and no cursor (live tail) work
    live = await read("wantedCollections=app.bsky.feed.*", 3)
    assert all(f["time_us"] >= now_us for f in live), "no cursor means the live tail"
    # AND the server pings, and the client's pongs keep it open
    async with websockets.connect(f"{URL}?wantedCollections=app.bsky.feed.post", ping_interval=None) as ws:
        pong_waiter = await ws.ping()
        await asyncio.wait_for(pong_waiter, 5)
    print(f"python websockets {websockets.__version__}: replay, inclusive cursor, v2 sequence cursor, filters, kinds, live tail, ping: ok")


asyncio.run(main())

"""The local pipeline in Iceberg mode, checked by independent code: this script plays a Jetstream
instance (the Python `websockets` server, Jetstream's v1 message format) with a known script of
posts, edits, deletions and account events, runs `kinesis-sentiment demo --source jetstream
--destination iceberg` against it with a crash injected before a table commit, then reads the
posts table with pyiceberg and checks that its scan is exactly the live set the script leaves:
same count, same content hash, no post twice, edits with their new text.

Usage: e2e_iceberg.py KINESIS_SENTIMENT_BINARY OUT_DIR   (run by .ci/e2e.sh; a few seconds)
"""

import asyncio
import hashlib
import json
import os
import random
import subprocess
import sys
import time

import websockets
from pyiceberg.table import StaticTable

BINARY, OUT = sys.argv[1], sys.argv[2]
POST = "app.bsky.feed.post"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
AUTHORS = 6
GONE = {"did:plc:e2e3": "deleted", "did:plc:e2e5": "takendown"}


def tid(us, clock):
    """A record key as a Bluesky PDS writes it: 53 bits of µs, 10 bits of clock id."""
    value = ((us & ((1 << 53) - 1)) << 10) | (clock & 1023)
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def script():
    """The frames, in order, and the live set they leave: post URI -> text."""
    rng = random.Random(24)
    t0 = int(time.time() * 1e6)
    frames, live, posts = [], {}, []
    clock = iter(range(10**6))

    def commit(did, op, rkey, text=None):
        c = {"rev": f"r{next(clock)}", "operation": op, "collection": POST, "rkey": rkey}
        if text is not None:
            c["record"] = {"$type": POST, "text": text, "createdAt": "2026-12-05T10:00:00.000Z", "langs": ["en"]}
            c["cid"] = f"bafy{rkey}{len(frames)}"
        frames.append({"did": did, "time_us": t0 + len(frames), "kind": "commit", "commit": c})

    for i in range(120):
        did = f"did:plc:e2e{i % AUTHORS}"
        rkey = tid(t0 + i, i)
        text = f"post {i}: " + ["what a lovely day", "this is awful", "a chair"][i % 3]
        commit(did, "create", rkey, text)
        posts.append((did, rkey, text))
    for did, rkey, text in posts:
        uri = f"at://{did}/{POST}/{rkey}"
        roll = rng.randrange(6)
        if roll < 2:
            commit(did, "delete", rkey)
        elif roll == 2:
            commit(did, "update", rkey, "edited: a wonderful day")
            live[uri] = "edited: a wonderful day"
        else:
            live[uri] = text
    for did, status in [*GONE.items(), ("did:plc:e2e1", "suspended")]:
        account = {"active": False, "did": did, "seq": len(frames), "status": status, "time": "2026-12-05T10:00:00.000Z"}
        frames.append({"did": did, "time_us": t0 + len(frames), "kind": "account", "account": account})
    live = {u: t for u, t in live.items() if not any(u.startswith(f"at://{d}/") for d in GONE)}
    return frames, live


async def serve(frames, port_box, done):
    async def handler(ws):
        # Every connection gets the whole script (a replay is the consumer's to de-duplicate),
        # then stays open until the run is over.
        for f in frames:
            await ws.send(json.dumps(f))
        await done.wait()

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port_box.append(server.sockets[0].getsockname()[1])
        await done.wait()


async def run_demo(frames):
    done = asyncio.Event()
    port_box = []
    server = asyncio.create_task(serve(frames, port_box, done))
    while not port_box:
        await asyncio.sleep(0.01)
    url = f"ws://127.0.0.1:{port_box[0]}/subscribe"
    env = dict(os.environ, KS_ICEBERG_CRASH_BEFORE_COMMIT="2")
    args = [BINARY, "demo", "--source", "jetstream", "--jetstream-url", url, "--seconds", "3",
            "--records", "100000", "--out", OUT, "--force", "--destination", "iceberg", "--buffer-bytes", "200000"]
    proc = await asyncio.create_subprocess_exec(*args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    output = (await proc.communicate())[0].decode()
    done.set()
    await server
    if proc.returncode != 0:
        sys.exit(f"e2e_iceberg: the demo failed:\n{output}")
    return output


def digest(pairs):
    h = hashlib.sha256()
    for uri, text in sorted(pairs.items()):
        h.update(f"{uri}\t{text}\n".encode())
    return h.hexdigest()[:16]


def main():
    frames, live = script()
    output = asyncio.run(run_demo(frames))
    if "injected crash before the commit" not in output:
        sys.exit(f"e2e_iceberg: the crash was not injected:\n{output}")
    table = StaticTable.from_metadata(os.path.join(OUT, "warehouse", "kinesis_sentiment", "posts"))
    rows = table.scan(selected_fields=("id", "text", "sentiment")).to_arrow().to_pylist()
    got = {}
    for r in rows:
        if r["id"] in got:
            sys.exit(f"e2e_iceberg: {r['id']} twice")
        got[r["id"]] = r["text"]
    if len(got) != len(live) or digest(got) != digest(live):
        extra = sorted(set(got) - set(live))[:5]
        missing = sorted(set(live) - set(got))[:5]
        sys.exit(f"e2e_iceberg: {len(got)} rows, expected {len(live)}; extra {extra}, missing {missing}")
    edited = [r for r in rows if r["text"].startswith("edited")]
    if not edited or any(r["sentiment"]["label"] is None for r in edited):
        sys.exit("e2e_iceberg: no edited post, or one without sentiment")
    print(f"pyiceberg {len(got)} live posts (count and content hash {digest(got)} as expected, "
          f"{len(edited)} edited, {len(frames)} frames played), across an injected crash")


if __name__ == "__main__":
    main()

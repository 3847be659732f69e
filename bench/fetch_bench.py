"""Fetching what a reconciliation found missing: POST /ki/v1/fetch against one GET per object.

    .venv/bin/python bench/fetch_bench.py [--objects N] [--repeat R]

A real `kinode hub` holds N signed offers. A node in this process (its own
store on disk, synchronous=FULL) fetches all N from it and stores them,
twice per round, alternating: with one `GET /ki/v1/objects/{id}` each, 8 in
flight (what the reconciliation did before spec 9.16, and still does for a
peer without it), then with `POST /ki/v1/fetch` in batches of 1,000 (what
it does now). Each is timed from the first request to the last commit.
Printed: objects/s for each, best of R rounds, and the ratio batch/GET.
"""

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp  # noqa: E402

import benchlib  # noqa: E402
from http_ingest_bench import post_batches  # noqa: E402
from kinode.config import NodeConfig  # noqa: E402
from kinode.federation import reconcile  # noqa: E402
from kinode.node import Node  # noqa: E402
from protocol.identity import Identity  # noqa: E402
from storage.store import Store  # noqa: E402


async def fetch_all(root: Path, name: str, url: str, ids: list[str], batched: bool) -> float:
    """Seconds to fetch and store `ids` from `url` into a fresh node's store."""
    store = Store(root / f"{name}.db")
    node = Node(NodeConfig(data_dir=root / name, roles=("node", "hub"), categories=(benchlib.CATEGORY,)),
                Identity(bytes([5]) * 32), store)
    try:
        async with aiohttp.ClientSession() as session:
            start = time.perf_counter()
            if batched:
                accepted = await reconcile._fetch(node, session, url, ids)
            else:
                accepted = await reconcile.store_fetched(node, await reconcile._fetch_each(session, url, ids))
            seconds = time.perf_counter() - start
    finally:
        store.close()
    if accepted != len(ids):
        raise SystemExit(f"fetched {accepted} of {len(ids)} objects")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=5000, help="offers the hub holds and the node fetches")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds; the best of each is printed")
    args = parser.parse_args()
    benchlib.describe_run("fetch_bench", {"objects": f"{args.objects} offers, fetched and stored each round",
                                          "hub": "a fresh `kinode hub`, data dir under the system temp dir"})
    root = Path(tempfile.mkdtemp(prefix="kinode-fetch-bench-"))
    hub = benchlib.start_hub(root, "hub")
    try:
        wires = [o.wire for o in benchlib.signed_offers(args.objects, 100)]
        asyncio.run(post_batches(hub.url, [benchlib.batch_body(wires[i:i + 200]) for i in range(0, len(wires), 200)], 2))
        ids = [json.loads(w)["id"] for w in wires]
        best = {False: float("inf"), True: float("inf")}
        for round_ in range(args.repeat):
            for batched in (False, True):
                seconds = asyncio.run(fetch_all(root, f"node-{round_}-{int(batched)}", hub.url, ids, batched))
                best[batched] = min(best[batched], seconds)
    finally:
        benchlib.stop_hub(hub)
    get_rate, batch_rate = args.objects / best[False], args.objects / best[True]
    print(f"one GET each (8 in flight)        {get_rate:8.0f} objects/s")
    print(f"POST /ki/v1/fetch, 1,000 a batch  {batch_rate:8.0f} objects/s")
    print(f"ratio batch / GET                 {batch_rate / get_rate:8.2f}x   (best of {args.repeat} rounds each)")


if __name__ == "__main__":
    main()

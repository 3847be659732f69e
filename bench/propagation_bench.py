"""Propagation through a federation of hubs on loopback: time to reach every hub, copies sent.

    .venv/bin/python bench/propagation_bench.py [--hubs 20] [--chords 5] [--objects 200] [--rate 20]

Starts --hubs real `kinode hub` processes (one category, fresh data dirs) on
127.0.0.1, peered along a random connected graph: a ring plus --chords
random chords (seeded); each hub is given --peer for each neighbour. The
benchmark follows every hub's GET /ki/v1/stream (server-sent events), then
publishes --objects pre-signed offers, one POST each, to hub 0's inbox at
--rate per second, and records when each object shows up on each hub.

Printed: median and p99 time for an object to reach all hubs (from just
before its POST to hub 0 until the last hub's stream showed it), the median
arrival time by graph distance from hub 0, and payload copies per delivered
object: inbox object entries the hubs received from each other (counted by
bench/counting_hub.py, which wraps Node.receive in each hub process) divided
by deliveries, objects x (hubs - 1). The ideal is 1.0; flooding to every
neighbour costs 2E / (hubs - 1) (E edges) when a hub also sends back to the
hub it got the object from, (2E - (hubs - 1)) / (hubs - 1) when it does not.

Reconciliation runs every --reconcile-interval seconds (default 600, so the
figures are push gossip alone). All hubs share this machine's cores with the
benchmark; no figure is asserted.
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp

import benchlib
from benchlib import harness


def peer_graph(hubs: int, chords: int, rng: random.Random) -> list[set[int]]:
    """Neighbour sets of a ring of `hubs` plus `chords` distinct random chords."""
    neighbours = [{(i - 1) % hubs, (i + 1) % hubs} - {i} for i in range(hubs)]
    candidates = [(a, b) for a in range(hubs) for b in range(a + 2, hubs) if b not in neighbours[a]]
    for a, b in rng.sample(candidates, min(chords, len(candidates))):
        neighbours[a].add(b)
        neighbours[b].add(a)
    return neighbours


def distances(neighbours: list[set[int]], source: int) -> list[int]:
    dist = [-1] * len(neighbours)
    dist[source] = 0
    queue = deque([source])
    while queue:
        here = queue.popleft()
        for there in neighbours[here]:
            if dist[there] < 0:
                dist[there] = dist[here] + 1
                queue.append(there)
    return dist


def start_federation(root: Path, neighbours: list[set[int]], reconcile_interval: float) -> list:
    """Start every hub (in parallel: each waits for its own readiness) with the counting wrapper."""
    harness.KINODE = [sys.executable, str(Path(__file__).with_name("counting_hub.py"))]
    ports = [harness.free_port() for _ in neighbours]
    urls = [f"http://127.0.0.1:{port}" for port in ports]

    def start(i: int):
        return benchlib.start_hub(root, f"hub{i:02d}", peers=[urls[j] for j in sorted(neighbours[i])], port=ports[i],
                                  reconcile_interval=reconcile_interval,
                                  env={"KINODE_BENCH_TALLY": str(root / f"hub{i:02d}.tally.json")})

    with ThreadPoolExecutor(max_workers=len(neighbours)) as pool:
        return list(pool.map(start, range(len(neighbours))))


async def follow(session: aiohttp.ClientSession, url: str, hub: int, seen: dict, connected: asyncio.Event) -> None:
    """Record (object id -> {hub: arrival time}) from one hub's event stream."""
    async with session.get(url + "/ki/v1/stream", timeout=aiohttp.ClientTimeout(total=None)) as response:
        connected.set()
        async for line in response.content:
            if line.startswith(b"data: "):
                arrived = time.perf_counter()
                seen.setdefault(json.loads(line[6:])["id"], {}).setdefault(hub, arrived)


async def measure(urls: list[str], objects: list, rate: float, timeout: float) -> tuple[dict, dict]:
    """Publish `objects` to urls[0] at `rate`/s; return (publish times, arrivals) by object id."""
    seen: dict[str, dict[int, float]] = {}
    published: dict[str, float] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        ready = [asyncio.Event() for _ in urls]
        followers = [asyncio.create_task(follow(session, url, i, seen, ready[i])) for i, url in enumerate(urls)]
        await asyncio.gather(*(event.wait() for event in ready))
        start = time.perf_counter()
        for k, obj in enumerate(objects):
            await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
            published[obj.id] = time.perf_counter()
            async with session.post(urls[0] + "/ki/v1/inbox", data=benchlib.batch_body([obj.wire]),
                                    headers={"Content-Type": "application/json"}) as response:
                answer = await response.json()
                if response.status != 200 or answer["results"][0]["status"] != "accepted":
                    raise RuntimeError(f"hub 0 answered {response.status}: {answer}")
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and not all(len(seen.get(i, ())) == len(urls) for i in published):
            await asyncio.sleep(0.05)
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
    return published, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hubs", type=int, default=20)
    parser.add_argument("--chords", type=int, default=5, help="random chords added to the ring (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the peer graph")
    parser.add_argument("--objects", type=int, default=200, help="objects published to hub 0 (default 200)")
    parser.add_argument("--rate", type=float, default=20.0, help="publishes per second (default 20)")
    parser.add_argument("--reconcile-interval", type=float, default=600.0)
    parser.add_argument("--timeout", type=float, default=60.0, help="how long to wait for stragglers")
    args = parser.parse_args()
    neighbours = peer_graph(args.hubs, args.chords, random.Random(args.seed))
    edges = sum(len(n) for n in neighbours) // 2
    dist = distances(neighbours, 0)
    benchlib.describe_run("propagation_bench", {
        "federation": f"{args.hubs} hubs, ring + {args.chords} chords = {edges} links, degree "
                      f"{min(map(len, neighbours))}..{max(map(len, neighbours))}, diameter from hub 0 {max(dist)} hops",
        "objects": f"{args.objects} offers, one POST each to hub 0 at {args.rate:g}/s, plus 1 warm-up",
        "reconcile": f"every {args.reconcile_interval:g} s",
        "note": f"all {args.hubs} hubs and the load generator share the machine's cores"})
    objects = benchlib.signed_offers(args.objects + 1, min(args.objects + 1, 200))

    with tempfile.TemporaryDirectory(prefix="kinode-propagation-") as tmp:
        root = Path(tmp)
        begin = time.perf_counter()
        procs = start_federation(root, neighbours, args.reconcile_interval)
        print(f"started {len(procs)} hubs in {time.perf_counter() - begin:.1f} s")
        urls = [p.url for p in procs]
        try:
            asyncio.run(measure(urls, objects[:1], 1.0, args.timeout))  # warm-up: connections, caches
            published, seen = asyncio.run(measure(urls, objects[1:], args.rate, args.timeout))
        except Exception:
            print(f"hub 0's log ends:\n{procs[0].log_path.read_text(errors='replace')[-3000:]}")
            raise
        finally:
            codes = [benchlib.stop_hub(p) for p in procs]
        tallies = [json.loads((root / f"hub{i:02d}.tally.json").read_text()) if code == 0 else None
                   for i, code in enumerate(codes)]

    complete = [i for i in published if len(seen.get(i, ())) == args.hubs]
    reach = [max(seen[i].values()) - published[i] for i in complete]
    print(f"\nreached all {args.hubs} hubs: {len(complete)} of {len(published)} objects")
    if reach:
        print(f"time to reach all hubs: {benchlib.summary(reach)}")
    print("median arrival by distance from hub 0:")
    for d in range(max(dist) + 1):
        hubs_at = [h for h in range(args.hubs) if dist[h] == d]
        times = [seen[i][h] - published[i] for i in published for h in hubs_at if h in seen.get(i, {})]
        if times:
            print(f"   {d} hops ({len(hubs_at):2d} hubs): {statistics.median(times) * 1000:7.1f} ms")
    if None in tallies:
        print("copies: some hubs did not exit cleanly, so their tallies are missing")
        return
    total = {key: sum(t.get(key, 0) for t in tallies) for key in ("received", "accepted", "duplicate", "rejected", "calls")}
    sent_by_bench = len(published) + 1
    hub_to_hub = total["received"] - sent_by_bench
    deliveries = sent_by_bench * (args.hubs - 1)
    print(f"copies: hubs received {total['received']} object entries in {total['calls']} receive calls "
          f"({total['accepted']} accepted, {total['duplicate']} duplicate, {total['rejected']} rejected), "
          f"{sent_by_bench} of them from the benchmark")
    print(f"payload copies per delivered object: {hub_to_hub / deliveries:.2f} "
          f"({hub_to_hub} hub-to-hub copies / {deliveries} deliveries; ideal 1.00)")
    print(f"   flooding to every neighbour would be {2 * edges / (args.hubs - 1):.2f}; "
          f"without sending back to the sender {(2 * edges - (args.hubs - 1)) / (args.hubs - 1):.2f}")


if __name__ == "__main__":
    main()

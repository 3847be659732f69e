"""Hub ingest over HTTP on loopback, next to a raw Ed25519 verify loop measured in the same run.

    .venv/bin/python bench/http_ingest_bench.py [--objects 20000] [--batch 200] [--clients 32] ...

Objects are realistic ~1 KB offers signed before any timing by many authors
(so the per-author rate limit never bites). Every hub is a real `kinode hub`
process with a fresh data directory (SQLite WAL, synchronous=FULL, search
index on), started by tests/e2e/harness.py.

1. batched: POST /ki/v1/inbox with --batch objects per request, --in-flight
   requests outstanding; objects/s until the last acknowledgement, as a
   ratio of the single-thread crypto_sign_open loop (targets: >= 0.75 with
   the hub pinned to one core and the load generator on the other; >= 1.4
   with the hub free to use both cores, load generator sharing them).
2. single: --clients concurrent keep-alive aiohttp clients, one object per
   POST; objects/s and acknowledgement latency p50/p99 (target >= 5,000/s,
   p99 < 20 ms). The load generator runs on the same cores. Each client
   connects from its own loopback address (127.0.0.x), as 32 real clients
   would, so the per-address request limit (200/s) applies per client.
3. where the time goes: the hub's stages run in this process, one thread,
   on the same objects: JSON parse of the batch, validate_batch, the store's
   write with the search index, and the raw verify inside validation.

The figures are what this machine gives under whatever else runs on it; no
figure is asserted. Hub CPU seconds per second show how many cores it kept busy.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

import benchlib
from protocol import canonical
from storage.ingest import validate_batch
from storage.objects import store_verified
from storage.store import Store

TARGET_ONE_CORE, TARGET_BOTH, TARGET_SINGLE_RATE, TARGET_P99 = 0.75, 1.4, 5000, 0.020


async def post_batches(url: str, bodies: list[bytes], in_flight: int) -> tuple[float, int, list[float]]:
    """(seconds until the last ack, objects accepted, per-request latencies) for all bodies."""
    queue = list(reversed(bodies))
    accepted, latencies = 0, []

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        while queue:
            body = queue.pop()
            begin = time.perf_counter()
            async with session.post(url + "/ki/v1/inbox", data=body,
                                    headers={"Content-Type": "application/json"}) as response:
                answer = await response.json()
            latencies.append(time.perf_counter() - begin)
            if response.status != 200:
                raise RuntimeError(f"hub answered {response.status}: {answer}")
            accepted += sum(r["status"] == "accepted" for r in answer["results"])

    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(sender(session) for _ in range(in_flight)))
        return time.perf_counter() - start, accepted, latencies


async def post_singles(url: str, bodies: list[bytes], clients: int, distinct_sources: bool):
    """(seconds, accepted, latencies) with `clients` keep-alive clients, one object per request."""
    queue = list(reversed(bodies))
    accepted, latencies = 0, []

    async def client(index: int) -> None:
        nonlocal accepted
        local = (f"127.0.0.{10 + index}", 0) if distinct_sources else None
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1, local_addr=local)) as session:
            while queue:
                body = queue.pop()
                begin = time.perf_counter()
                async with session.post(url + "/ki/v1/inbox", data=body,
                                        headers={"Content-Type": "application/json"}) as response:
                    answer = await response.json()
                latencies.append(time.perf_counter() - begin)
                if response.status != 200:
                    raise RuntimeError(f"hub answered {response.status}: {answer}")
                accepted += answer["results"][0]["status"] == "accepted"

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return time.perf_counter() - start, accepted, latencies


def run_hub(root: Path, name: str, hub_cpus: set[int] | None, load_cpus: set[int] | None, work):
    """Start a fresh hub on `hub_cpus`, warm it up, run `work(url)` with this process on `load_cpus`.

    Returns (work's result, hub CPU seconds used during the work).
    """
    with benchlib.cpus(hub_cpus):
        hub = benchlib.start_hub(root, name)
    try:
        warm = [o.wire for o in benchlib.signed_offers(400, 40, seed=999)]
        asyncio.run(post_batches(hub.url, [benchlib.batch_body(warm[i:i + 200]) for i in (0, 200)], 1))
        with benchlib.cpus(load_cpus):
            cpu_before = benchlib.cpu_seconds(hub.process.pid)
            result = work(hub.url)
            cpu_used = benchlib.cpu_seconds(hub.process.pid) - cpu_before
        return result, cpu_used
    finally:
        hub.stop()


def stage_costs(objects: list, batch: int) -> dict[str, float]:
    """Microseconds per object of each hub stage, run here on one thread."""
    objects = objects[:max(batch, min(len(objects), 2000))]
    bodies = [benchlib.batch_body([o.wire for o in objects[i:i + batch]]) for i in range(0, len(objects), batch)]
    now = int(time.time())
    costs = {}

    def timed(name, fn):
        begin = time.perf_counter()
        out = fn()
        costs[name] = (time.perf_counter() - begin) / len(objects) * 1e6
        return out

    parsed = timed("parse batch JSON (event loop)", lambda: [canonical.parse(b)["objects"] for b in bodies])
    checked = timed("validate_batch (executor)", lambda: [validate_batch(items, now) for items in parsed])
    with tempfile.TemporaryDirectory(prefix="kinode-stage-") as tmp:
        store = Store(Path(tmp) / "kinode.db")
        try:
            timed("store_verified + commit (writer)",
                  lambda: [store.write_sync(store_verified, items, now, ("@gossip",)) for items in checked])
        finally:
            store.close()
    costs["of which raw verify"] = 1e6 / benchlib.best_raw_verify(1.0)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20000, help="objects per batched run (default 20000)")
    parser.add_argument("--batch", type=int, default=200, help="objects per inbox POST (default 200)")
    parser.add_argument("--in-flight", type=int, default=4, help="batched POSTs outstanding at once (default 4)")
    parser.add_argument("--single-objects", type=int, default=10000, help="objects in the single-object run")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients in the single-object run")
    parser.add_argument("--shared-source", action="store_true",
                        help="all single-object clients connect from 127.0.0.1 (one per-address rate limit)")
    parser.add_argument("--authors", type=int, default=500, help="distinct signing authors (default 500)")
    parser.add_argument("--baseline-seconds", type=float, default=2.0, help="duration of each raw verify baseline")
    parser.add_argument("--only", choices=["batched", "single", "stages"], help="run one part only")
    args = parser.parse_args()
    count = max(args.objects, args.single_objects)
    cores = sorted(benchlib.all_cpus())
    benchlib.describe_run("http_ingest_bench", {
        "objects": f"{args.objects} batched ({args.batch} per POST, {args.in_flight} in flight); "
                   f"{args.single_objects} single ({args.clients} clients)",
        "authors": f"{args.authors}, objects are offers (signed before timing)",
        "hub": "fresh `kinode hub` per run, data dir under the system temp dir, synchronous=FULL"})

    begin = time.perf_counter()
    objects = benchlib.signed_offers(count, args.authors)
    sizes = [len(o.wire) for o in objects]
    print(f"signed {count} objects in {time.perf_counter() - begin:.1f} s; wire size mean {statistics.mean(sizes):.0f} B, "
          f"max {max(sizes)} B")
    raw = [benchlib.best_raw_verify(args.baseline_seconds)]
    raw2 = benchlib.best_raw_verify(args.baseline_seconds, threads=len(cores))
    print(f"baseline: raw crypto_sign_open, 1 thread {raw[0]:.0f}/s; {len(cores)} threads {raw2:.0f}/s\n")

    rows = []
    with tempfile.TemporaryDirectory(prefix="kinode-http-bench-") as tmp:
        root = Path(tmp)
        if args.only in (None, "batched"):
            bodies = [benchlib.batch_body([o.wire for o in objects[i:i + args.batch]])
                      for i in range(0, args.objects, args.batch)]
            work = lambda url: asyncio.run(post_batches(url, bodies, args.in_flight))  # noqa: E731
            setups = [("one core", {cores[0]}, set(cores[1:]) or None, TARGET_ONE_CORE)]
            if len(cores) > 1:
                setups.append((f"{len(cores)} cores", None, None, TARGET_BOTH))
            for label, hub_cpus, load_cpus, target in setups:
                (seconds, accepted, latencies), cpu = run_hub(root, f"batched-{len(rows)}", hub_cpus, load_cpus, work)
                if accepted != args.objects:
                    print(f"  warning: {accepted} of {args.objects} accepted")
                rate = accepted / seconds
                rows.append((label, rate, cpu / seconds, target, latencies))
            raw.append(benchlib.best_raw_verify(args.baseline_seconds))
            baseline = max(raw)
            print(f"1. batched ingest over HTTP ({args.batch} objects per POST, {args.in_flight} in flight), "
                  f"baseline raw verify {baseline:.0f}/s (best of {len(raw)} runs, 1 thread):")
            for label, rate, busy, target, latencies in rows:
                print(f"   hub on {label:<9} {rate:8.0f} objects/s  ratio {rate / baseline:5.2f}x raw verify "
                      f"(target >= {target}x)  hub CPU {busy:.2f} cores busy  "
                      f"POST latency median {statistics.median(latencies) * 1000:.0f} ms")
            print()

        if args.only in (None, "single"):
            bodies = [benchlib.batch_body([o.wire]) for o in objects[:args.single_objects]]
            work = lambda url: asyncio.run(post_singles(url, bodies, args.clients, not args.shared_source))  # noqa: E731
            load_before = os.times()
            (seconds, accepted, latencies), cpu = run_hub(root, "single", None, None, work)
            load_after = os.times()
            load_cpu = (load_after.user + load_after.system) - (load_before.user + load_before.system)
            rate = accepted / seconds
            p50, p99 = statistics.median(latencies), benchlib.percentile(latencies, 0.99)
            print(f"2. single-object POSTs, {args.clients} concurrent keep-alive clients "
                  f"({'one source address' if args.shared_source else 'one loopback address each'}), "
                  f"load generator sharing the {len(cores)} cores:")
            print(f"   {rate:8.0f} objects/s (target >= {TARGET_SINGLE_RATE}), ack latency p50 {p50 * 1000:.1f} ms, "
                  f"p99 {p99 * 1000:.1f} ms (target < {TARGET_P99 * 1000:.0f} ms), {accepted}/{args.single_objects} accepted")
            print(f"   hub CPU {cpu / seconds:.2f} cores busy; load generator CPU {load_cpu / seconds:.2f} cores busy")
            print()

    if args.only in (None, "stages"):
        costs = stage_costs(objects, args.batch)
        total = sum(v for k, v in costs.items() if not k.startswith("of which"))
        print(f"3. where the time goes: hub stages run here on one thread, {args.batch} objects per batch, "
              "microseconds per object:")
        for name, micros in costs.items():
            print(f"   {name:<34} {micros:7.1f} us")
        print(f"   {'sum of stages':<34} {total:7.1f} us  -> at most {1e6 / total:.0f} objects/s on one core, "
              f"{1e6 / total / (1e6 / costs['of which raw verify']):.2f}x raw verify, before HTTP")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

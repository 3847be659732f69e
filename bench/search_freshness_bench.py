"""Search freshness on a real `kinode hub`: from an inbox commit to the listing being found, under sustained ingest.

    .venv/bin/python bench/search_freshness_bench.py [--seconds 15] [--loaders 4] [--batch 100] [--probes 150]

The hub indexes search behind the commit (storage/deferred.py) and a search
waits, at most 2 s, for its index to reach the log position it had when the
request arrived (spec 9.6, Freshness). This measures what a person sees:

- loaders (another process, from 127.0.0.2) POST batches of fresh offers as
  fast as the hub answers, for the whole run;
- a prober (127.0.0.1) POSTs one offer with a word of its own, one at a
  time; as soon as the inbox answers "accepted" (committed and durable) it
  searches for the word. The lag is from that answer to the search answer
  holding the offer (searching again if one does not: none should);
- the same probes with no loader first: the baseline of the same run, the
  accept-then-search round trip itself.

Printed: lag p50/p99 (and max) under load and unloaded, the ingest rate the
loaders sustained, how many probes the first search found, and how far the
index lagged behind the log (log_seq - indexed_through, in objects) in
answers: 0 means the search's wait covered the whole lag.
"""

import argparse
import asyncio
import multiprocessing
import os
import secrets
import tempfile
import time
from pathlib import Path

import aiohttp

import benchlib
from protocol.envelope import sign
from protocol.identity import Identity

LIMITS = ["--rate-limit", "1000000:1000000", "--author-rate-limit", "1000000:1000000",
          "--work-limit", "1000000:1000000"]  # this measures the index, not the rate limits


def _sign_chunk(args: tuple[int, int, int]) -> list[bytes]:
    start, count, created_at = args
    authors = [Identity((9 << 40 | i).to_bytes(32, "big")) for i in range(500)]
    return [sign(authors[n % 500], "offer", benchlib.offer_body(n, benchlib.WORDS), created_at).wire
            for n in range(start, start + count)]


def loader_bodies(objects: int, batch: int) -> list[bytes]:
    created_at = int(time.time()) - 60
    with multiprocessing.Pool(2) as pool:  # signing is the slow part of setting up
        chunks = pool.map(_sign_chunk, [(s, min(batch, objects - s), created_at) for s in range(0, objects, batch)])
    return [benchlib.batch_body(chunk) for chunk in chunks]


def load_process(url: str, bodies: list[bytes], connections: int, started, stop, results) -> None:
    asyncio.run(_load(url, bodies, connections, started, stop, results))


async def _load(url: str, bodies: list[bytes], connections: int, started, stop, results) -> None:
    queue = list(reversed(bodies))
    accepted = 0

    async def connection() -> None:
        nonlocal accepted
        connector = aiohttp.TCPConnector(limit=1, local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=connector) as session:
            while queue and not stop.is_set():
                async with session.post(url + "/ki/v1/inbox", data=queue.pop(),
                                        headers={"Content-Type": "application/json"}) as response:
                    answer = await response.json()
                    accepted += sum(r["status"] == "accepted" for r in answer.get("results", ()))

    begin = time.perf_counter()
    started.set()
    await asyncio.gather(*(connection() for _ in range(connections)))
    results.put((accepted, time.perf_counter() - begin, len(queue) == 0))


async def probe(url: str, probes: int, prober: Identity) -> tuple[list[float], int, list[int]]:
    """(lags, found by the first search, log_seq - indexed_through of each first answer)."""
    lags, first_hits, behind = [], 0, []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for n in range(probes):
            word = "probe" + secrets.token_hex(6)
            listing = sign(prober, "offer", {**benchlib.offer_body(n, benchlib.WORDS), "title": f"Probe {word}"},
                           int(time.time()) - 30)
            async with session.post(url + "/ki/v1/inbox", data=benchlib.batch_body([listing.wire]),
                                    headers={"Content-Type": "application/json"}) as response:
                status = (await response.json())["results"][0]["status"]
                if status != "accepted":
                    raise RuntimeError(f"the probe was answered {status}")
            committed = time.perf_counter()
            for attempt in range(100):
                async with session.get(url + "/ki/v1/search", params={"q": word}) as response:
                    page = await response.json()
                if attempt == 0:
                    behind.append(page["log_seq"] - page["indexed_through"])
                if any(r["id"] == listing.id for r in page["results"]):
                    first_hits += attempt == 0
                    break
            else:
                raise RuntimeError(f"probe {n} was never found")
            lags.append(time.perf_counter() - committed)
    return lags, first_hits, behind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the loaded phase at most")
    parser.add_argument("--objects", type=int, default=60_000, help="pre-signed objects for the loaders")
    parser.add_argument("--loaders", type=int, default=4, help="concurrent loader connections")
    parser.add_argument("--batch", type=int, default=100, help="objects per loader POST")
    parser.add_argument("--probes", type=int, default=150, help="probes in each phase")
    args = parser.parse_args()
    benchlib.describe_run("search freshness bench (commit to searchable, real kinode hub)", {
        "loaders": f"{args.loaders} connections from 127.0.0.2, batches of {args.batch}, "
                   f"{args.objects} pre-signed offers, at most {args.seconds:.0f} s",
        "probes": f"{args.probes} per phase, one at a time from 127.0.0.1"})
    bodies = loader_bodies(args.objects, args.batch)
    prober = Identity.generate()
    with tempfile.TemporaryDirectory() as root:
        hub = benchlib.start_hub(Path(root), "hub", extra_args=LIMITS)
        try:
            quiet, quiet_first, _ = asyncio.run(probe(hub.url, args.probes, prober))
            started, stop, results = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Queue()
            loader = multiprocessing.Process(target=load_process,
                                             args=(hub.url, bodies, args.loaders, started, stop, results))
            loader.start()
            started.wait()
            cpu_before, wall_before = benchlib.cpu_seconds(hub.process.pid), time.perf_counter()
            deadline = time.perf_counter() + args.seconds
            loaded, loaded_first, behind = [], 0, []
            while time.perf_counter() < deadline and loader.is_alive() and len(loaded) < args.probes:
                lags, first, gaps = asyncio.run(probe(hub.url, 10, prober))
                loaded += lags
                loaded_first += first
                behind += gaps
            hub_cpu = (benchlib.cpu_seconds(hub.process.pid) - cpu_before) / (time.perf_counter() - wall_before)
            stop.set()
            accepted, seconds, drained = results.get(timeout=60)
            loader.join()
        finally:
            benchlib.stop_hub(hub)
    print(f"unloaded:  {len(quiet)} probes, accept -> found {benchlib.summary(quiet)}; "
          f"{quiet_first} found by the first search")
    print(f"loaded:    {len(loaded)} probes, accept -> found {benchlib.summary(loaded)}; "
          f"{loaded_first} found by the first search")
    print(f"           while the loaders stored {accepted / seconds:.0f} objects/s for {seconds:.1f} s"
          f"{' (ran out of pre-signed objects: raise --objects)' if drained else ''}; hub CPU {hub_cpu:.2f} s/s")
    print(f"index behind the log in search answers: max {max(behind, default=0)} objects, "
          f"{sum(b > 0 for b in behind)} of {len(behind)} answers behind (0: the search's wait covered the lag)")
    print(f"ratio loaded/unloaded: p50 {benchlib.percentile(loaded, 0.5) / benchlib.percentile(quiet, 0.5):.1f}x, "
          f"p99 {benchlib.percentile(loaded, 0.99) / benchlib.percentile(quiet, 0.99):.1f}x")
    print(f"(load average at the end {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()

"""Hub ingest over HTTP on loopback, next to a raw Ed25519 verify loop measured in the same run.

    .venv/bin/python bench/http_ingest_bench.py [--objects 20000] [--batch 200] [--clients 32] ...

Objects are realistic ~1 KB offers signed before any timing by many authors
(so the per-author rate limit never bites). Every hub is a real `kinode hub`
process with a fresh data directory (SQLite WAL, synchronous=FULL, search
index on), started by tests/e2e/harness.py.

1. batched: POST /ki/v1/inbox with --batch objects per request, --in-flight
   requests outstanding; objects/s until the last acknowledgement, as a
   ratio of the single-thread crypto_sign_open loop (targets: >= 0.6 with
   the hub pinned to one core and the load generator on the other; >= 1.2
   with the hub free to use both cores, load generator sharing them). On
   more than one core: the default (threads up to two cores, then a verify
   process per core beyond the second), one verify process, one per core.
2. single: --clients concurrent keep-alive aiohttp clients, one object per
   POST; objects/s and acknowledgement latency p50/p99 (target >= 5,000/s,
   p99 < 20 ms). The load generator runs on the same cores. Each client
   connects from its own loopback address (127.0.0.x), as 32 real clients
   would, so the per-address request limit (200/s) applies per client. The
   same clients then drive bench/http_floor.py, aiohttp answering without
   doing anything: the ceiling HTTP itself leaves on these cores.
3. and 4. where the time goes (bench/ingest_stages.py): the hub's stages
   run in this process, one thread, on the same objects, batched and one
   object per request: JSON parse, validate_batch, what crossing to a
   verify process costs (as it was: values there and objects back; now:
   bytes there and failures back), the store's write with and without the
   search index, receipts, rate limits, the answer.

The figures are what this machine gives under whatever else runs on it; no
figure is asserted. Hub CPU seconds per second show how many cores it kept busy.
"""

import argparse
import asyncio
import collections
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

import benchlib
import ingest_stages

TARGET_ONE_CORE, TARGET_BOTH, TARGET_SINGLE_RATE, TARGET_P99 = 0.6, 1.2, 5000, 0.020


async def post_batches(url: str, bodies: list[bytes], in_flight: int) -> tuple[float, int, list[float]]:
    """(seconds until the last ack, objects accepted, per-request latencies) for all bodies."""
    queue = list(reversed(bodies))
    accepted, latencies = 0, []

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        while queue:
            count = await post_inbox(session, url, queue.pop(), latencies)  # not `accepted += await`:
            accepted += count  # that reads `accepted` before the await and loses other clients' counts

    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(sender(session) for _ in range(in_flight)))
        return time.perf_counter() - start, accepted, latencies


async def post_inbox(session: aiohttp.ClientSession, url: str, body: bytes, latencies: list[float]) -> int:
    """POST one inbox body; record its latency; return how many of its objects were accepted."""
    begin = time.perf_counter()
    async with session.post(url + "/ki/v1/inbox", data=body, headers={"Content-Type": "application/json"}) as response:
        answer = await response.json()
    latencies.append(time.perf_counter() - begin)
    if response.status != 200:
        raise RuntimeError(f"hub answered {response.status}: {answer}")
    return sum(r["status"] == "accepted" for r in answer["results"])


async def post_singles(url: str, bodies: list[bytes], clients: int, distinct_sources: bool):
    """(seconds, accepted, latencies) with `clients` keep-alive clients, one object per request."""
    queue = list(reversed(bodies))
    accepted, latencies = 0, []

    async def client(index: int) -> None:
        nonlocal accepted
        local = (f"127.0.0.{10 + index}", 0) if distinct_sources else None
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1, local_addr=local)) as session:
            while queue:
                count = await post_inbox(session, url, queue.pop(), latencies)
                accepted += count

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return time.perf_counter() - start, accepted, latencies


STAGES = [("Ed25519 verify", "signature_valid"), ("search index", "search_index.py"),
          ("other storage", "storage/"), ("validation, rest", "validate_batch"), ("parse batch JSON", "canonical.py"),
          ("gossip", "gossip.py"), ("HTTP (aiohttp)", "aiohttp/")]
SPY_RATE = 100


def start_spy(py_spy: str, pid: int, out: Path) -> subprocess.Popen:
    """py-spy sampling the hub's busy threads (idle samples are left out) until SIGINT."""
    return subprocess.Popen([py_spy, "record", "-p", str(pid), "-r", str(SPY_RATE), "--threads", "--nonblocking",
                             "-f", "raw", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def spy_report(out: Path, seconds: float) -> list[str]:
    """Per hub thread: share of the run it was busy, and on what."""
    busy: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for line in out.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        thread = re.sub(r"\s*\(\d+\)", "", stack.split(";", 1)[0]).removeprefix("thread").strip(" :") or "(unnamed)"
        stage = next((name for name, marker in STAGES if marker in stack), "other")
        busy[thread][stage] += int(count)
    lines = [f"   py-spy, {SPY_RATE} samples/s, busy samples only: share of the run each hub thread was running"]
    for thread, stages in sorted(busy.items(), key=lambda item: -sum(item[1].values())):
        total = sum(stages.values())
        parts = ", ".join(f"{name} {n / (SPY_RATE * seconds):.0%}" for name, n in stages.most_common(4))
        lines.append(f"   {thread:<24} {total / (SPY_RATE * seconds):4.0%} busy: {parts}")
    return lines


def run_hub(root: Path, name: str, hub_cpus: set[int] | None, load_cpus: set[int] | None, work,
            py_spy: str | None = None, hub_args: list[str] = ()):
    """Start a fresh hub on `hub_cpus`, warm it up, run `work(url)` with this process on `load_cpus`.

    Returns (work's result, hub CPU seconds, this process's CPU seconds, both during the work,
    lines of py-spy's report if asked for).
    """
    with benchlib.cpus(hub_cpus):
        hub = benchlib.start_hub(root, name, extra_args=list(hub_args))
    try:
        warm = [o.wire for o in benchlib.signed_offers(400, 40, seed=999)]
        asyncio.run(post_batches(hub.url, [benchlib.batch_body(warm[i:i + 200]) for i in (0, 200)], 1))
        with benchlib.cpus(load_cpus):
            spy = start_spy(py_spy, hub.process.pid, root / f"{name}.spy") if py_spy else None
            cpu_before, own_before = benchlib.cpu_seconds(hub.process.pid), time.process_time()
            result = work(hub.url)
            own = time.process_time() - own_before
            cpu_used = benchlib.cpu_seconds(hub.process.pid) - cpu_before
        report = []
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
            report = spy_report(root / f"{name}.spy", result[0])
        return result, cpu_used, own, report
    finally:
        benchlib.stop_hub(hub)


def print_single(label: str, seconds: float, accepted: int, latencies: list[float], cpu: float, load_cpu: float,
                 expected: int) -> None:
    rate = accepted / seconds
    p50, p99 = statistics.median(latencies), benchlib.percentile(latencies, 0.99)
    print(f"   {label}:\n      {rate:7.0f} objects/s (target >= {TARGET_SINGLE_RATE}), ack latency p50 "
          f"{p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms (target < {TARGET_P99 * 1000:.0f} ms), {accepted}/{expected} "
          f"accepted; server CPU {cpu / seconds:.2f} cores busy, {cpu / max(1, accepted) * 1e6:.0f} us/request; "
          f"load generator CPU {load_cpu / seconds:.2f} cores busy")


def run_floor(work) -> tuple[float, int, list[float], float, float]:
    """`work` against bench/http_floor.py: (seconds, answered, latencies, server CPU s, load generator CPU s)."""
    floor = subprocess.Popen([sys.executable, str(Path(__file__).with_name("http_floor.py"))],
                             stdout=subprocess.PIPE, text=True)
    try:
        url = floor.stdout.readline().split()[-1]
        cpu_before, own_before = benchlib.cpu_seconds(floor.pid), time.process_time()
        seconds, answered, latencies = work(url)
        return (seconds, answered, latencies, benchlib.cpu_seconds(floor.pid) - cpu_before,
                time.process_time() - own_before)
    finally:
        floor.terminate()
        floor.wait(15)


def print_stages(title: str, costs: dict[str, float]) -> None:
    """The stages, their sum (indented lines are parts or variants, not added) and what it allows."""
    total = sum(v for k, v in costs.items() if not k.startswith(("of which", "wall", " ")))
    print(title)
    for name, micros in costs.items():
        if not name.startswith("wall"):
            wall = costs.get("wall: " + name)
            print(f"   {name:<44} {micros:7.1f} us" + (f"   (wall {wall:.1f} us)" if wall else ""))
    line = f"   {'sum of stages':<44} {total:7.1f} us  -> at most {1e6 / total:.0f} objects/s on one core"
    if "of which raw verify" in costs:
        line += f", {costs['of which raw verify'] / total:.2f}x raw verify, before HTTP"
    print(line)


def baseline(seconds: float) -> tuple[float, float]:
    """(raw verifies per wall second, per CPU-second), one thread, measured now."""
    return benchlib.best_raw_verify(seconds), benchlib.raw_verify_cpu_rate(seconds / 2)


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
    parser.add_argument("--baseline-seconds", type=float, default=1.5, help="duration of each raw verify baseline")
    parser.add_argument("--py-spy", metavar="PATH", help="py-spy executable: profile the hub's threads during "
                        "the runs on all cores (pip install py-spy into any venv, not the project's)")
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
    raw2 = benchlib.best_raw_verify(args.baseline_seconds, threads=len(cores))
    print(f"raw crypto_sign_open in {len(cores)} threads at once: {raw2:.0f}/s (what the cores do together)")
    print("ratios: wall = objects/s / raw verify/s of one thread measured just before and after the run;\n"
          "        cpu  = objects per hub CPU-second / raw verifies per CPU-second (robust to other load)\n")

    with tempfile.TemporaryDirectory(prefix="kinode-http-bench-") as tmp:
        root = Path(tmp)
        if args.only in (None, "batched"):
            bodies = [benchlib.batch_body([o.wire for o in objects[i:i + args.batch]])
                      for i in range(0, args.objects, args.batch)]
            work = lambda url: asyncio.run(post_batches(url, bodies, args.in_flight))  # noqa: E731
            # The default (kinode.verifier.default_workers: threads up to two cores, then a worker
            # process per core beyond the second) beside one worker process and one per core.
            setups = [("one core", {cores[0]}, set(cores[1:]) or None, TARGET_ONE_CORE, [])]
            if len(cores) > 1:
                setups.append((f"{len(cores)} cores, default ({max(0, len(cores) - 2)} verify processes)", None, None,
                               TARGET_BOTH, []))
                for workers in sorted({1, len(cores)}):
                    setups.append((f"{len(cores)} cores, --verify-workers {workers}", None, None, TARGET_BOTH,
                                   ["--verify-workers", str(workers)]))
            print(f"1. batched ingest over HTTP ({args.batch} objects per POST, {args.in_flight} in flight):")
            for index, (label, hub_cpus, load_cpus, target, hub_args) in enumerate(setups):
                before = baseline(args.baseline_seconds)
                (seconds, accepted, latencies), cpu, _, report = run_hub(root, f"batched-{index}", hub_cpus, load_cpus, work,
                                                                 args.py_spy if hub_cpus is None else None, hub_args)
                after = baseline(args.baseline_seconds)
                raw_wall, raw_cpu = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
                if accepted != args.objects:
                    print(f"   warning: {accepted} of {args.objects} accepted")
                rate = accepted / seconds
                print(f"   hub on {label}:\n      {rate:7.0f} objects/s, raw verify {raw_wall:.0f}/s: wall ratio "
                      f"{rate / raw_wall:4.2f}x (target >= {target}x); hub CPU {cpu / seconds:.2f} cores busy, "
                      f"{cpu / accepted * 1e6:.0f} us/object, cpu ratio {accepted / cpu / raw_cpu:4.2f}x; "
                      f"POST latency median {statistics.median(latencies) * 1000:.0f} ms")
                if report:
                    print("\n".join(report))
            print()

        if args.only in (None, "single"):
            bodies = [benchlib.batch_body([o.wire]) for o in objects[:args.single_objects]]
            work = lambda url: asyncio.run(post_singles(url, bodies, args.clients, not args.shared_source))  # noqa: E731
            print(f"2. single-object POSTs, {args.clients} concurrent keep-alive clients "
                  f"({'one source address' if args.shared_source else 'one loopback address each'}), "
                  f"load generator sharing the {len(cores)} cores:")
            runs = [("hub, default", []), ("hub, --verify-workers 1", ["--verify-workers", "1"])] \
                if len(cores) > 1 else [("hub, default", [])]
            for index, (label, hub_args) in enumerate(runs):
                (seconds, accepted, latencies), cpu, load_cpu, report = run_hub(
                    root, f"single-{index}", None, None, work, args.py_spy if index == 0 else None, hub_args)
                print_single(label, seconds, accepted, latencies, cpu, load_cpu, args.single_objects)
                if report:
                    print("\n".join(report))
            seconds, accepted, latencies, cpu, load_cpu = run_floor(work)
            print_single("floor: aiohttp doing nothing else (bench/http_floor.py)", seconds, accepted, latencies,
                         cpu, load_cpu, args.single_objects)
            print()

    if args.only in (None, "stages"):
        print_stages(f"3. where the time goes, batched: hub stages run here one after another, {args.batch} "
                     "objects per batch, CPU microseconds per object:", ingest_stages.batched_costs(objects, args.batch))
        print_stages(f"4. where the time goes, one object per request (no HTTP: compare with section 2's hub CPU "
                     f"per object and the floor's), CPU microseconds per object:",
                     ingest_stages.single_costs(objects, args.clients // 2))
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

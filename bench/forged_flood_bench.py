"""An honest client's latency while another address floods a hub with forged-signature batches.

    .venv/bin/python bench/forged_flood_bench.py [--requests 400] [--flooders 4]

One real `kinode hub` with default limits. The honest client (127.0.0.1)
POSTs one valid offer per request, one request at a time, and records each
acknowledgement's latency. First alone (the baseline, same run), then while
--flooders connections from one other address (127.0.0.2) POST batches of
500 well-formed offers from throwaway authors with invalid signatures, as
fast as the hub answers them. Printed: the honest p50/p99 in both phases
and their ratio (target: p99 under the flood at most 2x the unloaded p99),
how the flood's requests were answered, how many forged objects the hub
verified, and the hub's CPU seconds per second in each phase.
"""

import argparse
import asyncio
import json
import multiprocessing
import tempfile
import time
from pathlib import Path

import aiohttp

import benchlib
from protocol.envelope import sign
from protocol.identity import Identity

TARGET = 2.0


def forged_bodies(count: int) -> list[bytes]:
    bodies = []
    for b in range(count):
        objects = []
        for n in range(500):
            good = sign(Identity.generate(), "offer", benchlib.offer_body(n, benchlib.WORDS), int(time.time()) - 60)
            objects.append(json.dumps({**good.as_dict(), "sig": "00" * 64}))
        bodies.append(('{"objects":[' + ",".join(objects) + "]}").encode())
    return bodies


async def honest(url: str, bodies: list[bytes]) -> list[float]:
    latencies = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for body in bodies:
            begin = time.perf_counter()
            async with session.post(url + "/ki/v1/inbox", data=body,
                                    headers={"Content-Type": "application/json"}) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"the honest client got {response.status}")
            latencies.append(time.perf_counter() - begin)
    return latencies


def flood_process(url: str, bodies: list[bytes], connections: int, stop, results) -> None:
    tally = {"verified": 0, "errors": 0}
    asyncio.run(flood(url, bodies, connections, stop, tally))
    results.put(tally)


async def flood(url: str, bodies: list[bytes], connections: int, stop, tally: dict) -> None:
    connector = aiohttp.TCPConnector(limit=connections, local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one(index: int) -> None:
            n = index
            while not stop.is_set():
                body = bodies[n % len(bodies)]
                n += connections
                try:
                    async with session.post(url + "/ki/v1/inbox", data=body,
                                            headers={"Content-Type": "application/json"}) as response:
                        answer = await response.read()
                        tally[response.status] = tally.get(response.status, 0) + 1
                        if response.status == 200:
                            tally["verified"] += len(json.loads(answer)["results"])
                    await asyncio.sleep(0)  # straight back: a flooder does not honour Retry-After
                except aiohttp.ClientError:
                    tally["errors"] += 1

        await asyncio.gather(*(one(i) for i in range(connections)))


async def measure(hub, args) -> None:
    singles = [benchlib.batch_body([o.wire]) for o in benchlib.signed_offers(2 * args.requests, authors=50)]
    forged = forged_bodies(8)
    pid = hub.process.pid

    cpu0, t0 = benchlib.cpu_seconds(pid), time.perf_counter()
    alone = await honest(hub.url, singles[:args.requests])
    cpu_alone = (benchlib.cpu_seconds(pid) - cpu0) / (time.perf_counter() - t0)

    # The flood runs in its own process, so that sending it does not slow the honest client's loop.
    stop, results = multiprocessing.Event(), multiprocessing.Queue()
    flooder = multiprocessing.Process(target=flood_process, args=(hub.url, forged, args.flooders, stop, results))
    flooder.start()
    await asyncio.sleep(1.0)  # let the flood use up its burst first: the steady state is what lasts
    cpu0, t0 = benchlib.cpu_seconds(pid), time.perf_counter()
    loaded = await honest(hub.url, singles[args.requests:])
    seconds = time.perf_counter() - t0
    cpu_loaded = (benchlib.cpu_seconds(pid) - cpu0) / seconds
    stop.set()
    tally = results.get(timeout=60)
    flooder.join(30)

    p_alone, p_loaded = percentiles(alone), percentiles(loaded)
    print(f"  honest alone        p50 {p_alone[0] * 1e3:7.2f} ms   p99 {p_alone[1] * 1e3:7.2f} ms   "
          f"hub CPU {cpu_alone:.2f} s/s")
    print(f"  honest under flood  p50 {p_loaded[0] * 1e3:7.2f} ms   p99 {p_loaded[1] * 1e3:7.2f} ms   "
          f"hub CPU {cpu_loaded:.2f} s/s")
    ratio = p_loaded[1] / p_alone[1]
    print(f"  p99 ratio           {ratio:.2f}x (target <= {TARGET:g}x: {'met' if ratio <= TARGET else 'NOT met'})")
    answers = {k: v for k, v in tally.items() if isinstance(k, int)}
    print(f"  flood answers       {answers}, connection errors {tally['errors']}; "
          f"{tally['verified']} forged objects verified in all ({tally['verified'] / (seconds + 1):.0f}/s)")


def percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="honest requests per phase")
    parser.add_argument("--flooders", type=int, default=4, help="concurrent flood connections")
    parser.add_argument("--unpinned", action="store_true", help="let hub and clients share every core")
    args = parser.parse_args()
    benchlib.describe_run("forged flood: honest latency while one address sends forged signatures",
                          {"requests": args.requests, "flooders": args.flooders})
    cores = sorted(benchlib.all_cpus())
    # With two cores or more the hub gets one to itself and the clients (honest and flood) the
    # rest: on one shared core the flood generator's own CPU would be what slows the honest client.
    hub_cores, client_cores = ({cores[0]}, set(cores[1:])) if len(cores) > 1 and not args.unpinned else (None, None)
    print(f"  hub on cores {sorted(hub_cores) if hub_cores else 'any'}, clients on "
          f"{sorted(client_cores) if client_cores else 'any'}")
    with tempfile.TemporaryDirectory() as root:
        with benchlib.cpus(hub_cores):
            hub = benchlib.start_hub(Path(root), "hub")
        try:
            with benchlib.cpus(client_cores):
                asyncio.run(measure(hub, args))
        finally:
            benchlib.stop_hub(hub)


if __name__ == "__main__":
    main()

"""Hub ingest with 200 stream subscribers, next to ingest with none in the same run.

    .venv/bin/python bench/stream_fanout_bench.py [--objects 4000] [--subscribers 200]

One real `kinode hub`. Phase 1 ingests --objects signed offers (batches of
100, 4 in flight) with no subscriber; phase 2 opens --subscribers
`GET /ki/v1/stream` connections (from 127.0.0.2..., at most 8 per address,
the default stream cap) in a separate process that reads and discards
every byte, then ingests as many new offers. Printed per phase: objects/s
until the last acknowledgement, hub CPU microseconds per object, and (phase
2) the bytes the subscribers received against what 200 full copies would
be. Target: phase 2 at least 0.8x the objects/s of phase 1.
"""

import argparse
import asyncio
import multiprocessing
import selectors
import socket
import tempfile
import time
from pathlib import Path

import aiohttp

import benchlib

TARGET = 0.8


def subscribers_process(port: int, count: int, ready, stop, results) -> None:
    """Open `count` streams, drain them until `stop`, and report the bytes received."""
    selector, received = selectors.DefaultSelector(), 0
    socks = []
    for n in range(count):
        sock = socket.socket()
        sock.bind((f"127.0.0.{2 + n // 8}", 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"GET /ki/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"stream {n} refused: {head[:200]!r}")
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        socks.append(sock)
    ready.set()
    while not stop.is_set():
        for key, _ in selector.select(0.1):
            try:
                data = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            received += len(data)
    results.put(received)
    for sock in socks:
        sock.close()


async def ingest(url: str, bodies: list[bytes], in_flight: int = 4) -> float:
    queue = list(reversed(bodies))
    async with aiohttp.ClientSession() as session:
        async def sender() -> None:
            while queue:
                body = queue.pop()
                async with session.post(url + "/ki/v1/inbox", data=body,
                                        headers={"Content-Type": "application/json"}) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"ingest answered {response.status}")

        begin = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(in_flight)))
        return time.perf_counter() - begin


def phase(hub, offers: list, label: str) -> tuple[float, float]:
    bodies = [benchlib.batch_body([o.wire for o in offers[i:i + 100]]) for i in range(0, len(offers), 100)]
    cpu0 = benchlib.cpu_seconds(hub.process.pid)
    seconds = asyncio.run(ingest(hub.url, bodies))
    cpu = benchlib.cpu_seconds(hub.process.pid) - cpu0
    rate = len(offers) / seconds
    print(f"  {label:<24} {rate:8.0f} objects/s   hub CPU {cpu / len(offers) * 1e6:6.0f} µs/object")
    return rate, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=4000)
    parser.add_argument("--subscribers", type=int, default=200)
    args = parser.parse_args()
    benchlib.describe_run("stream fan-out: ingest with and without subscribers",
                          {"objects": args.objects, "subscribers": args.subscribers})
    offers = benchlib.signed_offers(2 * args.objects, authors=200)
    with tempfile.TemporaryDirectory() as root:
        hub = benchlib.start_hub(Path(root), "hub", extra_args=["--author-rate-limit", "10000:100000"])
        try:
            alone, _ = phase(hub, offers[:args.objects], "no subscribers")
            ready, stop, results = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Queue()
            readers = multiprocessing.Process(target=subscribers_process,
                                              args=(hub.port, args.subscribers, ready, stop, results))
            readers.start()
            if not ready.wait(60):
                raise RuntimeError("the subscribers did not connect")
            watched, _ = phase(hub, offers[args.objects:], f"{args.subscribers} subscribers")
            time.sleep(2)  # let the subscribers drain what is still in flight
            stop.set()
            received = results.get(timeout=60)
            readers.join(30)
            full = args.subscribers * sum(len(o.wire) + 30 for o in offers[args.objects:])
            print(f"  subscribers received {received / 1e6:.1f} MB of about {full / 1e6:.1f} MB "
                  f"({args.subscribers} full copies)")
            ratio = watched / alone
            print(f"  ratio                    {ratio:.2f}x (target >= {TARGET:g}x: {'met' if ratio >= TARGET else 'NOT met'})")
        finally:
            benchlib.stop_hub(hub)


if __name__ == "__main__":
    main()

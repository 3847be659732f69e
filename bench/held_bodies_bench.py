"""Hub memory while many clients hold 4 MiB inbox bodies, against the bound the README states.

    .venv/bin/python bench/held_bodies_bench.py [--clients 100] [--budget-mib 64]

Each client connects from its own loopback address (127.0.0.x, so the
per-address caps stay at their defaults), sends the headers and all but the
last byte of a 4 MiB batch of 500 signed offers, and waits; when every client
holds, they all send their last byte at once and read the answer (200 for
the bodies the budget admitted, 503 + Retry-After for the rest). RSS is read
from /proc every 20 ms. Printed: the hub's RSS before (baseline, after one
batch so the parser has warmed up), the peak while holding, the peak while
the admitted bodies are parsed and verified, after, and the README's bound
for these settings: baseline + 6 x budget + 256 KiB per connection.
"""

import argparse
import socket
import tempfile
import threading
from pathlib import Path

import benchlib
from harness import Proc
from protocol.envelope import sign
from protocol.identity import Identity

MIB = 1024 * 1024


def batch(total: int) -> bytes:
    author = Identity.generate()
    pad = "x" * (total // 500 - 700)
    objects = [sign(author, "offer", {"category": benchlib.CATEGORY, "title": f"Offer {n}", "description": pad,
                                      "price": {"amount": "80.00", "currency": "EUR"}, "unit": "hour"},
                    1767225600 + n) for n in range(500)]
    return b'{"objects":[' + b",".join(o.wire for o in objects) + b"]}"


def status_of(sock: socket.socket) -> str:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
    return data.split(b" ", 2)[1].decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--budget-mib", type=int, default=64)
    args = parser.parse_args()
    benchlib.describe_run("held bodies: hub RSS with clients holding 4 MiB bodies",
                          {"clients": args.clients, "budget": f"{args.budget_mib} MiB"})
    body = batch(4 * MIB - 4096)
    head = (f"POST /ki/v1/inbox HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with tempfile.TemporaryDirectory() as root:
        hub = Proc(["hub", "--data-dir", f"{root}/hub", "--category", benchlib.CATEGORY,
                    "--body-budget", str(args.budget_mib), "--author-rate-limit", "1000:100000"],
                   Path(root) / "hub", Path(root) / "hub.log").start()
        try:
            run(hub, head, body, args)
        finally:
            hub.kill()


def run(hub: Proc, head: bytes, body: bytes, args) -> None:
    warm = socket.create_connection(("127.0.0.1", hub.port))
    warm.sendall(head + body)
    print(f"  warm-up batch answered {status_of(warm)}")
    warm.close()
    baseline = hub.rss_bytes()
    held, release = threading.Barrier(args.clients + 1), threading.Event()
    statuses: list[str] = []
    peaks = {"holding": 0, "processing": 0}
    phase = ["holding"]

    def client(number: int) -> None:
        sock = socket.socket()
        sock.settimeout(120)
        sock.bind((f"127.0.0.{2 + number % 250}", 0))
        sock.connect(("127.0.0.1", hub.port))
        try:
            sock.sendall(head + body[:-1])
        except OSError:
            pass
        held.wait()
        release.wait()
        try:
            sock.sendall(body[-1:])
            statuses.append(status_of(sock))
        except OSError as error:
            statuses.append(type(error).__name__)
        sock.close()

    def sample() -> None:
        while len(statuses) < args.clients:
            peaks[phase[0]] = max(peaks[phase[0]], hub.rss_bytes())
            threading.Event().wait(0.02)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    sampler = threading.Thread(target=sample)
    for thread in threads + [sampler]:
        thread.start()
    held.wait()
    peaks["holding"] = max(peaks["holding"], hub.rss_bytes())
    phase[0] = "processing"
    release.set()
    for thread in threads + [sampler]:
        thread.join()
    after = hub.rss_bytes()
    bound = baseline + 6 * args.budget_mib * MIB + args.clients * 256 * 1024
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    print(f"  answers              {counts}")
    print(f"  RSS baseline         {baseline / MIB:7.0f} MiB")
    print(f"  RSS peak, holding    {peaks['holding'] / MIB:7.0f} MiB")
    print(f"  RSS peak, processing {peaks['processing'] / MIB:7.0f} MiB")
    print(f"  RSS after            {after / MIB:7.0f} MiB")
    peak = max(peaks.values())
    print(f"  README bound         {bound / MIB:7.0f} MiB  (baseline + 6 x budget + 256 KiB x clients): "
          f"peak is {peak / bound:.2f} of it")


if __name__ == "__main__":
    main()

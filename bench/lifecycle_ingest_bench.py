"""Ingest of lifecycle objects against ingest of plain offers, same store, same run (issue 7: >= 0.8x).

    .venv/bin/python bench/lifecycle_ingest_bench.py [--batch 200] [--rounds 3]

The lifecycle objects are the 10,000 of bench/lifecycle_bench.py's project
(1,000 tasks with dependencies, claims, contracts with both signs,
deliveries, acceptances), delivered in (created_at, id) order so that each
one's context is held when it arrives: what a hub pays to judge an object in
context (load its references and their ancestors, run the static checks,
file it under its inherited category, index it by root). The offers are the
same number of ~1 KB offers. Both are signed before timing; each round
stores them into a fresh file store (WAL, synchronous=FULL, every derived
table registered) in batches through the writer thread.

A third figure delivers the lifecycle objects newest first, so almost every
one waits in `pending` and the whole project is judged in the transaction
that stores the project: the worst case of re-judging.

Printed: objects/s of each and the ratio lifecycle/offers. No figure is
asserted.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import signed_offers  # noqa: E402
from lifecycle_bench import build_project  # noqa: E402
from storage import listing, pending  # noqa: E402
from storage.ingest import validate_batch  # noqa: E402
from storage.objects import store_verified  # noqa: E402
from storage.store import Store  # noqa: E402

NOW = 1767225600 + 400 * 86400


def ingest_rate(objs: list, batch: int) -> float:
    """Objects per second storing `objs` (already verified) into a fresh file store."""
    checked = validate_batch([o.wire for o in objs], NOW)
    with tempfile.TemporaryDirectory() as root:
        store = Store(Path(root) / "bench.db")
        try:
            start = time.perf_counter()
            futures = [store.submit(store_verified, checked[i:i + batch], NOW) for i in range(0, len(checked), batch)]
            for future in futures:
                future.result()
            elapsed = time.perf_counter() - start
            stored = store.read_sync(listing.count, include_hidden=False)
            waiting = store.read_sync(pending.count)
        finally:
            store.close()
    if stored != len(objs) or waiting:
        raise SystemExit(f"{stored} of {len(objs)} stored, {waiting} pending: the bench data is wrong")
    return len(objs) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root, rest = build_project()
    lifecycle = sorted([root, *rest], key=lambda o: (o.created_at, o.id))
    offers = signed_offers(len(lifecycle), authors=50)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}; "
          f"{len(lifecycle)} lifecycle objects, {len(offers)} offers, batches of {args.batch}")
    rates: dict[str, list[float]] = {"offers": [], "lifecycle": [], "lifecycle, newest first": []}
    for _ in range(args.rounds):  # interleaved, so a slow moment of the machine hits both
        rates["offers"].append(ingest_rate(offers, args.batch))
        rates["lifecycle"].append(ingest_rate(lifecycle, args.batch))
        rates["lifecycle, newest first"].append(ingest_rate(lifecycle[::-1], args.batch))
    best = {name: max(values) for name, values in rates.items()}
    for name, values in rates.items():
        print(f"{name:>24}: {best[name]:9.0f} objects/s (median {statistics.median(values):.0f})")
    print(f"lifecycle / offers: {best['lifecycle'] / best['offers']:.2f}x (target >= 0.8); "
          f"newest first / offers: {best['lifecycle, newest first'] / best['offers']:.2f}x")


if __name__ == "__main__":
    main()

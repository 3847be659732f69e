"""Storage ingest benchmark: the store against raw sqlite3 executemany, same rows, same run.

    .venv/bin/python bench/storage_ingest_bench.py [--objects N] [--batch B] [--repeat R] [--rss-objects M]

Objects are signed (and so already validated) before timing starts. Timed:

- raw: `executemany` of the objects' rows into the same `objects` table
  (same schema, indexes and pragmas: WAL, synchronous=FULL), one
  transaction per batch: the floor of what SQLite itself costs;
- store (core): `Store.submit(store_verified, batch)` through the writer
  thread, with only the core derived table (current versions) registered;
- store (with search): the same with every registered derived table,
  including the search index, which is indexed behind the commit
  (storage/deferred.py): timed to the last commit, and to the index caught
  up with it (the writer indexes in the same thread, so a long run pays
  for both); each batch's commit latency, p50/p99;
- store (search inline): the search index written inside each ingest
  transaction, as before it was deferred: the same-run baseline for both;
- store at synchronous=NORMAL, to show what FULL costs.

Text is drawn from a vocabulary of a few thousand words with a Zipf-like
distribution (as in search_bench.py), so the FTS5 index grows as it would on
a real hub: a few very common words, a long tail of rare ones.

Printed: objects/s for each, the ratio store/raw (target >= 0.5), bytes of
database file per object, and optionally (--rss-objects M) the peak RSS and
the rate per 50k objects while storing M objects with the search index.
"""

import argparse
import dataclasses
import hashlib
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol.envelope import sign  # noqa: E402
from protocol.identity import Identity  # noqa: E402
from storage import derived, schema  # noqa: E402
from storage.objects import store_verified  # noqa: E402
from storage.search_index import SEARCH_INDEX  # noqa: E402
from storage.store import Store  # noqa: E402
from search_bench import Zipf, vocabulary  # noqa: E402  (bench/ is on sys.path as the script's directory)

T0 = 1_700_000_000
VOCABULARY = 5_000  # distinct words; Zipf-distributed like search_bench.py, so FTS5 posting lists look real


def make_batch(start: int, size: int, authors: list[Identity], words: Zipf):
    """Deterministic, varied objects: offers in a few categories, some profiles; Zipf-ish text."""
    batch = []
    for n in range(start, start + size):
        who = authors[n % len(authors)]
        title = " ".join(words.picks(3 + n % 6)).capitalize()
        description = " ".join(words.picks(15 + n % 46)) + "."
        skills = sorted(set(words.picks(n % 5)))
        if n % 10 == 0:
            batch.append(sign(who, "profile", {"name": title, "bio": description, "skills": skills}, T0 + n))
        else:
            batch.append(sign(who, "offer", {
                "category": ("web-design", "branding", "bookkeeping", "translation")[n % 4],
                "title": title, "description": description,
                "skills": skills, "price": {"amount": f"{100 + n % 900}.00", "currency": "EUR"},
                "unit": ("hour", "day", "fixed")[n % 3]}, T0 + n))
    return batch


def batches(total: int, size: int, authors: list[Identity]) -> list:
    rng = random.Random(1)
    words = Zipf(vocabulary(rng, VOCABULARY), 1.0, rng)
    return [make_batch(start, min(size, total - start), authors, words) for start in range(0, total, size)]


def run_raw(path: Path, all_batches: list) -> float:
    db = schema.connect(path)
    schema.migrate(db)
    conn = db.conn
    sql = ("INSERT INTO objects(id, type, author, created_at, category, received_at, wire) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)")
    started = time.perf_counter()
    for batch in all_batches:
        rows = [(o.id, o.type, o.author, o.created_at, o.category, T0, o.wire) for o in batch]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


@dataclasses.dataclass
class Run:
    """The best of the rounds of one variant: wall seconds and process CPU seconds, to the last commit and to
    the search index caught up with it; every batch's commit latency."""
    commit: float = float("inf")
    indexed: float = float("inf")
    commit_cpu: float = float("inf")
    indexed_cpu: float = float("inf")
    latencies: list = dataclasses.field(default_factory=list)


def run_store(path: Path, all_batches: list, synchronous: str = "FULL", run: Run | None = None,
              catch_up_every: float | None = None) -> float:
    """Seconds to the last commit; with `run`, also the CPU, the latencies and the time to indexed."""
    store = Store(path, synchronous=synchronous, catch_up_every=catch_up_every)
    store._writer.wait_indexed(None, None)
    latencies = []
    started, cpu = time.perf_counter(), time.process_time()  # CPU: the writer thread's; the caller only waits
    for batch in all_batches:
        begin = time.perf_counter()
        store.submit(store_verified, batch, T0).result()
        latencies.append(time.perf_counter() - begin)
    elapsed, commit_cpu = time.perf_counter() - started, time.process_time() - cpu
    store._writer.wait_indexed(None, None)  # the deferred search index caught up with the last commit
    if run is not None:
        run.commit, run.commit_cpu = min(run.commit, elapsed), min(run.commit_cpu, commit_cpu)
        run.indexed = min(run.indexed, time.perf_counter() - started)
        run.indexed_cpu = min(run.indexed_cpu, time.process_time() - cpu)
        run.latencies += latencies
    store.write_sync(lambda db: None)
    store.close()
    return elapsed


def search_inline():
    """Context: the search index written inside each ingest transaction (not deferred), as before."""
    class _Inline:
        def __enter__(self):
            derived.register(dataclasses.replace(SEARCH_INDEX, deferred=False))

        def __exit__(self, *exc):
            derived.register(SEARCH_INDEX)
    return _Inline()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def core_only():
    """Context: only the core derived tables registered."""
    class _Core:
        def __enter__(self):
            self.saved = derived.registered()
            for d in self.saved:
                if d.name != "current_versions":
                    derived.unregister(d.name)

        def __exit__(self, *exc):
            for d in self.saved:
                derived.register(d)
    return _Core()


def rss_run(path: Path, pool: list, total: int) -> None:
    """Store `total` objects (every registered derived table) and report peak RSS and the rate as it grows.

    Signing a million objects would take most of the run, so the signed pool
    is reused with a fresh id per copy: storage trusts verified objects and
    never re-checks the id, and the stored rows are otherwise identical.
    """
    store = Store(path)
    done, started = 0, time.perf_counter()
    mark = (0, started)  # (objects, time) at the last report: the rate is per interval, to show any slowdown
    while done < total:
        for batch in pool:
            copy = [dataclasses.replace(o, id=hashlib.sha256(f"{o.id}:{done}".encode()).hexdigest())
                    for o in batch[:total - done]]
            store.submit(store_verified, copy, T0).result()
            done += len(copy)
            if done % 50_000 == 0 or done == total:
                now = time.perf_counter()
                print(f"  {done:>9} objects  {now - started:6.0f} s  "
                      f"{(done - mark[0]) / (now - mark[1]):7.0f} objects/s since {mark[0]}  "
                      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
                mark = (done, now)
            if done >= total:
                break
    store.close()
    print(f"{total} objects stored: file {file_bytes(path) / 2**20:.0f} MiB "
          f"({file_bytes(path) / total:.0f} B/object), peak RSS of the whole bench "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rss-objects", type=int, default=0, help="also store this many, report peak RSS")
    args = parser.parse_args()

    authors = [Identity(hashlib.sha256(f"bench-{i}".encode()).digest()) for i in range(200)]
    all_batches = batches(args.objects, args.batch, authors)
    wire_bytes = sum(len(o.wire) for b in all_batches for o in b) / args.objects
    print(f"storage ingest bench: {args.objects} objects in batches of {args.batch}, best of {args.repeat}, "
          f"mean wire size {wire_bytes:.0f} B, SQLite {schema.sqlite3.sqlite_version}, "
          f"derived tables: {', '.join(d.name for d in derived.registered())}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Interleaved, best of --repeat: other processes on the machine slow single runs at random.
        raw = normal = float("inf")
        runs = {name: Run() for name in ("core", "inline", "behind", "held")}
        for round_ in range(args.repeat):
            for name in ("raw", "normal", *runs):
                for stale in tmp.glob(f"{name}.db*"):
                    stale.unlink()
            raw = min(raw, run_raw(tmp / "raw.db", all_batches))
            with core_only():
                run_store(tmp / "core.db", all_batches, run=runs["core"])
                normal = min(normal, run_store(tmp / "normal.db", all_batches, synchronous="NORMAL"))
            with search_inline():
                run_store(tmp / "inline.db", all_batches, run=runs["inline"])
            run_store(tmp / "behind.db", all_batches, run=runs["behind"])
            run_store(tmp / "held.db", all_batches, run=runs["held"], catch_up_every=3600)
        rate, core = args.objects, runs["core"].commit
        print(f"raw executemany (FULL):      {rate / raw:10.0f} objects/s")
        print(f"store, core only (FULL):     {rate / core:10.0f} objects/s   ratio store/raw = {raw / core:.2f}"
              " (target >= 0.5)")
        print(f"store, core only (NORMAL):   {rate / normal:10.0f} objects/s   FULL costs {core / normal:.2f}x NORMAL")
        print("with every derived table (FULL), wall objects/s and writer CPU us/object, to the last commit / to the"
              " search index caught up; commit latency per batch:")
        labels = {"core": "core only (no search)", "inline": "search inline (before)",
                  "behind": "search behind the commit", "held": "  same, catch-up held off"}
        for name, run in runs.items():
            print(f"  {labels[name]:<26} {rate / run.commit:7.0f} / {rate / run.indexed:7.0f} obj/s   "
                  f"{run.commit_cpu / rate * 1e6:5.0f} / {run.indexed_cpu / rate * 1e6:5.0f} us   "
                  f"p50 {percentile(run.latencies, 0.5) * 1e3:6.1f} ms, p99 {percentile(run.latencies, 0.99) * 1e3:6.1f} ms")
        base = runs["core"].commit_cpu
        search_cost = {name: (runs[name].commit_cpu - base) / rate * 1e6 for name in ("inline", "behind", "held")}
        print(f"  search's CPU on the commit path, over core: inline {search_cost['inline']:.0f} us/object, "
              f"behind {search_cost['behind']:.0f} (catch-ups in between), held off {search_cost['held']:.0f}; "
              f"indexing in all, behind: {(runs['behind'].indexed_cpu - base) / rate * 1e6:.0f} us/object")
        print(f"  ratio store/raw with search: inline {raw / runs['inline'].commit:.2f}, "
              f"behind {raw / runs['behind'].commit:.2f}, held off {raw / runs['held'].commit:.2f}")
        print(f"database bytes per object:   raw {file_bytes(tmp / 'raw.db') / rate:.0f}, "
              f"core {file_bytes(tmp / 'core.db') / rate:.0f}, with search {file_bytes(tmp / 'behind.db') / rate:.0f}"
              f" (wire alone {wire_bytes:.0f})")

        if args.rss_objects:
            rss_run(tmp / "big.db", all_batches, args.rss_objects)
    print(f"(run: {' '.join(sys.argv)}; pid {os.getpid()})")


if __name__ == "__main__":
    main()

"""Search benchmark: build N synthetic listings, then time the two query shapes that matter.

    .venv/bin/python bench/search_bench.py                    # 100k (about a minute)
    .venv/bin/python bench/search_bench.py --sizes 100000,1000000

Listings go through the real tables: each object row is inserted into
`objects` with the storage layer's own statement and every registered derived
table is given the batch (`Derived.apply_visible`), in one transaction per
batch, exactly as `storage.objects` does during ingest. What is skipped is
signing and verifying (the signature field is a placeholder): that is CPU
work before storage and is measured elsewhere. Ids are real SHA-256 ids of the envelope.

Text is drawn from a vocabulary with a Zipf-like distribution (a few words
are in a large share of listings); categories and currencies are skewed too.
created_at spans two years and arrives mostly in order with local shuffling.

Each size runs in its own child process, so "peak RSS" is that size's build
plus queries (resource.getrusage, ru_maxrss).
"""

import argparse
import bisect
import json
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol import canonical  # noqa: E402
from protocol.envelope import SignedObject, object_id  # noqa: E402
from protocol.identity import Identity  # noqa: E402
from storage import derived, schema  # noqa: E402
from storage import search as search_module  # noqa: E402  (registers the index)
from storage.objects import _INSERT  # noqa: E402
from storage.search import SearchQuery, search  # noqa: E402

T_START = 1_700_000_000
SPAN = 2 * 365 * 86_400
BATCH = 5_000
DOMAIN = ("design logo web site app mobile react python rust data analysis report audit "
          "translation german french english copywriting marketing seo campaign video edit "
          "illustration vector print brand identity accounting tax bookkeeping legal contract "
          "review consulting interim management project coordination backend frontend api "
          "database cloud devops security testing research writing editing photo product "
          "strategy training coaching support sales crm wordpress shop ecommerce email").split()
SYLLABLES = "ka lo mi ne ru sa te vo zi pa do fe gu hi ja ko lu ma ni po".split()
CATEGORIES = [f"cat-{name}" for name in (
    "web-design graphic-design software-dev data-science translation copywriting marketing "
    "accounting legal interim-management video photography consulting devops security "
    "research training sales support ecommerce").split()]
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "JPY"]


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    words = list(DOMAIN)
    seen = set(words)
    while len(words) < size:
        w = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


class Zipf:
    def __init__(self, items: list, s: float, rng: random.Random):
        self.items, self.rng = items, rng
        self.cum = list(accumulate(1.0 / (rank + 1) ** s for rank in range(len(items))))

    def pick(self):
        return self.items[bisect.bisect(self.cum, self.rng.random() * self.cum[-1])]

    def picks(self, k: int) -> list:
        return [self.pick() for _ in range(k)]


def listings(n: int, seed: int = 1):
    rng = random.Random(seed)
    words = Zipf(vocabulary(rng), 1.0, rng)
    categories = Zipf(CATEGORIES, 0.8, rng)
    authors = [Identity(bytes([i % 256, i // 256]) + bytes(30)).did for i in range(2_000)]
    chunk = []
    for i in range(n):
        created_at = T_START + SPAN * i // n + rng.randrange(3600)
        author = rng.choice(authors)
        kind = rng.choices(("offer", "project", "task", "profile"), (50, 20, 25, 5))[0]
        money = {"amount": f"{rng.randrange(10, 20_000)}.{rng.randrange(100):02d}",
                 "currency": rng.choices(CURRENCIES, (50, 25, 10, 10, 5))[0]}
        skills = sorted(set(words.picks(rng.randint(0, 5))))
        title = " ".join(words.picks(rng.randint(3, 8))).capitalize()
        description = " ".join(words.picks(rng.randint(15, 60))) + "."
        if kind == "profile":
            body = {"name": title, "bio": description, "skills": skills,
                    "categories": sorted(set(categories.picks(rng.randint(1, 3))))}
        else:
            body = {"category": categories.pick(), "title": title, "description": description,
                    "skills": skills}
            if kind == "offer":
                body.update(price=money, unit="hour")
            else:
                body.update(budget=money, deadline=created_at + rng.randrange(86_400, 90 * 86_400))
                if kind == "project":
                    body["coordinator"] = author
                else:
                    body.update(project="0" * 64, depends_on=[], claim_lease=3600)
        chunk.append(_object(kind, author, created_at, body))
        if len(chunk) == BATCH:
            rng.shuffle(chunk)  # arrival order is only roughly created_at order
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _object(kind: str, author: str, created_at: int, body: dict) -> SignedObject:
    unsigned = {"v": 1, "type": kind, "author": author, "created_at": created_at, "body": body}
    oid = object_id(unsigned)
    sig = "0" * 128
    wire = canonical.encode({**unsigned, "id": oid, "sig": sig})
    return SignedObject(oid, kind, author, created_at, body, sig, wire)


def build(path: Path, n: int) -> float:
    db = schema.connect(path, synchronous="OFF")
    schema.migrate(db)
    db.conn.execute("BEGIN")
    derived.ensure(db)
    db.conn.execute("COMMIT")
    tables = derived.registered()
    started = time.perf_counter()
    for chunk in listings(n):
        db.conn.execute("BEGIN")
        db.conn.executemany(_INSERT, [(o.id, o.type, o.author, o.created_at, o.category, o.created_at, o.wire)
                                      for o in chunk])
        for table in tables:
            table.apply_visible(db, chunk)  # what storage.objects does for a run of plain objects
        derived.flush(db)  # what the writer does before COMMIT: the index's staged FTS5 writes
        db.conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return elapsed


def timed(db, queries: list[SearchQuery], now: int) -> tuple[list[float], list[float], int]:
    for q in queries[:10]:
        search(db, q, now)  # warm the page cache
    times, cpu, hits = [], [], 0
    for q in queries:
        t, c = time.perf_counter(), time.thread_time()
        page = search(db, q, now)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
        hits += len(page.results)
    return times, cpu, hits


def pct(times: list[float], p: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def run_one(n: int, n_queries: int, keep: str | None) -> dict:
    directory = tempfile.mkdtemp(prefix="kinode-search-bench-")
    path = Path(keep) if keep else Path(directory) / "bench.db"
    build_s = build(path, n)
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    db = schema.connect(path, cache_kib=schema.READER_CACHE_KIB)
    db.conn.execute("PRAGMA query_only = ON")
    rng = random.Random(5)
    vocab = vocabulary(random.Random(1))
    now = T_START + SPAN // 2  # half the projects and tasks are still open
    shapes = {
        "a) recent, term + category": [SearchQuery(q=rng.choice(vocab[5:300]), category=rng.choice(CATEGORIES[:8]),
                                                    order="recent") for _ in range(n_queries)],
        "a') recent, common term + category": [SearchQuery(q=rng.choice(vocab[:5]), category=rng.choice(CATEGORIES[:8]))
                                               for _ in range(n_queries)],
        "b) relevance, common term": [SearchQuery(q=rng.choice(vocab[:10]), order="relevance")
                                      for _ in range(n_queries)],
        "b') relevance, two words": [SearchQuery(q=f"{rng.choice(vocab[:10])} {rng.choice(vocab[10:200])}",
                                                 order="relevance") for _ in range(n_queries)],
    }
    stats = {}
    for name, queries in shapes.items():
        times, cpu, hits = timed(db, queries, now)
        stats[name] = {"p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "cpu_p50_ms": pct(cpu, 50),
                       "cpu_p99_ms": pct(cpu, 99), "mean_hits": hits / len(queries)}
    tables = {}
    try:
        for name, pages in db.conn.execute(
                "SELECT CASE WHEN name LIKE 'search%' THEN 'search' ELSE 'other' END, sum(pgsize) "
                "FROM dbstat GROUP BY 1"):
            tables[name] = pages
    except sqlite3.OperationalError:
        pass  # dbstat not compiled in
    db.conn.close()
    if not keep:
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
        os.rmdir(directory)
    return {"n": n, "build_s": build_s, "bytes_per_object": size / n,
            "search_bytes_per_object": tables.get("search", 0) / n,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "queries": stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated listing counts")
    parser.add_argument("--queries", type=int, default=300, help="queries per shape")
    parser.add_argument("--keep", help="build into this file and keep it (one size only)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.queries, args.keep)))
        return
    print(f"# {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"# python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {platform.machine()}, "
          f"{os.cpu_count()} cpus, relevance window {search_module.RELEVANCE_WINDOW}, "
          f"{args.queries} queries per shape after 10 warm-up, page size 20, temp file db (WAL), "
          f"load average at start {os.getloadavg()[0]:.1f}")
    for n in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--queries", str(args.queries),
                              *(["--keep", args.keep] if args.keep else [])],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"\n{n:,} listings: build {r['build_s']:.0f} s ({n / r['build_s']:,.0f}/s), "
              f"{r['bytes_per_object']:,.0f} bytes/object on disk "
              f"(search tables {r['search_bytes_per_object']:,.0f}), peak RSS {r['peak_rss_mb']:.0f} MB")
        for name, s in r["queries"].items():
            print(f"  {name:36s} p50 {s['p50_ms']:6.2f} ms  p99 {s['p99_ms']:6.2f} ms   "
                  f"(cpu p50 {s['cpu_p50_ms']:5.2f}, p99 {s['cpu_p99_ms']:5.2f} ms; {s['mean_hits']:.1f} hits/page)")


if __name__ == "__main__":
    main()

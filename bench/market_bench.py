"""Marketplace benchmark (spec 14.6): faceted search next to the same query without facets, and matching.

    .venv/bin/python bench/market_bench.py                         # 1M listings, 100k offers (many minutes)
    .venv/bin/python bench/market_bench.py --listings 200000 --offers 100000

Part 1 builds N synthetic listings with bench/search_bench.py's generator
(the real tables, every registered derived table, market_skills included;
signing skipped) and times, in the same run, the query shape "two filters"
(category + currency, 20 results, sort recent) once plain (facets=False) and
once with facets. It prints p50/p99 of each and the ratio facet/plain.

Part 2 builds OFFERS offers in one category (skills from a 300-word
vocabulary, Zipf-like) plus 100 projects, and times GET /ki/v1/match for each
project (kinode.hub.market.match: SQL candidates, score, reputation of the
best 50).

Targets from the issue: facets at most 3x the plain query and p99 under
30 ms at 1M; matching p99 under 100 ms at 100k offers.
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import search_bench  # noqa: E402
from benchlib import describe_run  # noqa: E402
from kinode.hub import market as hub_market  # noqa: E402
from storage import derived, market, schema  # noqa: E402
from storage import market_index  # noqa: E402,F401  (registers market_skills)
from storage.objects import _INSERT  # noqa: E402

NOW = search_bench.T_START + search_bench.SPAN


def pct(times: list[float], p: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def timed(fn, args_list) -> list[float]:
    for args in args_list[:5]:
        fn(*args)  # warm the page cache
    times = []
    for args in args_list:
        started = time.perf_counter()
        fn(*args)
        times.append((time.perf_counter() - started) * 1000)
    return times


def faceted(path: Path, n: int, rounds: int) -> None:
    built = search_bench.build(path, n)
    db = schema.connect(path)
    rng = random.Random(7)
    queries = [market.MarketQuery(category=rng.choice(search_bench.CATEGORIES[:8]),
                                  currency=rng.choice(search_bench.CURRENCIES[:3]), limit=20) for _ in range(rounds)]
    judged = market.Judged()
    plain = timed(lambda q: market.search(db, _no_facets(q), judged, NOW), [(q,) for q in queries])
    facets = timed(lambda q: market.search(db, q, judged, NOW), [(q,) for q in queries])
    sizes = [market.search(db, _no_facets(q), judged, NOW).total for q in queries[:20]]
    print(f"\nfaceted search, {n:,} listings (built in {built:.0f} s), {rounds} queries "
          f"(category + currency; filtered sets of {min(sizes):,}..{max(sizes):,} listings)")
    print(f"  plain (no facets): p50 {pct(plain, 50):7.2f} ms  p99 {pct(plain, 99):7.2f} ms")
    print(f"  with facets:       p50 {pct(facets, 50):7.2f} ms  p99 {pct(facets, 99):7.2f} ms")
    print(f"  ratio facets/plain: p50 {pct(facets, 50) / pct(plain, 50):.1f}x  p99 {pct(facets, 99) / pct(plain, 99):.1f}x")
    db.conn.close()


def _no_facets(query: market.MarketQuery) -> market.MarketQuery:
    from dataclasses import replace
    return replace(query, facets=False)


def matching(path: Path, offers: int, rounds: int) -> None:
    rng = random.Random(11)
    skills = [f"skill{n}" for n in range(300)]
    weights = [1 / (n + 1) for n in range(300)]
    authors = [f"did:key:z6Mk{n:044d}" for n in range(5_000)]
    db = schema.connect(path, synchronous="OFF")
    schema.migrate(db)
    db.conn.execute("BEGIN")
    derived.ensure(db)
    db.conn.execute("COMMIT")
    tables = derived.registered()

    def body(kind: str, at: int, who: str) -> dict:
        chosen = sorted(set(rng.choices(skills, weights, k=rng.randint(1, 5))))
        base = {"category": "web-design", "title": "Work", "description": "Work well done.", "skills": chosen}
        if kind == "offer":
            return {**base, "price": {"amount": str(rng.randrange(50, 5000)), "currency": "EUR"},
                    "unit": rng.choice(["hour", "fixed"])}
        return {**base, "budget": {"amount": "3000", "currency": "EUR"}, "deadline": at + 86400 * 30,
                "coordinator": who}

    started = time.perf_counter()
    projects = []
    for start in range(0, offers + rounds, 5_000):
        chunk = []
        for i in range(start, min(start + 5_000, offers + rounds)):
            kind = "offer" if i < offers else "project"
            at = search_bench.T_START + i
            who = rng.choice(authors)
            chunk.append(search_bench._object(kind, who, at, body(kind, at, who)))
        projects += [o.id for o in chunk if o.type == "project"]
        db.conn.execute("BEGIN")
        db.conn.executemany(_INSERT, [(o.id, o.type, o.author, o.created_at, o.category, o.created_at, o.wire)
                                      for o in chunk])
        for table in tables:
            table.apply_visible(db, chunk)
        derived.flush(db)
        db.conn.execute("COMMIT")
    built = time.perf_counter() - started
    me = "did:key:z6Mk" + "9" * 44
    times = timed(lambda pid: hub_market.match(db, pid, me, NOW, {me}), [(p,) for p in projects])
    sample = hub_market.match(db, projects[0], me, NOW, {me})
    print(f"\nmatching, {offers:,} offers in one category (built in {built:.0f} s), {len(projects)} projects")
    print(f"  match: p50 {pct(times, 50):7.2f} ms  p99 {pct(times, 99):7.2f} ms  "
          f"(first: {len(sample['matches'])} matches, best score {sample['matches'][0]['score']})")
    db.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=1_000_000)
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    describe_run("market_bench", {"listings": args.listings, "offers": args.offers, "rounds": args.rounds})
    with tempfile.TemporaryDirectory() as tmp:
        if args.offers:
            matching(Path(tmp) / "match.db", args.offers, args.rounds)
        if args.listings:
            faceted(Path(tmp) / "market.db", args.listings, args.rounds)


if __name__ == "__main__":
    main()

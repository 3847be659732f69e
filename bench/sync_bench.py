"""What hub-to-hub set reconciliation costs on the wire, next to sending every id.

Two in-memory sets (`protocol.sync.SortedItems`) of N random ids share all
but a few: identical, one item missing on one side, and k random differences
split between the two sides. For each case it runs a full exchange through
`Initiator` / `respond`, encoding and decoding every message as the HTTP layer
would, and prints the JSON bytes of all messages both ways, the round trips,
the bytes per difference and the ratio to the naive approach (the initiator
sends its full id list, 64 hex characters per id, and the responder answers
with the difference). It also checks that have/need came out exactly right.

Targets (issue 12): identical <= 1 KB and 1 round trip; at 1,000,000 items one
difference in <= 3 round trips, and <= 1.5 KB per random difference for 1, 10,
100 and 1,000 differences. Version 1 of the message (ranges of the
(created_at, id) order, cut 8 ways, 16-byte fingerprints) measured 4 round
trips and 2.4-2.5 KB for one difference at 1,000,000, 1.8 KB each for 10.

With `--store N` it also times the SQLite side (`storage.sync_items`): a
file database with kinode's schema and N synthetic object rows, the root's
children (a first request's work) against a plain scan of every id of the
table in the same run.

    .venv/bin/python bench/sync_bench.py [--sizes 100000,1000000] [--seed 1] [--store 200000]
"""

import argparse
import os
import platform
import random
import time

from protocol import sync

KS = (1, 10, 100, 1000)
SALT = bytes(range(8))  # fixed, so a run repeats; a hub draws a fresh one per exchange


def make_items(rnd: random.Random, n: int) -> list[str]:
    return [rnd.randbytes(32).hex() for _ in range(n)]


def exchange(mine: sync.SortedItems, theirs: sync.SortedItems) -> tuple[sync.Initiator, int, int, int]:
    """Run one reconciliation; returns the initiator, bytes both ways, round trips, largest message."""
    initiator = sync.Initiator(mine, salt=SALT)
    message, total, rounds, largest = initiator.start(), 0, 0, 0
    while message is not None:
        request = sync.encode(message)
        reply = sync.encode(sync.respond(theirs, sync.decode_request(request)))
        total += len(request) + len(reply)
        largest = max(largest, len(request), len(reply))
        rounds += 1
        message = initiator.receive(sync.decode_reply(reply))
    return initiator, total, rounds, largest


def naive_bytes(mine: list[str], diff: int) -> int:
    """The full id list one way (`"<64 hex>",` per id) and the differing ids back."""
    return 66 * len(mine) + 66 * diff + 40


def case(name: str, common: list, only_mine: list, only_theirs: list, target: str) -> tuple[int, int, int]:
    """Print one row; returns (differences, bytes, round trips)."""
    mine, theirs = common + only_mine, common + only_theirs
    started = time.perf_counter()
    initiator, total, rounds, largest = exchange(sync.SortedItems(mine), sync.SortedItems(theirs))
    seconds = time.perf_counter() - started
    exact = initiator.have == set(only_mine) and initiator.need == set(only_theirs)
    diff = len(only_mine) + len(only_theirs)
    per = f"{total / diff:8.0f}" if diff else "       -"
    naive = naive_bytes(mine, diff)
    print(f"{name:<22} {diff:>6} {total:>11,} {per} {rounds:>6} {largest:>9,} {naive:>12,} "
          f"{naive / total:>8.0f}x  {'exact' if exact else 'WRONG'}  {seconds:5.1f}s  {target}")
    if not exact:
        raise SystemExit(f"{name}: have/need differ from the true set differences")
    return diff, total, rounds


def run(n: int, rnd: random.Random) -> None:
    print(f"\nN = {n:,} items per side")
    print(f"{'case':<22} {'diffs':>6} {'bytes':>11} {'B/diff':>8} {'rounds':>6} {'largest':>9} "
          f"{'naive bytes':>12} {'saving':>9}")
    common = make_items(rnd, n)
    _, identical, _ = case("identical", common, [], [], "target <= 1,000 B, 1 round")
    extra = make_items(rnd, 1)
    rows = [case("one missing (need)", common[1:], [], common[:1], "target <= 1,500 B, <= 3 rounds"),
            case("one extra (have)", common, extra, [], "target <= 1,500 B, <= 3 rounds")]
    for k in KS:
        if k == 1:
            continue  # the two cases above
        moved = rnd.sample(range(n), k)
        mine_only, theirs_only = set(moved[: k // 2]), set(moved[k // 2:])
        shared = [item for i, item in enumerate(common) if i not in mine_only and i not in theirs_only]
        rows.append(case(f"{k} random differences", shared, [common[i] for i in mine_only],
                         [common[i] for i in theirs_only], "target <= 1,500 B/diff"))
    worst = max(total / diff for diff, total, _ in rows)
    one_rounds = max(rounds for diff, _, rounds in rows if diff == 1)
    met = identical <= 1000 and worst <= 1500 and one_rounds <= 3
    print(f"N = {n:,}: identical {identical:,} B; one difference in {one_rounds} round trips; at most "
          f"{worst:,.0f} B per difference for 1..{KS[-1]:,} differences: {'targets met' if met else 'TARGETS MISSED'}")


def store_run(n: int, rnd: random.Random) -> None:
    import tempfile
    from pathlib import Path

    from storage import schema
    from storage.sync_items import StoredItems

    with tempfile.TemporaryDirectory() as tmp:
        db = schema.connect(Path(tmp) / "sync.sqlite")
        schema.migrate(db)
        rows = [(item_id, "offer", "did:key:bench", 1_700_000_000 + i, "web-design", 0, b"x" * 800)
                for i, item_id in enumerate(make_items(rnd, n))]
        with db.conn:
            db.execute("BEGIN")
            db.conn.executemany("INSERT INTO objects (id, type, author, created_at, category, received_at, wire) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        items = StoredItems(db, ["web-design"], ["profile", "retract"])
        started = time.perf_counter()
        scanned = sum(1 for _ in db.execute("SELECT id FROM objects"))
        scan = time.perf_counter() - started
        started = time.perf_counter()
        children = items.children("")
        root = time.perf_counter() - started
        assert sum(count for count, _ in children) == scanned == n
        probes = [row[0][:3] for row in rows[:200]]
        started = time.perf_counter()
        for prefix in probes:
            items.children(prefix)
        deep = (time.perf_counter() - started) / len(probes)
        db.conn.close()
    print(f"\nSQLite store, {n:,} objects (load average {os.getloadavg()[0]:.2f}): children of the root "
          f"{root:.3f} s, {root / scan:.2f}x a plain scan of every id ({scan:.3f} s); a 3-digit bucket "
          f"{deep * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated set sizes (e.g. 100000,1000000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--store", type=int, default=0, help="also time the SQLite store at this many objects")
    args = parser.parse_args()
    params = sync.Params()
    print(f"protocol.sync bench (message version {sync.VERSION}), Python {platform.python_version()} on "
          f"{platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, seed {args.seed}; "
          f"fan-out {sync.FANOUT}, {sync.FINGERPRINT_BYTES}-byte fingerprints, id-list threshold "
          f"{params.id_list_threshold}, frame limit {params.frame_limit:,} B")
    print("bytes = JSON length of every message both ways; naive = full id list + the difference back")
    rnd = random.Random(args.seed)
    for n in (int(size) for size in args.sizes.split(",")):
        run(n, rnd)
    if args.store:
        store_run(args.store, rnd)


if __name__ == "__main__":
    main()

"""Derived tables indexed behind the commit, from a durable high-water mark.

A `Derived` registered with `deferred=True` (the search index) is not
written by ingest: `storage.objects` stores the objects and commits, and
the table follows later, in the same writer thread and in larger batches,
from `derived_marks.through`, the `objects.seq` through which it is
complete. `catch_up` replays the objects after the mark exactly as a
rebuild does (a run of visible objects through `apply_many`, a hidden one
through `apply(db, obj, True)`), flushes, and moves the mark, all in one
transaction: a crash between an ingest commit and the catch-up loses
nothing, since the objects are durable and the mark still names the last
seq that was indexed; the next open catches up from there.

Hides are not deferred: `storage.objects` still calls `hide` at once. On an
object the table already holds (seq <= mark) that is today's hide; on one
it does not hold yet it finds nothing to remove, and the catch-up later
sees `hidden_by` set and applies the object hidden. Both end where a
rebuild ends (tests/storage/test_search_deferred.py shuffles the orders).

Readers learn how fresh the table is from `freshness`: the mark and the
log's last seq, read in their own snapshot.

The mark relies on `objects.seq` only growing: objects are never deleted,
so no insert can take a seq at or below a mark (a rolled-back insert's seq
was never committed, and catch-ups run in transactions of their own).
"""

from dataclasses import dataclass

from sqlite_utils import Database

from storage import derived

CATCH_UP_LIMIT = 20_000  # objects per catch-up transaction: a long backlog never holds writes for long


@dataclass(frozen=True)
class Freshness:
    """How far a deferred index has got: complete through `indexed_through`, the log at `log_seq`."""

    indexed_through: int
    log_seq: int

    @property
    def behind(self) -> int:
        """Objects the log holds that the index has not taken in yet."""
        return max(self.log_seq - self.indexed_through, 0)


def tables() -> list[derived.Derived]:
    return [d for d in derived.registered() if d.deferred]


log_seq = derived.last_seq  # the log's end, which the deferred tables catch up to


def _marks(db: Database, names: list[str]) -> dict[str, int]:
    return dict(db.execute(f"SELECT name, through FROM derived_marks WHERE name IN ({','.join('?' * len(names))})",
                           names).fetchall())


def freshness(db: Database) -> Freshness:
    """The seq through which every deferred table is complete (the log's end if there is none), and the end."""
    end = log_seq(db)
    names = [d.name for d in tables()]
    if not names:
        return Freshness(end, end)
    marks = _marks(db, names)
    return Freshness(min(marks.get(name, 0) for name in names), end)


def catch_up(db: Database, limit: int = CATCH_UP_LIMIT) -> tuple[Freshness, bool]:
    """Index up to `limit` objects after each deferred table's mark, in seq order, and move the marks.

    Runs inside the caller's transaction. Returns the freshness reached and
    whether objects after a mark remain (call again).
    """
    chosen = tables()
    end = log_seq(db)
    if not chosen:
        return Freshness(end, end), False
    marks = _marks(db, [d.name for d in chosen])
    by_mark: dict[int, list[derived.Derived]] = {}
    for d in chosen:  # tables at the same mark (the usual case) share one pass over the objects
        by_mark.setdefault(marks.get(d.name, 0), []).append(d)
    reached = []
    for mark, group in by_mark.items():
        if mark < end:
            last, whole = derived.replay_guarded(db, group, mark, limit)
            # fewer than `limit` rows: the range is done through the end, gaps in seq included
            mark = last if not whole or (limit >= 0 and _more(db, last, end)) else end
            derived.set_marks(db, [d.name for d in group], mark)
        reached.append(mark)
    return Freshness(min(reached), end), min(reached) < end


def _more(db: Database, last: int, end: int) -> bool:
    return last < end and db.execute("SELECT 1 FROM objects WHERE seq > ? LIMIT 1", [last]).fetchone() is not None

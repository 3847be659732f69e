"""Lifecycle objects held back until their context arrives (spec section 13.1).

A lifecycle object whose required ids (protocol.lifecycle.refs) are not all
held is not refused: it waits here, durably, with the ids it waits for, and
`storage.objects` judges it again in the transaction that stores the last of
them. The table is bounded so that objects whose context never comes cannot
fill a node: entries older than `MAX_AGE` seconds are dropped, and beyond
`MAX_COUNT` the oldest go first. Nothing is lost by dropping one: senders
treat "pending" as not yet delivered and retry.

A pending object judged later and refused leaves a line in
`pending_refusals` (bounded the same way), so `status` can say why.
"""

import json
from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlite_utils import Database

from protocol.envelope import SignedObject
from storage.derived import select_in, signed_from_wire

MAX_COUNT = 10_000
MAX_AGE = 7 * 24 * 3600


@dataclass(frozen=True)
class Limits:
    count: int = MAX_COUNT
    age: int = MAX_AGE


@dataclass(frozen=True)
class Pending:
    obj: SignedObject
    received_at: int
    forward: tuple[str, ...]


def hold(db: Database, obj: SignedObject, missing: Sequence[str], received_at: int,
         forward: Iterable[str] = ()) -> None:
    """Keep `obj` until every id of `missing` is held; an object already pending keeps its first arrival."""
    conn = db.conn
    conn.execute("INSERT OR IGNORE INTO pending(id, received_at, forward, wire) VALUES (?, ?, ?, ?)",
                 (obj.id, received_at, json.dumps(sorted(set(forward))), obj.wire))
    conn.execute("DELETE FROM pending_needs WHERE id = ?", (obj.id,))
    conn.executemany("INSERT OR IGNORE INTO pending_needs(needed, id) VALUES (?, ?)",
                     [(needed, obj.id) for needed in missing])


def is_pending(db: Database, object_id: str) -> bool:
    return db.execute("SELECT 1 FROM pending WHERE id = ?", (object_id,)).fetchone() is not None


def pending_ids(db: Database, ids: Sequence[str]) -> set[str]:
    return {row[0] for row in select_in(db.conn, "SELECT id FROM pending WHERE id IN ({})", list(ids))}


def waiting_for(db: Database, held: Sequence[str]) -> list[str]:
    """Ids of pending objects that wait for any of `held`."""
    return sorted({row[0] for row in select_in(
        db.conn, "SELECT id FROM pending_needs WHERE needed IN ({})", list(held))})


def take(db: Database, object_ids: Sequence[str]) -> list[Pending]:
    """Remove these pending objects and return them, oldest created first (ties by id): the order they are judged in."""
    rows = select_in(db.conn, "SELECT id, received_at, forward, wire FROM pending WHERE id IN ({})",
                     list(object_ids))
    db.conn.executemany("DELETE FROM pending WHERE id = ?", [(row[0],) for row in rows])
    db.conn.executemany("DELETE FROM pending_needs WHERE id = ?", [(row[0],) for row in rows])
    taken = [Pending(signed_from_wire(wire), received_at, tuple(json.loads(forward)))
             for _, received_at, forward, wire in rows]
    return sorted(taken, key=lambda p: (p.obj.created_at, p.obj.id))


def refused(db: Database, object_id: str, code: str, detail: str, at: int) -> None:
    db.conn.execute("INSERT OR REPLACE INTO pending_refusals(id, code, detail, refused_at) VALUES (?, ?, ?, ?)",
                    (object_id, code, detail, at))


def evict(db: Database, now: int, limits: Limits = Limits()) -> int:
    """Drop entries older than the age bound, then the oldest beyond the count bound; returns how many.

    Runs with every ingest job, and both tables are almost always empty or within bounds: one
    statement finds out, and only then do the deletions run.
    """
    conn = db.conn
    cutoff = now - limits.age
    count, oldest, oldest_refusal, refusal_span = conn.execute(
        "SELECT (SELECT count(*) FROM pending), (SELECT min(received_at) FROM pending), "
        "(SELECT min(refused_at) FROM pending_refusals), "
        "(SELECT max(seq) - min(seq) FROM pending_refusals)").fetchone()
    old: list[str] = []
    if count and (oldest < cutoff or count > limits.count):
        old = [row[0] for row in conn.execute("SELECT id FROM pending WHERE received_at < ?", (cutoff,)).fetchall()]
        excess = count - len(old) - limits.count
        if excess > 0:
            old += [row[0] for row in conn.execute(
                "SELECT id FROM pending WHERE received_at >= ? ORDER BY seq LIMIT ?", (cutoff, excess)).fetchall()]
        conn.executemany("DELETE FROM pending WHERE id = ?", [(i,) for i in old])
        conn.executemany("DELETE FROM pending_needs WHERE id = ?", [(i,) for i in old])
    if oldest_refusal is not None and oldest_refusal < cutoff:
        conn.execute("DELETE FROM pending_refusals WHERE refused_at < ?", (cutoff,))
    if refusal_span is not None and refusal_span >= limits.count:
        conn.execute("DELETE FROM pending_refusals WHERE seq <= (SELECT max(seq) FROM pending_refusals) - ?",
                     (limits.count,))
    return len(old)


# --- reads (status, the service layer) ------------------------------------------

def count(db: Database) -> int:
    return db.execute("SELECT count(*) FROM pending").fetchone()[0]


def list_pending(db: Database, limit: int = 100) -> list[dict]:
    """Pending objects, oldest first, each with the ids it still waits for."""
    rows = db.execute("SELECT id, received_at, wire FROM pending ORDER BY seq LIMIT ?", (limit,)).fetchall()
    needs: dict[str, list[str]] = {}
    for needed, object_id in select_in(db.conn, "SELECT needed, id FROM pending_needs WHERE id IN ({})",
                                       [row[0] for row in rows]):
        needs.setdefault(object_id, []).append(needed)
    return [{"id": object_id, "type": signed_from_wire(wire).type, "received_at": received_at,
             "awaiting": sorted(needs.get(object_id, []))} for object_id, received_at, wire in rows]


def refusals(db: Database, limit: int = 100) -> list[dict]:
    """Pending objects refused once their context arrived, newest first."""
    return [{"id": i, "code": c, "detail": d, "refused_at": t} for i, c, d, t in db.execute(
        "SELECT id, code, detail, refused_at FROM pending_refusals ORDER BY seq DESC LIMIT ?", (limit,))]

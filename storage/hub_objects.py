"""Reads of the objects category hubs judge (spec section 14): announcements, endorsements, labels.

Plain queries over `objects`; the judgement (does an endorsement count, does
a label apply) is `protocol.hubs`'s, on what these return.
"""

import json

from sqlite_utils import Database

from protocol.envelope import SignedObject
from storage.derived import select_in, signed_from_wire

MAX_ROWS = 10_000  # a read never loads more than this many objects of one kind


def announcements(db: Database) -> list[SignedObject]:
    """The current `hub` announcement of every author (section 6.2), visible ones only."""
    rows = db.execute("SELECT o.wire FROM current_versions c JOIN objects o ON o.id = c.object_id "
                      "WHERE c.type = 'hub' AND o.hidden_by IS NULL ORDER BY o.author").fetchall()
    return [signed_from_wire(w) for (w,) in rows]


def announcement_of(db: Database, did: str) -> SignedObject | None:
    row = db.execute("SELECT o.wire FROM current_versions c JOIN objects o ON o.id = c.object_id "
                     "WHERE c.type = 'hub' AND c.author = ? AND o.hidden_by IS NULL", [did]).fetchone()
    return signed_from_wire(row[0]) if row else None


def _revocations(db: Database, ids: list[str]) -> dict[str, str]:
    """Endorsement id -> the id of its author's retract, for those retracted."""
    return dict(select_in(db.conn, "SELECT target, retract_id FROM retractions WHERE target IN ({})", ids))


def endorsements(db: Database, *, subject: str | None = None, category: str | None = None,
                 endorser: str | None = None) -> list[tuple[SignedObject, str | None]]:
    """(endorsement, revoking retract id or None), revoked ones included, oldest first."""
    where, params = ["o.type = 'endorsement'"], []
    for path, value in (("$.body.subject", subject), ("$.body.category", category)):
        if value is not None:
            where.append(f"json_extract(o.wire, '{path}') = ?")
            params.append(value)
    if endorser is not None:
        where.append("o.author = ?")
        params.append(endorser)
    # hidden by a key rotation (not a retract) means signed by a rotated-out key: it is not shown
    rows = db.execute(f"SELECT o.wire FROM objects o WHERE {' AND '.join(where)} AND (o.hidden_by IS NULL OR "
                      "EXISTS (SELECT 1 FROM retractions r WHERE r.target = o.id)) "
                      f"ORDER BY o.created_at, o.id LIMIT {MAX_ROWS}", params).fetchall()
    found = [signed_from_wire(w) for (w,) in rows]
    revoked = _revocations(db, [e.id for e in found])
    return [(e, revoked.get(e.id)) for e in found]


def labels(db: Database, *, target: str | None = None, subject: str | None = None) -> list[SignedObject]:
    """Visible (not retracted) labels, all or those on `target` / `subject`, oldest first."""
    where, params = ["type = 'label'", "hidden_by IS NULL"], []
    if target is not None:
        where.append("json_extract(wire, '$.body.target') = ?")
        params.append(target)
    if subject is not None:
        where.append("json_extract(wire, '$.body.subject') = ?")
        params.append(subject)
    rows = db.execute(f"SELECT wire FROM objects WHERE {' AND '.join(where)} ORDER BY created_at, id "
                      f"LIMIT {MAX_ROWS}", params).fetchall()
    return [signed_from_wire(w) for (w,) in rows]


def responses(db: Database, label_ids: list[str]) -> list[SignedObject]:
    rows = select_in(db.conn, "SELECT wire FROM objects WHERE type = 'response' AND hidden_by IS NULL AND "
                              "json_extract(wire, '$.body.label') IN ({})", label_ids)
    return [signed_from_wire(w) for (w,) in rows]


def objects_by_id(db: Database, ids: list[str]) -> dict[str, SignedObject]:
    rows = select_in(db.conn, "SELECT wire FROM objects WHERE id IN ({})", ids)
    return {o.id: o for o in map(signed_from_wire, (w for (w,) in rows))}


def held_count(db: Database) -> int:
    return db.execute("SELECT count(*) FROM objects WHERE hidden_by IS NULL").fetchone()[0]


def labels_on(db: Database, ids: list[str], authors: list[str], by: list[str], now: int) -> list[SignedObject]:
    """Visible, unexpired labels by `by` on any of `ids` (scope object) or `authors` (scope author).

    One query whatever the page size: each list is one bound JSON parameter.
    """
    rows = db.execute(
        "SELECT wire FROM objects WHERE type = 'label' AND hidden_by IS NULL "
        "AND author IN (SELECT value FROM json_each(?)) AND json_extract(wire, '$.body.expires') > ? "
        "AND (json_extract(wire, '$.body.target') IN (SELECT value FROM json_each(?)) "
        "OR json_extract(wire, '$.body.subject') IN (SELECT value FROM json_each(?))) "
        f"ORDER BY created_at, id LIMIT {MAX_ROWS}",
        [json.dumps(by), now, json.dumps(ids), json.dumps(authors)]).fetchall()
    return [signed_from_wire(w) for (w,) in rows]

"""Reading objects: by id, the log after a cursor, and the most recent ones.

By default listings leave out hidden objects (retracted, or signed by a
rotated-out key after its rotation) and superseded versions of replaceable
types; `get` serves any stored object and says what hides it.
"""

from dataclasses import dataclass, field

from typing import Sequence

from sqlite_utils import Database

from protocol.rules import REPLACEABLE_TYPES
from storage import derived
from storage.derived import select_in

_COLUMNS = (
    "o.seq, o.id, o.type, o.author, o.created_at, o.category, o.received_at, o.wire, o.hidden_by, "
    "CASE WHEN o.hidden_by IS NULL THEN NULL ELSE "
    "(SELECT r.retract_id FROM retractions r WHERE r.target = o.id AND r.author = o.author) END, "
    "(SELECT h.type FROM objects h WHERE h.id = o.hidden_by)")
_REPLACEABLE_SQL = ", ".join(f"'{t}'" for t in sorted(REPLACEABLE_TYPES))
_CURRENT_ONLY = (
    f" AND (o.type NOT IN ({_REPLACEABLE_SQL}) OR EXISTS (SELECT 1 FROM current_versions c "
    "WHERE c.type = o.type AND c.author = o.author AND c.object_id = o.id))")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class StoredObject:
    """An object as stored: its signed bytes plus what this node knows about it.

    `hidden_by` is the id of the retract or key_rotation that hides it (or,
    for a void retract, of its target); `hidden_by_type` that object's type;
    `retracted_by` the id of its author's retract, if any (kinode answers a
    GET of such an object as gone, naming the retract).
    """

    seq: int
    id: str
    type: str
    author: str
    created_at: int
    category: str | None
    received_at: int
    wire: bytes = field(repr=False)
    hidden_by: str | None
    retracted_by: str | None
    hidden_by_type: str | None = None

    @property
    def rotated_by(self) -> str | None:
        """The binding key_rotation that hides it, if it was signed after its key's rotation."""
        return self.hidden_by if self.hidden_by_type == "key_rotation" else None

    @property
    def hidden(self) -> bool:
        return self.hidden_by is not None


def get(db: Database, object_id: str) -> StoredObject | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM objects o WHERE o.id = ?", [object_id]).fetchone()
    return StoredObject(*row) if row else None


def held_ids(db: Database, ids: Sequence[str], *, retracted_too: bool = False) -> set[str]:
    """Which of `ids` are stored; with `retracted_too`, also those a stored retract waits for
    (they would be refused as retracted, so nobody needs to send them)."""
    held = {row[0] for row in select_in(db.conn, "SELECT id FROM objects WHERE id IN ({})", ids)}
    if retracted_too:
        held.update(row[0] for row in select_in(db.conn, "SELECT target FROM retractions WHERE target IN ({})", ids))
    return held


def served_wires(db: Database, ids: Sequence[str]) -> dict[str, bytes]:
    """id -> wire of those of `ids` that `GET /ki/v1/objects/{id}` answers 200 for: stored and not
    hidden (not retracted, not signed after a key rotation, not a void retract)."""
    return {object_id: bytes(wire) for object_id, wire in select_in(
        db.conn, "SELECT id, wire FROM objects WHERE id IN ({}) AND hidden_by IS NULL", ids)}


last_seq = derived.last_seq  # the newest cursor value (0 for an empty store)


def list_objects(db: Database, after: int = 0, *, type: str | None = None, category: str | None = None,
                 author: str | None = None, limit: int = 100, include_hidden: bool = False,
                 include_superseded: bool = False) -> list[StoredObject]:
    """The log after cursor `after` in seq order: what GET /ki/v1/objects?after= serves.

    The next cursor is the last item's `seq`.
    """
    sql, params = _filtered("o.seq > ?", [after], type, category, author, include_hidden, include_superseded)
    sql += " ORDER BY o.seq LIMIT ?"
    return _rows(db, sql, params + [_clamp(limit)])


def recent(db: Database, *, type: str | None = None, category: str | None = None,
           author: str | None = None, before: int | None = None, limit: int = 100) -> list[StoredObject]:
    """Newest first by created_at (ties by id), current and visible only; `before` pages back."""
    where, params = ("o.created_at < ?", [before]) if before is not None else ("1", [])
    sql, params = _filtered(where, params, type, category, author, False, False)
    sql += " ORDER BY o.created_at DESC, o.id LIMIT ?"
    return _rows(db, sql, params + [_clamp(limit)])


def count(db: Database, *, include_hidden: bool = True) -> int:
    where = "" if include_hidden else " WHERE hidden_by IS NULL"
    return db.execute(f"SELECT count(*) FROM objects{where}").fetchone()[0]


def _filtered(where: str, params: list, type_: str | None, category: str | None, author: str | None,
              include_hidden: bool, include_superseded: bool) -> tuple[str, list]:
    sql = f"SELECT {_COLUMNS} FROM objects o WHERE {where}"
    for column, value in (("type", type_), ("category", category), ("author", author)):
        if value is not None:
            sql += f" AND o.{column} = ?"
            params = params + [value]
    if not include_hidden:
        sql += " AND o.hidden_by IS NULL"
    if not include_superseded and (type_ is None or type_ in REPLACEABLE_TYPES):
        sql += _CURRENT_ONLY
    return sql, params


def _rows(db: Database, sql: str, params: list) -> list[StoredObject]:
    return [StoredObject(*row) for row in db.execute(sql, params).fetchall()]


def _clamp(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))

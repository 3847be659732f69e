"""The current version of each replaceable object (profile, hub): a derived table.

Latest `created_at` per (type, author) wins; on a tie the lowest id wins, so
every node picks the same one whatever order objects arrived in. Older
versions stay in `objects`; listings show only the one named here. When the
current version is hidden (retracted, rotated-out key) the newest visible
older one takes its place.
"""

from sqlite_utils import Database

from protocol.envelope import SignedObject
from storage.derived import Derived, register

REPLACEABLE_TYPES = frozenset({"profile", "hub"})


def create(db: Database) -> None:
    db.execute("""
        CREATE TABLE IF NOT EXISTS current_versions (
            type TEXT NOT NULL,
            author TEXT NOT NULL,
            object_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (type, author)
        ) WITHOUT ROWID""")


def apply(db: Database, obj: SignedObject, hidden: bool) -> None:
    if hidden or obj.type not in REPLACEABLE_TYPES:
        return
    _offer(db, obj.type, obj.author, obj.id, obj.created_at)


def hide(db: Database, object_id: str) -> None:
    row = db.execute(
        "SELECT c.type, c.author FROM current_versions c JOIN objects o "
        "ON o.type = c.type AND o.author = c.author WHERE o.id = ? AND c.object_id = ?",
        [object_id, object_id]).fetchone()
    if row is None:
        return
    type_, author = row
    db.execute("DELETE FROM current_versions WHERE type = ? AND author = ?", [type_, author])
    best = db.execute(
        "SELECT id, created_at FROM objects WHERE author = ? AND type = ? AND hidden_by IS NULL "
        "ORDER BY created_at DESC, id ASC LIMIT 1", [author, type_]).fetchone()
    if best is not None:
        _offer(db, type_, author, best[0], best[1])


def drop(db: Database) -> None:
    db.execute("DROP TABLE IF EXISTS current_versions")


def _offer(db: Database, type_: str, author: str, object_id: str, created_at: int) -> None:
    db.execute(
        "INSERT INTO current_versions(type, author, object_id, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(type, author) DO UPDATE SET object_id = excluded.object_id, "
        "created_at = excluded.created_at "
        "WHERE excluded.created_at > current_versions.created_at OR "
        "(excluded.created_at = current_versions.created_at AND excluded.object_id < current_versions.object_id)",
        [type_, author, object_id, created_at])


CURRENT_VERSIONS = register(Derived("current_versions", create, apply, hide, drop))

"""The reconciled set of a hub, answered from SQLite: an `ItemSet` for protocol.sync.

A responder answers each sync request from the objects table as it stands,
instead of loading the whole set into memory per request: counts and id
lists are index range scans, and a fingerprint sums the ids of its range.
Only a sync's first message covers the whole order; later rounds touch only
the ranges where the two hubs differ, so a session costs one pass over the
set in SQLite plus work proportional to the difference.

The set for a list of categories is every visible object (not retracted, not
signed after a key rotation) filed under one of them, or of a type every hub
takes (specs/protocol.md section 9.8).
"""

from typing import Iterable

from sqlite_utils import Database

from protocol.sync import Bound, Item, fingerprint_of, id_value

_ORDER = "ORDER BY created_at, id"


class StoredItems:
    """The (created_at, id) set for `categories` plus `global_types`, read through `db`.

    Use it within one read transaction (`Store.read`), so every question a
    sync message asks sees the same snapshot.
    """

    def __init__(self, db: Database, categories: Iterable[str], global_types: Iterable[str]):
        self._db = db
        categories, global_types = sorted(categories), sorted(global_types)
        cats = ",".join("?" * len(categories)) or "NULL"
        types = ",".join("?" * len(global_types)) or "NULL"
        self._where = (f"hidden_by IS NULL AND (category IN ({cats}) OR type IN ({types})) "
                       "AND (created_at, id) >= (?, ?) AND (created_at, id) < (?, ?)")
        self._filter = [*categories, *global_types]

    def _params(self, lower: Bound, upper: Bound) -> list:
        return [*self._filter, *lower.key, *upper.key]

    def count(self, lower: Bound, upper: Bound) -> int:
        return self._db.execute(f"SELECT count(*) FROM objects INDEXED BY objects_by_created_id WHERE {self._where}",
                                self._params(lower, upper)).fetchone()[0]

    def fingerprint(self, lower: Bound, upper: Bound) -> bytes:
        rows = self._db.execute(f"SELECT id FROM objects INDEXED BY objects_by_created_id WHERE {self._where}",
                                self._params(lower, upper))
        total = count = 0
        for (object_id,) in rows:
            total += id_value(object_id)
            count += 1
        return fingerprint_of(total, count)

    def items(self, lower: Bound, upper: Bound, limit: int | None = None, offset: int = 0) -> list[Item]:
        sql = (f"SELECT created_at, id FROM objects INDEXED BY objects_by_created_id WHERE {self._where} "
               f"{_ORDER} LIMIT ? OFFSET ?")
        return [tuple(row) for row in self._db.execute(sql, [*self._params(lower, upper), -1 if limit is None else limit,
                                                            offset])]

"""The reconciled set of a hub, answered from SQLite: an `ItemSet` for protocol.sync.

A responder answers each sync request from the objects table as it stands,
instead of loading the whole set into memory per request: a bucket (an id
prefix) is a range scan of an index covering `id` and the filter columns,
and the children of a bucket are summed in one pass over its ids. Only a sync's first request
covers the whole set; later rounds touch only the buckets where the two
hubs differ, so a session costs two passes over the set plus work
proportional to the difference.

The set for a list of categories is every visible object (not retracted, not
signed after a key rotation) filed under one of them, or of a type every hub
takes (specs/protocol.md section 9.8).
"""

from typing import Iterable

from sqlite_utils import Database

from protocol.sync import FANOUT, HEX, id_value, prefix_span

_DIGIT = {digit: index for index, digit in enumerate(HEX)}


class StoredItems:
    """The id set for `categories` plus `global_types`, read through `db`.

    Use it within one read transaction (`Store.read`), so every question a
    sync message asks sees the same snapshot.
    """

    def __init__(self, db: Database, categories: Iterable[str], global_types: Iterable[str]):
        self._db = db
        categories, global_types = sorted(categories), sorted(global_types)
        cats = ",".join("?" * len(categories)) or "NULL"
        types = ",".join("?" * len(global_types)) or "NULL"
        # A bucket is a range of the covering index objects_by_visible_id (schema version 7); the
        # unary `+` keeps SQLite off the category and type indexes, which would read the whole
        # category for every bucket, however small.
        self._where = (f"id >= ? AND id < ? AND hidden_by IS NULL "
                       f"AND (+category IN ({cats}) OR +type IN ({types}))")
        self._filter = [*categories, *global_types]

    def _select(self, what: str, prefix: str, tail: str = ""):
        sql = f"SELECT {what} FROM objects INDEXED BY objects_by_visible_id WHERE {self._where} {tail}"
        return self._db.execute(sql, [*prefix_span(prefix), *self._filter])

    def count(self, prefix: str) -> int:
        return self._select("count(*)", prefix).fetchone()[0]

    def ids(self, prefix: str) -> list[str]:
        return [object_id for (object_id,) in self._select("id", prefix, "ORDER BY id")]

    def children(self, prefix: str) -> list[tuple[int, int]]:
        counts, sums, at = [0] * FANOUT, [0] * FANOUT, len(prefix)
        for (object_id,) in self._select("id", prefix):
            child = _DIGIT[object_id[at]]
            counts[child] += 1
            sums[child] += id_value(object_id)
        return list(zip(counts, sums))

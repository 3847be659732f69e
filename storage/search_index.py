"""The full-text search index: a derived table over offers, projects, tasks and profiles.

Tables (all rebuilt from `objects` alone):

- `search_listing`: one row per searchable listing. Its rowid, the *key*, is
  ``created_at << 30 | (first 30 bits of the id)``, so key order is recency
  order (created_at, then id) and FTS5 can walk matches newest first and stop
  after one page instead of sorting every match. On the rare clash (same
  second, same 30 bits) the key is probed upward. The row keeps only what the
  filters need; id, author and text stay in `objects`.
- `search_content`: a view giving each key its text columns, read from the
  object's canonical JSON, so the text is stored once.
- `search_fts`: FTS5 over that view (external content), with a `tags`
  column of filter tokens (type, category, author, currency) so filters are
  ANDed inside FTS5 rather than checked row by row.
- `search_scope`: (listing, party, contract) from every visible contract's
  `scope` and `parties`, kept even before the listing arrives; it decides
  which projects and tasks are taken (`storage.search_scope` has the rule).
- `search_profiles`: which profile is indexed for each author.
- `search_stats`: the number of indexed listings.
- `search_stage`: FTS5 writes waiting for the end of the transaction
  (`storage.search_stage`); empty whenever no write transaction is open.

The index is deferred (`storage.deferred`): ingest commits the objects and
the writer indexes them behind the commit, from the durable mark, in larger
batches; only hides (retract, rotation, a profile no longer current) are
applied in the ingest transaction. The catch-up hands the index whole runs
of objects (`apply_many`): a run costs a few `IN (...)` lookups and a few
`executemany` inserts, not statements per listing. FTS5 itself is written
once per transaction, by `flush` right before COMMIT, in ascending key order with plain VALUES, so a whole group
commit becomes one FTS5 segment (see `storage.search_stage` for why that
needs care: written per listing, or per job of a group, it made a segment
each, and ingest slowed as the index grew).

Retracted listings are removed, not flagged. Profiles follow
`current_versions` (registered before this table): exactly the author's
current visible profile is indexed.
"""

import functools
import hashlib
import re
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Sequence

from sqlite_utils import Database

import storage.current  # noqa: F401  (registers current_versions first: profiles read it)
from protocol.envelope import SignedObject
from storage import search_scope, search_stage
from storage.derived import Derived, register, select_in, signed_from_wire
from storage.search_text import TEXT_COLUMNS, listing_lengths

LISTING_TYPES = frozenset({"offer", "project", "task", "profile"})
_PLAIN_LISTINGS = LISTING_TYPES - {"profile"}  # profiles follow current_versions instead
PRICE_SCALE = 1000  # amounts are compared in thousandths of the currency unit
MAX_TAG_CATEGORIES = 32
_KEY_BITS = 30
_KEY_MASK = (1 << _KEY_BITS) - 1
_MAX_CREATED_AT = 1 << 32  # keeps keys inside SQLite's signed 64-bit rowid
_AMOUNT = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?")
_SIMPLE_AMOUNT = re.compile(r"([0-9]{1,15})(?:\.([0-9]{1,3}))?")


def _field(profile_path: str, listing_path: str) -> str:
    return (f"json_extract(CAST(o.wire AS TEXT), CASE o.type WHEN 'profile' "
            f"THEN '$.body.{profile_path}' ELSE '$.body.{listing_path}' END)")


# The text columns, as SQL over the objects row `o` (same field names as search_text.listing_texts).
CONTENT_SQL = (_field("name", "title"), _field("bio", "description"), _field("skills", "skills"),
               _field("categories", "category"))


def create(db: Database) -> None:
    db.execute("""CREATE TABLE IF NOT EXISTS search_listing (
        key INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,      -- objects.seq
        price INTEGER,                    -- amount * PRICE_SCALE, rounded down
        currency TEXT,
        deadline INTEGER,
        contracted INTEGER NOT NULL,      -- taken by a contract, see storage.search_scope
        lengths INTEGER NOT NULL,         -- word counts per text column, see listing_lengths
        tags TEXT NOT NULL)""")
    db.execute(f"""CREATE VIEW IF NOT EXISTS search_content AS
        SELECT l.key AS key, {", ".join(f"{sql} AS {name}" for name, sql in zip(TEXT_COLUMNS, CONTENT_SQL))},
          l.tags AS tags
        FROM search_listing l JOIN objects o ON o.seq = l.seq""")
    db.execute("""CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        title, body, skills, cats, tags, content='search_content', content_rowid='key',
        columnsize=0, tokenize='unicode61 remove_diacritics 2')""")
    search_stage.create(db)
    search_scope.create(db)
    db.execute("""CREATE TABLE IF NOT EXISTS search_profiles (
        author TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID  -- the profile indexed for each author""")
    # The listing count, for BM25's IDF: count(*) would read a whole index per query.
    db.execute("CREATE TABLE IF NOT EXISTS search_stats (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID")
    db.execute("INSERT OR IGNORE INTO search_stats(name, value) VALUES ('listings', 0)")


def drop(db: Database) -> None:
    for statement in ("DROP TABLE IF EXISTS search_fts", "DROP VIEW IF EXISTS search_content",
                      "DROP TABLE IF EXISTS search_listing", "DROP TABLE IF EXISTS search_profiles",
                      "DROP TABLE IF EXISTS search_stats"):
        db.execute(statement)
    search_scope.drop(db)
    search_stage.drop(db)


def apply(db: Database, obj: SignedObject, hidden: bool) -> None:
    if not hidden:
        apply_many(db, [obj])
    elif obj.type == "profile":
        _update(db, [], {obj.author: None})


def apply_many(db: Database, objs: Sequence[SignedObject]) -> None:
    """Index a run of visible objects with a handful of statements, whatever its length."""
    listings = [o for o in objs if o.type in _PLAIN_LISTINGS]
    seqs = dict(select_in(db.conn, "SELECT id, seq FROM objects WHERE id IN ({})", [o.id for o in listings]))
    _update(db, [(o, seqs.get(o.id)) for o in listings], {o.author: o for o in objs if o.type == "profile"})
    for obj in objs:
        if obj.type == "contract":
            search_scope.add(db, obj)
        elif obj.type == "retract":
            search_scope.withdrawn(db, obj)


def hide(db: Database, object_id: str) -> None:
    row = db.execute("SELECT o.type, o.author, o.seq FROM objects o WHERE o.id = ?", [object_id]).fetchone()
    if row is None:
        return
    type_, author, seq = row
    if type_ == "contract":
        search_scope.remove(db, object_id)
    elif type_ == "profile":
        _update(db, [], {author: None})
    elif type_ in LISTING_TYPES:
        _update(db, [], {}, [seq])


@functools.lru_cache(maxsize=1 << 16)  # authors, categories and currencies repeat across a hub's batches
def tag(kind: str, value: str) -> str:
    """The filter token for a value: a letter for the kind, then a hash (one alphanumeric word)."""
    return kind + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def scaled_amount(amount: object) -> int | None:
    """A decimal-string amount as an integer in thousandths (rounded down), or None if malformed."""
    if isinstance(amount, int) and not isinstance(amount, bool):
        amount = str(amount)
    if isinstance(amount, str) and (simple := _SIMPLE_AMOUNT.fullmatch(amount)):
        whole, fraction = simple.groups()  # the usual "1500.00": exact without Decimal
        return int(whole) * PRICE_SCALE + int((fraction or "").ljust(3, "0"))
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, str) and _AMOUNT.fullmatch(amount):
        value = Decimal(amount)
    else:
        return None
    try:
        scaled = int((value * PRICE_SCALE).to_integral_value(ROUND_FLOOR))
    except (InvalidOperation, ValueError, OverflowError):
        return None
    return scaled if abs(scaled) < 1 << 62 else None


def _update(db: Database, listings: list[tuple[SignedObject, int | None]],
            profiles: dict[str, SignedObject | None], stale: Sequence[int] = ()) -> None:
    """Index `listings` (object, objects.seq), bring these authors' profiles in line, unindex `stale` seqs.

    `profiles` may carry an object already in hand for an author, to spare
    reading its wire. FTS5 is not written here: its deletes and inserts are
    staged, and `search_stage.flush` writes them before the transaction commits.
    """
    new_profiles, stale_profiles, moved = _profile_changes(db, profiles) if profiles else ([], [], [])
    conn = db.conn
    removed = select_in(conn, "SELECT key, title, body, skills, cats, tags FROM search_content "
                              "WHERE key IN (SELECT key FROM search_listing WHERE seq IN ({}))",
                        [*stale, *stale_profiles])
    select_in(conn, "DELETE FROM search_listing WHERE key IN ({}) RETURNING key", [row[0] for row in removed])
    rows = _listing_rows(conn, [*listings, *new_profiles])
    conn.executemany("INSERT INTO search_listing(key, seq, price, currency, deadline, contracted, lengths, tags) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    search_stage.stage(conn, removed, [row[0] for row in rows])
    if len(rows) != len(removed):
        conn.execute("UPDATE search_stats SET value = value + ? WHERE name = 'listings'", [len(rows) - len(removed)])
    if moved:
        select_in(conn, "DELETE FROM search_profiles WHERE author IN ({}) RETURNING author", moved)
        indexed = {row[1] for row in rows}
        conn.executemany("INSERT INTO search_profiles(author, seq) VALUES (?, ?)",
                         [(obj.author, seq) for obj, seq in new_profiles if seq in indexed])


def _listing_rows(conn, pairs: Sequence[tuple[SignedObject, int | None]]) -> list[tuple]:
    """The search_listing rows for listings not yet indexed, keys assigned in order."""
    pairs = [(o, seq) for o, seq in pairs if seq is not None and 0 <= o.created_at < _MAX_CREATED_AT]
    if not pairs:
        return []
    indexed = {seq for (seq,) in select_in(conn, "SELECT seq FROM search_listing WHERE seq IN ({})",
                                           [seq for _, seq in pairs])}
    contracted = search_scope.taken(conn, [o for o, _ in pairs])
    first_keys = [_first_key(o) for o, _ in pairs]
    used = {key for (key,) in select_in(conn, "SELECT key FROM search_listing WHERE key IN ({})", first_keys)}
    rows = []
    for (obj, seq), key in zip(pairs, first_keys):
        if seq in indexed:
            continue
        indexed.add(seq)
        key = _free_key(conn, key, used)
        used.add(key)
        price, currency, deadline = _filters(obj)
        rows.append((key, seq, price, currency, deadline, int(obj.id in contracted),
                     listing_lengths(obj.type, obj.body), _tags(obj, currency)))
    return rows


def _filters(obj: SignedObject) -> tuple[int | None, str | None, int | None]:
    body = obj.body
    money = body.get("price") if obj.type == "offer" else body.get("budget")
    price = currency = None
    if isinstance(money, dict) and isinstance(money.get("currency"), str):
        price, currency = scaled_amount(money.get("amount")), money["currency"]
        currency = currency if price is not None else None
    deadline = body.get("deadline") if obj.type in ("project", "task") else None
    if not isinstance(deadline, int) or isinstance(deadline, bool):
        deadline = None
    return price, currency, deadline


def _first_key(obj: SignedObject) -> int:
    return obj.created_at << _KEY_BITS | int(obj.id[:8], 16) >> (32 - _KEY_BITS)


def _free_key(conn, key: int, used: set[int]) -> int:
    """`key`, or on a clash the next free one above it within the same second.

    `used` holds the keys assigned in this batch and those of the table among
    the batch's first choices, so only a probe past a clash asks the table.
    """
    if key not in used:
        return key
    while True:
        key = key & ~_KEY_MASK | (key + 1) & _KEY_MASK
        if key not in used and conn.execute("SELECT 1 FROM search_listing WHERE key = ?", [key]).fetchone() is None:
            return key


def _tags(obj: SignedObject, currency: str | None) -> str:
    tags = ["t" + obj.type, tag("a", obj.author)]
    categories = obj.body.get("categories") if obj.type == "profile" else [obj.body.get("category")]
    if isinstance(categories, list):
        tags += [tag("c", c) for c in categories[:MAX_TAG_CATEGORIES] if isinstance(c, str)]
    if currency is not None:
        tags.append(tag("m", currency))
    return " ".join(tags)


def _profile_changes(db: Database, authors: dict[str, SignedObject | None]
                     ) -> tuple[list[tuple[SignedObject, int]], list[int], list[str]]:
    """For each author, the current profile (as `current_versions` names it) to index if it is
    not indexed yet, the seq of an indexed one that is no longer current, and the authors
    whose indexed profile changes."""
    names = list(authors)
    current = {author: (object_id, seq) for author, object_id, seq in select_in(
        db.conn, "SELECT c.author, c.object_id, o.seq FROM current_versions c JOIN objects o ON o.id = c.object_id "
        "WHERE c.type = 'profile' AND c.author IN ({})", names)}
    indexed = dict(select_in(db.conn, "SELECT author, seq FROM search_profiles WHERE author IN ({})", names))
    fresh, stale, moved = [], [], []
    for author in names:
        now_id, now_seq = current.get(author, (None, None))
        was_seq = indexed.get(author)
        if was_seq == now_seq:
            continue
        moved.append(author)
        if was_seq is not None:
            stale.append(was_seq)
        if now_seq is not None:
            obj = authors[author]
            if obj is None or obj.id != now_id:
                obj = signed_from_wire(db.execute("SELECT wire FROM objects WHERE seq = ?", [now_seq]).fetchone()[0])
            fresh.append((obj, now_seq))
    return fresh, stale, moved


# Version 4: FTS5 writes staged in search_stage until the transaction's flush.
# Deferred: indexed behind the commit from its mark (storage.deferred); hides still come at once.
SEARCH_INDEX = register(Derived("search", create, apply, hide, drop, version=5, apply_many=apply_many,
                                flush=search_stage.flush, deferred=True))

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
- `search_scope`: (listing, contract) pairs from every visible contract's
  `scope`, kept even before the listing arrives.
- `search_stats`: the number of indexed listings.

Retracted listings are removed, not flagged. Profiles follow
`current_versions` (registered before this table): exactly the author's
current visible profile is indexed.
"""

import hashlib
import re
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from sqlite_utils import Database

import storage.current  # noqa: F401  (registers current_versions first: profiles read it)
from protocol.envelope import SignedObject, is_object_id
from storage.derived import Derived, register, signed_from_wire
from storage.search_text import TEXT_COLUMNS, listing_texts, pack_lengths

LISTING_TYPES = frozenset({"offer", "project", "task", "profile"})
PRICE_SCALE = 1000  # amounts are compared in thousandths of the currency unit
MAX_SCOPE = 256
MAX_TAG_CATEGORIES = 32
_KEY_BITS = 30
_KEY_MASK = (1 << _KEY_BITS) - 1
_MAX_CREATED_AT = 1 << 32  # keeps keys inside SQLite's signed 64-bit rowid
_AMOUNT = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?")


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
        contracted INTEGER NOT NULL,
        lengths INTEGER NOT NULL,         -- word counts per text column, see pack_lengths
        tags TEXT NOT NULL)""")
    db.execute(f"""CREATE VIEW IF NOT EXISTS search_content AS
        SELECT l.key AS key, {", ".join(f"{sql} AS {name}" for name, sql in zip(TEXT_COLUMNS, CONTENT_SQL))},
          l.tags AS tags
        FROM search_listing l JOIN objects o ON o.seq = l.seq""")
    db.execute("""CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        title, body, skills, cats, tags, content='search_content', content_rowid='key',
        columnsize=0, tokenize='unicode61 remove_diacritics 2')""")
    db.execute("""CREATE TABLE IF NOT EXISTS search_scope (
        listing_id TEXT NOT NULL, contract_id TEXT NOT NULL,
        PRIMARY KEY (listing_id, contract_id)) WITHOUT ROWID""")
    db.execute("CREATE INDEX IF NOT EXISTS search_scope_by_contract ON search_scope(contract_id)")
    # The listing count, for BM25's IDF: count(*) would read a whole index per query.
    db.execute("CREATE TABLE IF NOT EXISTS search_stats (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID")
    db.execute("INSERT OR IGNORE INTO search_stats(name, value) VALUES ('listings', 0)")


def drop(db: Database) -> None:
    for statement in ("DROP TABLE IF EXISTS search_fts", "DROP VIEW IF EXISTS search_content",
                      "DROP TABLE IF EXISTS search_listing", "DROP TABLE IF EXISTS search_scope",
                      "DROP TABLE IF EXISTS search_stats"):
        db.execute(statement)


def apply(db: Database, obj: SignedObject, hidden: bool) -> None:
    if obj.type == "contract":
        if not hidden:
            _add_scope(db, obj)
    elif obj.type == "profile":
        _sync_profile(db, obj)
    elif obj.type in LISTING_TYPES and not hidden:
        _index(db, obj, _seq(db, obj.id))


def hide(db: Database, object_id: str) -> None:
    row = db.execute("SELECT o.type, o.author FROM objects o WHERE o.id = ?", [object_id]).fetchone()
    if row is None:
        return
    type_, author = row
    if type_ == "contract":
        taken = db.execute("DELETE FROM search_scope WHERE contract_id = ? RETURNING listing_id",
                           [object_id]).fetchall()
        for (listing_id,) in taken:
            _set_contracted(db, listing_id)
    elif type_ == "profile":
        _sync_profile(db, None, author)
    elif type_ in LISTING_TYPES:
        _unindex(db, _seq(db, object_id))


def tag(kind: str, value: str) -> str:
    """The filter token for a value: a letter for the kind, then a hash (one alphanumeric word)."""
    return kind + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def scaled_amount(amount: object) -> int | None:
    """A decimal-string amount as an integer in thousandths (rounded down), or None if malformed."""
    if isinstance(amount, int) and not isinstance(amount, bool):
        amount = str(amount)
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


def _seq(db: Database, object_id: str) -> int | None:
    row = db.execute("SELECT seq FROM objects WHERE id = ?", [object_id]).fetchone()
    return row[0] if row else None


def _index(db: Database, obj: SignedObject, seq: int | None) -> None:
    if seq is None or not 0 <= obj.created_at < _MAX_CREATED_AT:
        return
    if db.execute("SELECT 1 FROM search_listing WHERE seq = ?", [seq]).fetchone():
        return
    body = obj.body
    money = body.get("price") if obj.type == "offer" else body.get("budget")
    price = currency = None
    if isinstance(money, dict) and isinstance(money.get("currency"), str):
        price, currency = scaled_amount(money.get("amount")), money["currency"]
        currency = currency if price is not None else None
    deadline = body.get("deadline") if obj.type in ("project", "task") else None
    if not isinstance(deadline, int) or isinstance(deadline, bool):
        deadline = None
    # Any listing named in a visible contract's scope is taken, offers included.
    contracted = db.execute(
        "SELECT 1 FROM search_scope WHERE listing_id = ? LIMIT 1", [obj.id]).fetchone() is not None
    key = _free_key(db, obj)
    lengths = pack_lengths(listing_texts(obj.type, obj.body))
    db.execute("INSERT INTO search_listing(key, seq, price, currency, deadline, contracted, lengths, tags) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               [key, seq, price, currency, deadline, int(contracted), lengths, _tags(obj, currency)])
    db.execute("INSERT INTO search_fts(rowid, title, body, skills, cats, tags) "
               "SELECT key, title, body, skills, cats, tags FROM search_content WHERE key = ?", [key])
    db.execute("UPDATE search_stats SET value = value + 1 WHERE name = 'listings'")


def _unindex(db: Database, seq: int | None) -> None:
    row = db.execute("SELECT key FROM search_listing WHERE seq = ?", [seq]).fetchone()
    if row is None:
        return
    # External content: FTS5 needs the exact indexed values to remove them.
    db.execute("INSERT INTO search_fts(search_fts, rowid, title, body, skills, cats, tags) "
               "SELECT 'delete', key, title, body, skills, cats, tags FROM search_content WHERE key = ?",
               [row[0]])
    db.execute("DELETE FROM search_listing WHERE key = ?", [row[0]])
    db.execute("UPDATE search_stats SET value = value - 1 WHERE name = 'listings'")


def _free_key(db: Database, obj: SignedObject) -> int:
    low = int(obj.id[:8], 16) >> (32 - _KEY_BITS)
    while True:
        key = obj.created_at << _KEY_BITS | low
        if db.execute("SELECT 1 FROM search_listing WHERE key = ?", [key]).fetchone() is None:
            return key
        low = (low + 1) & _KEY_MASK


def _tags(obj: SignedObject, currency: str | None) -> str:
    tags = ["t" + obj.type, tag("a", obj.author)]
    categories = obj.body.get("categories") if obj.type == "profile" else [obj.body.get("category")]
    if isinstance(categories, list):
        tags += [tag("c", c) for c in categories[:MAX_TAG_CATEGORIES] if isinstance(c, str)]
    if currency is not None:
        tags.append(tag("m", currency))
    return " ".join(tags)


def _sync_profile(db: Database, obj: SignedObject | None, author: str | None = None) -> None:
    """Index exactly the author's current profile as `current_versions` names it."""
    author = obj.author if obj is not None else author
    current = db.execute("SELECT c.object_id, o.seq FROM current_versions c JOIN objects o ON o.id = c.object_id "
                         "WHERE c.type = 'profile' AND c.author = ?", [author]).fetchone()
    indexed = db.execute("SELECT l.seq FROM objects o JOIN search_listing l ON l.seq = o.seq "
                         "WHERE o.author = ? AND o.type = 'profile'", [author]).fetchall()
    current_seq = current[1] if current else None
    for (seq,) in indexed:
        if seq != current_seq:
            _unindex(db, seq)
    if current is not None and current_seq not in {s for (s,) in indexed}:
        if obj is None or obj.id != current[0]:
            wire = db.execute("SELECT wire FROM objects WHERE seq = ?", [current_seq]).fetchone()[0]
            obj = signed_from_wire(wire)
        _index(db, obj, current_seq)


def _add_scope(db: Database, contract: SignedObject) -> None:
    scope = contract.body.get("scope")
    if not isinstance(scope, list):
        return
    for listing_id in {i for i in scope[:MAX_SCOPE] if is_object_id(i)}:
        db.execute("INSERT OR IGNORE INTO search_scope(listing_id, contract_id) VALUES (?, ?)",
                   [listing_id, contract.id])
        _set_contracted(db, listing_id)


def _set_contracted(db: Database, listing_id: str) -> None:
    db.execute("UPDATE search_listing SET contracted = EXISTS "
               "(SELECT 1 FROM search_scope WHERE listing_id = ?) "
               "WHERE seq = (SELECT seq FROM objects WHERE id = ?)",
               [listing_id, listing_id])


SEARCH_INDEX = register(Derived("search", create, apply, hide, drop))

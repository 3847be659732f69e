"""Which listings a contract takes: the `search_scope` table of the search index.

A visible contract that its author has not retracted takes a listing, which
then leaves open-only search, when all of these hold:

- the listing's id is in the contract's `body.scope`;
- the listing is a project or a task (`TAKEN_TYPES`): an offer is never
  taken, it can be sold many times; profiles are never taken either;
- the contract's author is the listing's author: only whoever posted a
  project or task can declare it taken. Being named a party is not enough,
  since anyone can publish a contract that names anyone (the other parties'
  `sign` objects are private business and never reach a hub).

Contracts and listings arrive in any order, so every visible contract's
(scope id, contract author) pairs are kept whether or not the listing is stored yet;
`taken` answers for listings being indexed and `refresh` recomputes the flag
of listings already indexed when a contract arrives or is retracted. The
table is rebuilt from the objects like the rest of the index.
"""

from typing import Iterable, Sequence

from sqlite_utils import Database

from protocol.envelope import SignedObject, is_object_id
from storage.derived import select_in

TAKEN_TYPES = frozenset({"project", "task"})
MAX_SCOPE = 256


def create(db: Database) -> None:
    db.execute("""CREATE TABLE IF NOT EXISTS search_scope (
        listing_id TEXT NOT NULL, party TEXT NOT NULL, contract_id TEXT NOT NULL,
        PRIMARY KEY (listing_id, party, contract_id)) WITHOUT ROWID""")
    db.execute("CREATE INDEX IF NOT EXISTS search_scope_by_contract ON search_scope(contract_id)")


def drop(db: Database) -> None:
    db.execute("DROP TABLE IF EXISTS search_scope")


def add(db: Database, contract: SignedObject) -> None:
    """A visible contract was stored: record its scope and take the listings it may take."""
    scope = contract.body.get("scope")
    if not isinstance(scope, list) or _retracted(db, contract):
        return
    listing_ids = sorted({i for i in scope[:MAX_SCOPE] if is_object_id(i)})
    db.conn.executemany("INSERT OR IGNORE INTO search_scope(listing_id, party, contract_id) VALUES (?, ?, ?)",
                        [(listing_id, contract.author, contract.id) for listing_id in listing_ids])
    refresh(db, listing_ids)


def withdrawn(db: Database, retract: SignedObject) -> None:
    """A visible retract was stored: a contract its author retracted takes nothing any more.

    Storage keeps retracted contracts visible (the contract fold decides
    whether a retract withdrew it), so the index follows the retract itself:
    a listing's author who retracted their contract has reopened the listing.
    """
    target = retract.body.get("target")
    row = db.execute("SELECT author FROM objects WHERE id = ? AND type = 'contract'", [target]).fetchone()
    if row is not None and row[0] == retract.author:
        remove(db, target)


def _retracted(db: Database, contract: SignedObject) -> bool:
    return db.execute("SELECT 1 FROM retractions WHERE target = ? AND author = ?",
                      [contract.id, contract.author]).fetchone() is not None


def remove(db: Database, contract_id: str) -> None:
    """A contract was hidden: its listings are open again unless another contract takes them."""
    freed = db.execute("DELETE FROM search_scope WHERE contract_id = ? RETURNING listing_id",
                       [contract_id]).fetchall()
    refresh(db, sorted({listing_id for (listing_id,) in freed}))


def taken(conn, listings: Sequence[SignedObject]) -> set[str]:
    """The ids of these (not yet indexed) listings that a stored contract takes."""
    candidates = [o for o in listings if o.type in TAKEN_TYPES]
    if not candidates:
        return set()
    pairs = set(select_in(conn, "SELECT listing_id, party FROM search_scope WHERE listing_id IN ({})",
                          [o.id for o in candidates]))
    return {o.id for o in candidates if (o.id, o.author) in pairs}


def refresh(db: Database, listing_ids: Iterable[str]) -> None:
    """Recompute `search_listing.contracted` for these listing ids (those indexed)."""
    db.conn.executemany(
        "UPDATE search_listing SET contracted = EXISTS (SELECT 1 FROM search_scope s "
        "WHERE s.listing_id = o.id AND s.party = o.author) "
        f"FROM objects o WHERE o.id = ? AND o.seq = search_listing.seq AND o.type IN ({_TAKEN_SQL})",
        [(listing_id,) for listing_id in listing_ids])


_TAKEN_SQL = ", ".join(f"'{t}'" for t in sorted(TAKEN_TYPES))

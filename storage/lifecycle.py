"""The lifecycle index: every lifecycle object by its root listing, and contract parties.

Two derived tables (storage.derived), rebuilt from the objects whenever
their version changes:

- `lifecycle_index(object_id, type, root, parent, category, hidden)`: one
  row per stored lifecycle object (protocol.lifecycle.refs), hidden ones
  included with `hidden = 1` so that a child of a hidden object still finds
  its root. A visible `retract` of an indexed object is indexed under its
  target's root (the contract fold reads retracts of contracts and signs).
- `contract_parties(contract_id, did, role)`: who is party to each contract.

Roots (projects and offers) are not rows: `root` names them. A lifecycle
object is stored only after its context, so its parent is always indexed
(or is the root itself) when its own row is written, in ingest and in a
rebuild alike (both go in `seq` order).

The reads at the end are what the service layer uses.
"""

from typing import Sequence

from sqlite_utils import Database

from protocol.envelope import SignedObject
from protocol.lifecycle import refs
from storage.derived import Derived, register, select_in, signed_from_wire

VERSION = 2


def create(db: Database) -> None:
    db.execute("""
        CREATE TABLE IF NOT EXISTS lifecycle_index (
            object_id TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            root TEXT NOT NULL,
            parent TEXT NOT NULL,
            category TEXT,
            hidden INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX IF NOT EXISTS lifecycle_by_root ON lifecycle_index(root)")
    db.execute("CREATE INDEX IF NOT EXISTS lifecycle_by_parent ON lifecycle_index(parent)")
    db.execute("""
        CREATE TABLE IF NOT EXISTS contract_parties (
            contract_id TEXT NOT NULL,
            did TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (contract_id, did)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX IF NOT EXISTS contract_parties_by_did ON contract_parties(did)")


def apply(db: Database, obj: SignedObject, hidden: bool) -> None:
    if refs.is_lifecycle(obj):
        parent_id = refs.parent(obj)
        if parent_id is not None:
            root, category = _root_of(db, parent_id)
            _index(db, obj.id, obj.type, root, parent_id, category, hidden)
            if obj.type == "contract":
                db.conn.executemany(
                    "INSERT OR IGNORE INTO contract_parties(contract_id, did, role) VALUES (?, ?, ?)",
                    [(obj.id, p["did"], p["role"]) for p in obj.body["parties"]])
            # retracts that arrived before their target (kept in `retractions`) join it now
            for retract_id, in db.execute("SELECT retract_id FROM retractions WHERE target = ?", [obj.id]):
                _index_retract(db, retract_id, obj.id, root, category)
    elif obj.type == "retract" and not hidden:
        target = obj.body.get("target")
        row = db.execute("SELECT root, category FROM lifecycle_index WHERE object_id = ?", [target]).fetchone()
        if row is not None:
            _index(db, obj.id, "retract", row[0], target, row[1], hidden)


def hide(db: Database, object_id: str) -> None:
    # A hidden retract (void, or signed after a rotation) means nothing to the folds, and a node that
    # saw its target first never stored it: its row goes, so the index is the same in either order.
    db.execute("DELETE FROM lifecycle_index WHERE object_id = ? AND type = 'retract'", [object_id])
    db.execute("UPDATE lifecycle_index SET hidden = 1 WHERE object_id = ?", [object_id])


def drop(db: Database) -> None:
    db.execute("DROP TABLE IF EXISTS lifecycle_index")
    db.execute("DROP TABLE IF EXISTS contract_parties")


def _root_of(db: Database, parent_id: str) -> tuple[str, str | None]:
    row = db.execute("SELECT root, category FROM lifecycle_index WHERE object_id = ?", [parent_id]).fetchone()
    if row is not None:
        return row[0], row[1]
    found = db.execute("SELECT category FROM objects WHERE id = ?", [parent_id]).fetchone()
    return parent_id, found[0] if found else None  # the parent is the root listing itself


def _index(db: Database, object_id: str, type_: str, root: str, parent_id: str, category: str | None,
           hidden: bool) -> None:
    db.execute("INSERT OR IGNORE INTO lifecycle_index(object_id, type, root, parent, category, hidden) "
               "VALUES (?, ?, ?, ?, ?, ?)", [object_id, type_, root, parent_id, category, int(hidden)])


def _index_retract(db: Database, retract_id: str, target: str, root: str, category: str | None) -> None:
    row = db.execute("SELECT hidden_by FROM objects WHERE id = ?", [retract_id]).fetchone()
    if row is not None and row[0] is None:
        _index(db, retract_id, "retract", root, target, category, False)


LIFECYCLE_INDEX = register(Derived("lifecycle_index", create, apply, hide, drop, version=VERSION))


# --- reads used by the service layer --------------------------------------------

def root_of(db: Database, object_id: str) -> str | None:
    """The root listing id of a stored object: itself for a project or offer; None if not indexed."""
    row = db.execute("SELECT root FROM lifecycle_index WHERE object_id = ?", [object_id]).fetchone()
    if row is not None:
        return row[0]
    row = db.execute("SELECT type FROM objects WHERE id = ?", [object_id]).fetchone()
    return object_id if row is not None and row[0] in refs.ROOT_TYPES else None


def objects_of_root(db: Database, root_id: str, *, include_hidden: bool = False) -> list[SignedObject]:
    """The root listing and every lifecycle object under it (and retracts of them), by (created_at, id).

    Hidden objects (retracted, or signed after a key rotation) are left out
    unless asked for: the folds work on the visible set.
    """
    visible = "" if include_hidden else " AND o.hidden_by IS NULL"
    rows = db.execute(
        "SELECT o.wire FROM objects o WHERE o.id = ?" + visible + " UNION ALL "
        "SELECT o.wire FROM lifecycle_index l JOIN objects o ON o.id = l.object_id WHERE l.root = ?"
        + visible, [root_id, root_id]).fetchall()
    objs = [signed_from_wire(row[0]) for row in rows]
    return sorted(objs, key=lambda o: (o.created_at, o.id))


def object_set(db: Database, object_id: str, *, include_hidden: bool = False) -> list[SignedObject]:
    """Everything a fold of `object_id` (a project, offer, task, contract, ...) may need: its root's whole set.

    A contract's set is that of its root listing, so amendments, the tasks it
    covers and their claims come along. Empty if the object is not held.
    """
    root = root_of(db, object_id)
    return [] if root is None else objects_of_root(db, root, include_hidden=include_hidden)


def contracts_of(db: Database, did: str, *, include_hidden: bool = False) -> list[str]:
    """Ids of the contracts naming `did` as a party, oldest first (created_at, id)."""
    visible = "" if include_hidden else " AND o.hidden_by IS NULL"
    return [row[0] for row in db.execute(
        "SELECT p.contract_id FROM contract_parties p JOIN objects o ON o.id = p.contract_id "
        "WHERE p.did = ?" + visible + " ORDER BY o.created_at, o.id", [did]).fetchall()]


def contracts_of_partners(db: Database, did: str) -> list[str]:
    """Ids of the contracts (hidden ones included) of `did` and of everyone party to a contract with `did`,
    sorted: what reputation's pair rule needs. Two queries, however many contracts."""
    partners = [row[0] for row in db.execute(
        "SELECT DISTINCT did FROM contract_parties WHERE contract_id IN "
        "(SELECT contract_id FROM contract_parties WHERE did = ?)", [did])]
    return sorted({row[0] for row in select_in(
        db.conn, "SELECT contract_id FROM contract_parties WHERE did IN ({})", partners)})


def parties_of(db: Database, contract_id: str) -> list[tuple[str, str]]:
    """(did, role) of a contract's parties, in did order."""
    return [tuple(row) for row in db.execute(
        "SELECT did, role FROM contract_parties WHERE contract_id = ? ORDER BY did", [contract_id])]


def index_rows(db: Database, ids: Sequence[str] | None = None) -> list[tuple]:
    """Raw rows (object_id, type, root, parent, category, hidden), by object_id: for tests and `kinode reindex`."""
    if ids is None:
        return [tuple(r) for r in db.execute("SELECT object_id, type, root, parent, category, hidden "
                                             "FROM lifecycle_index ORDER BY object_id")]
    return sorted(tuple(r) for r in select_in(
        db.conn, "SELECT object_id, type, root, parent, category, hidden FROM lifecycle_index "
        "WHERE object_id IN ({})", list(ids)))

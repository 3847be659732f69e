"""Contract summaries: the clock-free facts reputation reads, one row per contract (spec section 13.4).

A derived table (storage.derived), so reputation is a read of rows instead
of a fold of every object of every contract a participant ever had:

- `contract_summaries(contract_id, supersedes, latest, summary)`: the
  `protocol.lifecycle.contract_summary.ContractSummary` of each stored
  contract as JSON (`as_row`, positional: quicker to decode than `as_dict`), folded at `FOREVER` from the contract's *object set*,
  and `latest`, the greatest `created_at` in that set. A summary holds at
  any `now` >= latest (contract_summary's docstring says why); a read at an
  earlier `now` folds that contract from its objects instead.
- `contract_summary_stale(contract_id, marked_by)`: contracts whose set changed in the
  current transaction. `apply` and `hide` only mark (a rolled-back job
  takes its marks along); `flush`, once per group commit, refolds each
  marked contract together with its amendment family and empties the mark.

A contract's object set is what its fold reads of the root listing's set
(storage.lifecycle.object_set, hidden objects included, as reads.py folds
them): the contracts linked to it by `supersedes` (signing weighs
amendments and their rivals), everything below those in the lifecycle
index (signs, deliveries, acceptances, payments, disputes, rulings, reviews
and retracts of these), and the parent chain up to the root listing (the
inherited category). The fold of a contract reads nothing else, so its
summary from this set equals the one from the whole root set.
"""

import json
from typing import Sequence

from sqlite_utils import Database

from protocol.envelope import SignedObject
from protocol.lifecycle.contract_summary import FOREVER, ContractSummary
from protocol.lifecycle.reputation import contract_summaries
from storage.derived import Derived, register, select_in, signed_from_wire

VERSION = 2  # 2: rows as ContractSummary.as_row

# types whose body names the contract whose set they join
_NAMES_CONTRACT = frozenset({"sign", "delivery", "payment", "dispute", "ruling", "review"})
_NOT_UNDER_A_CONTRACT = frozenset({"task", "claim", "approval", "reopen", "proposal"})
_MAX_DEPTH = 8  # contract > delivery > acceptance > retract > ...: real chains are 4 deep


def create(db: Database) -> None:
    db.execute("""
        CREATE TABLE IF NOT EXISTS contract_summaries (
            contract_id TEXT PRIMARY KEY,
            supersedes TEXT,
            latest INTEGER,
            summary TEXT
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX IF NOT EXISTS contract_summaries_by_supersedes ON contract_summaries(supersedes)")
    db.execute("CREATE TABLE IF NOT EXISTS contract_summary_stale (contract_id TEXT PRIMARY KEY, marked_by TEXT) "
               "WITHOUT ROWID")


def apply(db: Database, obj: SignedObject, hidden: bool) -> None:
    type_ = obj.type
    if type_ == "contract":
        db.execute("INSERT OR IGNORE INTO contract_summaries(contract_id, supersedes) VALUES (?, ?)",
                   [obj.id, obj.body.get("supersedes")])
        _mark(db, obj.id, obj.id)
    elif type_ in _NAMES_CONTRACT:
        _mark(db, obj.body.get("contract"), obj.id)
    elif type_ == "acceptance":
        _mark(db, _contract_above(db, obj.body.get("delivery")), obj.id)
    elif type_ == "retract":
        _mark(db, _contract_above(db, obj.body.get("target")), obj.id)


def hide(db: Database, object_id: str) -> None:
    # Hidden objects stay in a contract's set (the folds weigh retracts themselves), except hidden
    # retracts, which storage.lifecycle drops from the index: the target's contract changes.
    row = db.execute("SELECT wire FROM objects WHERE id = ? AND type = 'retract'", [object_id]).fetchone()
    if row is not None:
        _mark(db, _contract_above(db, json.loads(row[0])["body"].get("target")), object_id)


def flush(db: Database) -> None:
    stale = [row[0] for row in db.execute("SELECT contract_id FROM contract_summary_stale ORDER BY contract_id")]
    if not stale:
        return
    db.execute("DELETE FROM contract_summary_stale")
    done: set[str] = set()
    for contract_id in stale:
        if contract_id in done:
            continue
        family = _family(db, contract_id)
        done |= family
        objects = _object_set(db, family)
        latest = max((o.created_at for o in objects), default=None)
        folded = contract_summaries(objects, FOREVER)
        db.conn.executemany(
            "UPDATE contract_summaries SET latest = ?, summary = ? WHERE contract_id = ?",
            [(latest, json.dumps(folded[c].as_row(), separators=(",", ":")), c) for c in sorted(family)
             if c in folded])


def drop(db: Database) -> None:
    db.execute("DROP TABLE IF EXISTS contract_summaries")
    db.execute("DROP TABLE IF EXISTS contract_summary_stale")


def _mark(db: Database, contract_id: object, by: str) -> None:
    # `marked_by`: the first object that changed the contract's set in this transaction (for debugging)
    if isinstance(contract_id, str):
        db.execute("INSERT OR IGNORE INTO contract_summary_stale(contract_id, marked_by) VALUES (?, ?)",
                   [contract_id, by])


def _contract_above(db: Database, object_id: object) -> str | None:
    """The contract whose set `object_id` belongs to (itself if it is one), through the lifecycle index."""
    for _ in range(_MAX_DEPTH):
        if not isinstance(object_id, str):
            return None
        row = db.execute("SELECT type, parent FROM lifecycle_index WHERE object_id = ?", [object_id]).fetchone()
        if row is None or row[0] in _NOT_UNDER_A_CONTRACT:
            return None
        if row[0] == "contract":
            return object_id
        object_id = row[1]
    return None


def _family(db: Database, contract_id: str) -> set[str]:
    """`contract_id` and every stored contract linked to it by `supersedes`, either way."""
    family, frontier = {contract_id}, [contract_id]
    while frontier:
        current = frontier.pop()
        linked = [r[0] for r in db.execute("SELECT contract_id FROM contract_summaries WHERE supersedes = ?",
                                           [current])]
        row = db.execute("SELECT supersedes FROM contract_summaries WHERE contract_id = ?", [current]).fetchone()
        if row is not None and row[0] is not None and db.execute(
                "SELECT 1 FROM contract_summaries WHERE contract_id = ?", [row[0]]).fetchone():
            linked.append(row[0])
        for other in linked:
            if other not in family:
                family.add(other)
                frontier.append(other)
    return family


def _object_set(db: Database, family: set[str]) -> list[SignedObject]:
    ids = set(family)
    level = sorted(family)
    for _ in range(_MAX_DEPTH):  # everything below the family in the index
        level = [r[0] for r in select_in(db.conn, "SELECT object_id FROM lifecycle_index WHERE parent IN ({})",
                                         level) if r[0] not in ids]
        if not level:
            break
        ids.update(level)
    for contract_id in family:  # the parent chain to the root listing
        current = contract_id
        for _ in range(_MAX_DEPTH):
            row = db.execute("SELECT parent FROM lifecycle_index WHERE object_id = ?", [current]).fetchone()
            if row is None:
                break
            current = row[0]
            ids.add(current)
    return [signed_from_wire(r[0]) for r in select_in(db.conn, "SELECT wire FROM objects WHERE id IN ({})",
                                                        sorted(ids))]


CONTRACT_SUMMARIES = register(Derived("contract_summaries", create, apply, hide, drop, version=VERSION,
                                      flush=flush))


# --- reads ------------------------------------------------------------------

def summaries(db: Database, contract_ids: Sequence[str], now: int) -> list[ContractSummary]:
    """The summaries of these contracts as a fold at `now` of their sets gives them (contracts dated
    after `now` left out); from the table, or folded afresh where the set holds objects dated after `now`."""
    found: list[ContractSummary] = []
    refold: list[str] = []
    for contract_id, latest, text in select_in(
            db.conn, "SELECT contract_id, latest, summary FROM contract_summaries WHERE contract_id IN ({})",
            list(dict.fromkeys(contract_ids))):
        if text is None or latest is None or latest > now:
            refold.append(contract_id)
        else:
            found.append(ContractSummary.from_row(json.loads(text)))
    for contract_id in refold:
        folded = contract_summaries(_object_set(db, _family(db, contract_id)), now)
        if contract_id in folded:
            found.append(folded[contract_id])
    return found


def rows(db: Database) -> list[tuple]:
    """(contract_id, supersedes, latest, summary) by contract_id: for tests comparing ingest with a rebuild."""
    return [tuple(r) for r in db.execute("SELECT contract_id, supersedes, latest, summary FROM contract_summaries "
                                         "ORDER BY contract_id")]

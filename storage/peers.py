"""Known peers (nodes and hubs) and their health.

Health is what kinode's gossip needs to choose whom to talk to: when a peer
last answered, how many attempts failed in a row since, and the last error.
"""

import json
from dataclasses import dataclass

from sqlite_utils import Database

from storage.errors import NotFound


@dataclass(frozen=True)
class Peer:
    did: str
    url: str
    categories: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    added_at: int = 0
    last_seen: int | None = None
    failures: int = 0
    last_error: str | None = None


_COLUMNS = "did, url, categories, roles, added_at, last_seen, failures, last_error"


def upsert_peer(db: Database, did: str, url: str, categories: list[str] | tuple[str, ...],
                roles: list[str] | tuple[str, ...], now: int) -> None:
    """Add a peer, or update its URL, categories and roles (health is kept)."""
    db.execute(
        "INSERT INTO peers(did, url, categories, roles, added_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(did) DO UPDATE SET url = excluded.url, categories = excluded.categories, "
        "roles = excluded.roles",
        [did, url, json.dumps(sorted(set(categories))), json.dumps(sorted(set(roles))), now])


def record_success(db: Database, did: str, now: int) -> None:
    _one_changed(db.execute(
        "UPDATE peers SET last_seen = ?, failures = 0, last_error = NULL WHERE did = ?", [now, did]), did)


def record_failure(db: Database, did: str, error: str) -> None:
    _one_changed(db.execute(
        "UPDATE peers SET failures = failures + 1, last_error = ? WHERE did = ?", [error, did]), did)


def remove_peer(db: Database, did: str) -> None:
    _one_changed(db.execute("DELETE FROM peers WHERE did = ?", [did]), did)


def get_peer(db: Database, did: str) -> Peer | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM peers WHERE did = ?", [did]).fetchone()
    return _peer(row) if row else None


def list_peers(db: Database, *, role: str | None = None, category: str | None = None) -> list[Peer]:
    """Peers, healthiest first (fewest failures, most recently seen)."""
    sql = f"SELECT {_COLUMNS} FROM peers WHERE 1"
    params: list[str] = []
    if role is not None:
        sql += " AND EXISTS (SELECT 1 FROM json_each(roles) WHERE value = ?)"
        params.append(role)
    if category is not None:
        sql += " AND EXISTS (SELECT 1 FROM json_each(categories) WHERE value = ?)"
        params.append(category)
    sql += " ORDER BY failures, last_seen DESC NULLS LAST, did"
    return [_peer(row) for row in db.execute(sql, params).fetchall()]


def _peer(row: tuple) -> Peer:
    did, url, categories, roles, added_at, last_seen, failures, last_error = row
    return Peer(did, url, tuple(json.loads(categories)), tuple(json.loads(roles)),
                added_at, last_seen, failures, last_error)


def _one_changed(cursor, did: str) -> None:
    if cursor.rowcount != 1:
        raise NotFound(f"no peer {did}")

"""Where each published object was routed and what became of it: "delivered to N of M".

The outbox forgets an entry once it is delivered; this log keeps, per object
and destination, the last known state, so the owner can always be told where
an object went, what is still waiting (and why) and what was refused.

States: `queued` (in the outbox), `delivered` (accepted or already held),
`pending` (the destination holds it but waits for its context; still retried),
`rejected` (refused; the code and detail say why), `unreachable` (no address
is known for someone the object concerns: nothing can be sent).
"""

from dataclasses import dataclass

from sqlite_utils import Database

from storage.derived import select_in

UNREACHABLE = "@unreachable:"


@dataclass(frozen=True)
class Destination:
    object_id: str
    destination: str
    name: str
    state: str
    code: str | None
    detail: str | None
    updated_at: int


def plan(db: Database, object_id: str, routes: list[tuple[str, str]], now: int) -> None:
    """Record the (destination, name) routes of an object as queued (known ones keep their state)."""
    db.conn.executemany(
        "INSERT INTO deliveries(object_id, destination, name, state, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(object_id, destination) DO UPDATE SET name = excluded.name",
        [(object_id, dest, name, "unreachable" if dest.startswith(UNREACHABLE) else "queued", now)
         for dest, name in routes])


def settle(db: Database, object_id: str, destination: str, state: str, now: int,
           code: str | None = None, detail: str | None = None) -> None:
    """Record what a destination made of an object. Only planned routes are logged:
    a hub forwarding others' objects to its peers keeps no log of them."""
    db.execute("UPDATE deliveries SET state = ?, code = ?, detail = ?, updated_at = ? "
               "WHERE object_id = ? AND destination = ?", [state, code, detail, now, object_id, destination])


def unreachable(db: Database, limit: int = 1000) -> list[tuple[str, str, str]]:
    """(object id, did, name) of the destinations that are people no address was known for, oldest first
    (not "nowhere": an object no hub serves that names nobody)."""
    rows = db.execute("SELECT object_id, destination, name FROM deliveries WHERE state = 'unreachable' "
                      "AND destination LIKE ? ORDER BY updated_at, object_id LIMIT ?",
                      [UNREACHABLE + "did:%", limit]).fetchall()
    return [(object_id, dest.removeprefix(UNREACHABLE), name) for object_id, dest, name in rows]


def moved(db: Database, rows: list[tuple[str, str, str, str]], now: int) -> None:
    """(object id, old destination, url, name): an object that had no address (a person's unknown node,
    or "nowhere") now goes to `url`. Its log names `url`, queued (or keeps the row it has there)."""
    db.conn.executemany("DELETE FROM deliveries WHERE object_id = ? AND destination = ?",
                        [(object_id, old) for object_id, old, _, _ in rows])
    db.conn.executemany("INSERT INTO deliveries(object_id, destination, name, state, updated_at) "
                        "VALUES (?, ?, ?, 'queued', ?) ON CONFLICT(object_id, destination) DO NOTHING",
                        [(object_id, url, name, now) for object_id, _, url, name in rows])


def of(db: Database, object_ids: list[str]) -> dict[str, list[Destination]]:
    found: dict[str, list[Destination]] = {i: [] for i in object_ids}
    for row in select_in(db.conn, "SELECT object_id, destination, name, state, code, detail, updated_at "
                                  "FROM deliveries WHERE object_id IN ({}) ORDER BY destination", object_ids):
        found[row[0]].append(Destination(*row))
    return found


def recent(db: Database, limit: int = 100) -> dict[str, list[Destination]]:
    """The routes of the `limit` most recently routed objects."""
    ids = [r[0] for r in db.execute(
        "SELECT object_id FROM deliveries GROUP BY object_id ORDER BY max(updated_at) DESC, object_id LIMIT ?",
        [limit]).fetchall()]
    return of(db, ids)


def summary(db: Database, object_ids: list[str] | None = None, limit: int = 100) -> list[dict]:
    """Per routed object, newest first: {"id", "type", "delivered", "total", "destinations": [...]}.

    `total` counts every destination, the unreachable ones too: nothing
    counts as sent that was not. Each destination says its state and, when
    it has not taken the object, why (code and detail).
    """
    routes = of(db, object_ids) if object_ids is not None else recent(db, limit)
    types = dict(select_in(db.conn, "SELECT id, type FROM objects WHERE id IN ({})", list(routes)))
    answer = []
    for object_id, rows in routes.items():
        answer.append({
            "id": object_id, "type": types.get(object_id), "total": len(rows),
            "delivered": sum(1 for r in rows if r.state == "delivered"),
            "destinations": [{"to": None if r.destination.startswith(UNREACHABLE) else r.destination,
                              "name": r.name, "state": r.state, "code": r.code, "detail": r.detail,
                              "at": r.updated_at} for r in rows]})
    return answer

"""Matching (spec section 14.6): who fits a task or project, and which open tasks fit a participant.

Two stages, so a hub with 100k offers answers fast: SQL takes the
MATCH_CANDIDATES listings with the most wanted skills (ties: newest), then
each gets the integer score below; reputation is looked up for the best
MATCH_REPUTATION only.

    score = skills + endorsed + price + reputation
    skills     = 1000 * |wanted ∩ offered| / |wanted|   (0 when nothing is wanted)
    endorsed   = 300 when the candidate is an endorsed expert of the category
    price      = 200 when the offer is fixed-price, in the budget's currency, within the budget
    reputation = rating_milli / 10 (0..500) in the category, for the best MATCH_REPUTATION

A candidate is left out when it is the listing's own author, delisted, or
busy: it holds a live claim (lease not lapsed at `now`) on another task whose
deadline is after this one's. Ties: higher score, then newer, then lower id.
"""

from sqlite_utils import Database

from kinode.work import reads
from storage.derived import select_in, signed_from_wire
from storage.market_index import skill_key
from storage.search_index import scaled_amount

MATCH_CANDIDATES, MATCH_REPUTATION, MATCH_LIMIT, SKILL_WINDOW = 200, 50, 20, 2000


def _wanted(obj) -> list[str]:
    return sorted({skill_key(s) for s in obj.body.get("skills", ()) if isinstance(s, str) and skill_key(s)})


def _candidates(db: Database, type_: str, categories: list[str], extra_sql: str, params: list,
                wanted: list[str]) -> list[tuple]:
    """Stage 1 of 14.6: per wanted skill and category, the SKILL_WINDOW newest listings of `type_` with it
    (an index range of market_skills); of those, the MATCH_CANDIDATES with the most wanted skills, ties
    newest first; topped up with the newest listings when fewer have a wanted skill."""
    columns = "o.id, o.author, o.created_at, o.wire"
    counts: dict[str, int] = {}
    created: dict[str, int] = {}
    for category in categories:
        for skill in wanted:
            for object_id, at in db.execute(
                    "SELECT id, created_at FROM market_skills WHERE skill = ? AND category = ? AND type = ? "
                    f"ORDER BY created_at DESC, id DESC LIMIT {SKILL_WINDOW}", [skill, category, type_]):
                counts[object_id] = counts.get(object_id, 0) + 1
                created[object_id] = at
    ranked = sorted(sorted(counts, reverse=True), key=lambda i: (-counts[i], -created[i]))  # stable: ties by id, descending
    found: list[tuple] = []
    for start in range(0, len(ranked), MATCH_CANDIDATES):  # most are kept: one or two rounds
        chunk = ranked[start:start + MATCH_CANDIDATES]
        rows = {row[0]: row for row in db.execute(
            f"SELECT {columns} FROM objects o JOIN search_listing l ON l.seq = o.seq "
            f"WHERE o.id IN ({', '.join('?' * len(chunk))}){extra_sql}", [*chunk, *params])}
        found += [(*rows[i], counts[i]) for i in chunk if i in rows]
        if len(found) >= MATCH_CANDIDATES:
            break
    found = found[:MATCH_CANDIDATES]
    if len(found) < MATCH_CANDIDATES:
        taken = {row[0] for row in found}
        marks = ", ".join("?" * len(categories))
        newest = db.execute(f"SELECT {columns}, 0 FROM search_listing l JOIN objects o ON o.seq = l.seq "
                            f"WHERE o.type = ? AND o.category IN ({marks}){extra_sql} "
                            f"ORDER BY l.key DESC LIMIT {MATCH_CANDIDATES * 2}",
                            [type_, *categories, *params]).fetchall()
        found += [row for row in newest if row[0] not in taken][:MATCH_CANDIDATES - len(found)]
    return found


def _busy(db: Database, authors: list[str], deadline: int, now: int, task_id: str) -> set[str]:
    claims = [signed_from_wire(w) for (w,) in select_in(
        db.conn, "SELECT wire FROM objects WHERE type = 'claim' AND hidden_by IS NULL AND author IN ({})", authors)]
    tasks = {t.id: t for t in map(signed_from_wire, (w for (w,) in select_in(
        db.conn, "SELECT wire FROM objects WHERE id IN ({})", [c.body["task"] for c in claims])))}
    busy = set()
    for claim in claims:
        task = tasks.get(claim.body.get("task"))
        if task is None or task.id == task_id:
            continue
        live = claim.created_at + task.body.get("claim_lease", 0) > now
        if live and task.body.get("deadline", 0) > deadline:
            busy.add(claim.author)
    return busy


def match(db: Database, object_id: str, me: str, now: int, honoured: set[str], judgements) -> dict | None:
    row = db.execute("SELECT wire FROM objects WHERE id = ? AND hidden_by IS NULL", [object_id]).fetchone()
    if row is None:
        return None
    target = signed_from_wire(row[0])
    judged, _ = judgements(db, me, now, honoured)
    if target.type in ("task", "project"):
        return _for_listing(db, target, judged, now)
    if target.type == "profile":
        return _for_participant(db, target, judged, now)
    return None


def _for_listing(db: Database, target, judged, now: int) -> dict:
    wanted, category = _wanted(target), target.category
    budget = target.body.get("budget", {})
    rows = _candidates(db, "offer", [category], "", [], wanted)
    rows = [r for r in rows if r[1] != target.author and r[0] not in judged.delisted_ids
            and r[1] not in judged.delisted_authors]
    busy = _busy(db, sorted({r[1] for r in rows}), target.body.get("deadline", 0), now, target.id)
    scored = []
    for offer_id, author, created_at, wire, matched in rows:
        if author in busy:
            continue
        offer = signed_from_wire(wire)
        parts = {"skills": 1000 * matched // len(wanted) if wanted else 0,
                 "endorsed": 300 if (author, category) in judged.endorsed else 0,
                 "price": 200 if _within(offer.body.get("price", {}), offer.body.get("unit"), budget) else 0,
                 "reputation": 0}
        scored.append([parts, offer])
    _add_reputation(db, scored, category, now)
    return _answer(target, scored, wanted, busy)


def _within(price: dict, unit: str | None, budget: dict) -> bool:
    if unit != "fixed" or price.get("currency") != budget.get("currency"):
        return False
    offered, limit = scaled_amount(price.get("amount")), scaled_amount(budget.get("amount"))
    return offered is not None and limit is not None and offered <= limit


def _for_participant(db: Database, profile, judged, now: int) -> dict:
    did = profile.author
    offers = [signed_from_wire(w) for (w,) in db.execute(
        "SELECT wire FROM objects WHERE type = 'offer' AND author = ? AND hidden_by IS NULL", [did]).fetchall()]
    categories = sorted({*profile.body.get("categories", ()), *(o.category for o in offers if o.category)})
    have = sorted({*_wanted(profile), *(s for o in offers for s in _wanted(o))})
    if not categories:
        return _answer(profile, [], have, set())
    rows = _candidates(db, "task", categories, " AND l.contracted = 0 AND l.deadline > ?", [now], have)
    scored = []
    for task_id, author, created_at, wire, matched in rows:
        task = signed_from_wire(wire)
        if author == did or task_id in judged.delisted_ids or author in judged.delisted_authors:
            continue
        wanted = _wanted(task)
        parts = {"skills": 1000 * matched // len(wanted) if wanted else 0,
                 "endorsed": 300 if (did, task.category) in judged.endorsed else 0, "price": 0, "reputation": 0}
        scored.append([parts, task])
    return _answer(profile, scored, have, set())


def _add_reputation(db: Database, scored: list, category: str, now: int) -> None:
    scored.sort(key=_order)
    for parts, offer in scored[:MATCH_REPUTATION]:
        rating = reads.reputation(db, offer.author, now, category).get("rating_milli") or 0
        parts["reputation"] = min(500, rating // 10)


def _order(item) -> tuple:
    parts, obj = item
    return (-sum(parts.values()), -obj.created_at, obj.id)


def _answer(target, scored: list, skills: list[str], busy: set[str]) -> dict:
    scored.sort(key=_order)
    return {"for": target.id, "type": target.type, "skills": skills, "left_out_busy": sorted(busy),
            "matches": [{"id": obj.id, "type": obj.type, "author": obj.author, "score": sum(parts.values()),
                         "parts": parts, "object": obj.as_dict()} for parts, obj in scored[:MATCH_LIMIT]]}

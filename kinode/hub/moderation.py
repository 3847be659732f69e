"""Labels as this hub applies them (spec section 14.4): delisted objects, blocked authors, and why.

A hub honours its own labels and those of the hubs its hub.toml lists under
`moderation.honour`. Labels never remove objects: search and the object log
still know the object, and say it is delisted, by which label, and what the
author answered.
"""

from typing import Iterable

from sqlite_utils import Database

from protocol import hubs
from protocol.envelope import SignedObject
from storage import hub_objects


def states(db: Database, labels: list[SignedObject], now: int, honoured: set[str]) -> list[hubs.LabelState]:
    answers = hub_objects.responses(db, [l.id for l in labels]) if labels else []
    targets = [l.body["target"] for l in labels if l.body.get("scope") == "object"]
    held = hub_objects.objects_by_id(db, targets) if targets else {}
    return [hubs.label_state(l, now, honoured, answers, held) for l in labels]


def labels_answer(db: Database, now: int, honoured: set[str], *, target: str | None = None,
                  subject: str | None = None) -> dict:
    found = hub_objects.labels(db, target=target, subject=subject)
    return {"labels": [s.as_dict() for s in states(db, found, now, honoured)], "honoured": sorted(honoured)}


def moderation_of(db: Database, objs: Iterable[SignedObject], now: int, honoured: set[str]) -> dict[str, list[hubs.LabelState]]:
    """Object id -> the labels that apply to it here (absent: not delisted)."""
    objs = list(objs)
    if not objs:
        return {}
    ids, authors = {o.id for o in objs}, {o.author for o in objs}
    found = [l for l in hub_objects.labels(db) if l.body.get("target") in ids or l.body.get("subject") in authors]
    applying = states(db, found, now, honoured)
    answer = {}
    for obj in objs:
        delisting = hubs.delisting(obj, applying)
        if delisting:
            answer[obj.id] = delisting
    return answer


def object_moderation(db: Database, object_id: str, now: int, honoured: set[str]) -> dict | None:
    """GET /ki/v1/moderation/{id}: whether the object is delisted here, and every label on it or its author."""
    obj = hub_objects.objects_by_id(db, [object_id]).get(object_id)
    if obj is None:
        return None
    found = [l for l in hub_objects.labels(db)
             if l.body.get("target") == object_id or l.body.get("subject") == obj.author]
    all_states = states(db, found, now, honoured)
    delisting = hubs.delisting(obj, all_states)
    return {"id": object_id, "delisted": bool(delisting), "why": [s.why for s in delisting],
            "labels": [s.as_dict() for s in all_states]}


def marks(db: Database, page: Iterable, now: int, honoured: set[str]) -> dict[str, list[dict]]:
    """Object id -> the marks of the labels delisting it here (spec 9.4-9.6), for a page of search hits or
    log entries (anything with `id` and `author`): one query for the page's labels, one more for the
    authors' responses only when some label applies. Ids absent from the answer are not delisted."""
    page = list(page)
    if not page:
        return {}
    found = hub_objects.labels_on(db, sorted({p.id for p in page}), sorted({p.author for p in page}),
                                  sorted(honoured), now)
    if not found:
        return {}
    answers = hub_objects.responses(db, [l.id for l in found])
    by_id = {p.id: p for p in page}  # label_state only reads the target's `author`
    applying = [hubs.label_state(l, now, honoured, answers, by_id) for l in found]
    answer = {}
    for item in page:
        delisting = hubs.delisting(item, applying)
        if delisting:
            answer[item.id] = [mark(s) for s in delisting]
    return answer


def mark(state: hubs.LabelState) -> dict:
    """What a delisted entry carries beside its signed object: the label, its reason and the answers."""
    body = state.label.body
    return {"label": state.label.id, "by": state.label.author, "scope": body.get("scope"),
            "reason": body.get("reason"), "note": body.get("note"), "expires": body.get("expires"),
            "responses": [{"id": r.id, "author": r.author, "created_at": r.created_at, "text": r.body.get("text")}
                          for r in state.responses]}


def header(object_marks: list[dict]) -> str:
    """The Ki-Moderation header of a delisted object (an RFC 8941 list): label id, reason, expiry, by."""
    return ", ".join(f'"{m["label"]}";reason={m["reason"]};expires={m["expires"]};by="{m["by"]}"'
                     for m in object_marks)

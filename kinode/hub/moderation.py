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

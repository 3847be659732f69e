"""Endorsements and experts as a hub judges them (spec section 14.2), for HTTP, CLI, web UI and lifecycle.

The hubs a node recognizes are its own DID (when it is a hub) and the hubs
whose announced URL it verified (section 14.3). Every answer carries the
endorsement objects, so a reader can redo the judgement from objects alone.
"""

from sqlite_utils import Database

from protocol import hubs
from kinode.hub import directory
from storage import hub_objects


def recognized(db: Database, me: str | None) -> set[str]:
    found = directory.verified_hubs(db)
    if me is not None:
        found.add(me)
    return found


def standings(db: Database, me: str | None, *, subject: str | None = None, category: str | None = None,
              endorser: str | None = None) -> list[hubs.Standing]:
    announcements = hub_objects.announcements(db)
    trusted = recognized(db, me)
    return [hubs.standing(e, announcements, trusted, revoked)
            for e, revoked in hub_objects.endorsements(db, subject=subject, category=category, endorser=endorser)]


def endorsements_answer(db: Database, me: str | None, **filters) -> dict:
    found = standings(db, me, **filters)
    return {"endorsements": [s.as_dict() for s in found], "recognized_hubs": sorted(recognized(db, me))}


def experts_answer(db: Database, me: str | None, category: str) -> dict:
    """The endorsed experts of `category`: each subject with a counting endorsement, and those that count not."""
    by_subject: dict[str, list[hubs.Standing]] = {}
    for s in standings(db, me, category=category):
        by_subject.setdefault(s.endorsement.body["subject"], []).append(s)
    experts = [{"did": did, "endorsed": any(s.counts for s in found),
                "endorsements": [s.as_dict() for s in found]} for did, found in sorted(by_subject.items())]
    return {"category": category, "experts": [e for e in experts if e["endorsed"]],
            "not_counting": [e for e in experts if not e["endorsed"]],
            "recognized_hubs": sorted(recognized(db, me))}


def is_endorsed_expert(db: Database, did: str, category: str, me: str | None = None) -> bool:
    """Whether `did` holds a counting endorsement in `category` here (for the lifecycle's views:
    e.g. whether a contract's dispute resolver or a project's coordinator is an endorsed expert)."""
    return hubs.is_endorsed(did, category, standings(db, me, subject=did, category=category))

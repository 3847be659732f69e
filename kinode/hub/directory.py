"""The hub directory (spec section 14.3): announced hubs whose URL a challenge proved, with health.

An announcement's URL counts only once this node challenged it (POST
/ki/v1/challenge) and the DID answering there was the announcement's author;
a change of URL needs a new proof. Only `kinode.federation` makes the HTTP
calls; this module reads and judges what they recorded.
"""

from sqlite_utils import Database

from protocol.envelope import SignedObject
from storage import hub_objects, hub_state


def _verification_index(db: Database) -> dict[tuple[str, str], hub_state.Verification]:
    return {(v.did, v.url): v for v in hub_state.verifications(db)}


def is_verified(announcement: SignedObject, index: dict) -> bool:
    v = index.get((announcement.author, announcement.body.get("url")))
    return v is not None and v.verified_at is not None


def verified_hubs(db: Database) -> set[str]:
    """DIDs of the hubs whose current announcement's URL this node verified."""
    index = _verification_index(db)
    return {a.author for a in hub_objects.announcements(db) if is_verified(a, index)}


def to_check(db: Database, me: str) -> list[SignedObject]:
    """The current announcements of other hubs, whose URLs the verifier challenges."""
    return [a for a in hub_objects.announcements(db) if a.author != me]


def entry(announcement: SignedObject, v: hub_state.Verification | None, *, me: bool = False,
          now: int | None = None, held: int | None = None) -> dict:
    body = announcement.body
    return {"did": announcement.author, "url": body.get("url"), "name": body.get("name"),
            "categories": body.get("categories", []), "leaders": body.get("leaders", []),
            "fee_bps": body.get("fee_bps"), "policy": body.get("policy"),
            "verified": me or (v is not None and v.verified_at is not None),
            "verified_at": now if me else (v.verified_at if v else None),
            "last_seen": now if me else (v.verified_at if v else None),
            "objects_held": held if me else (v.objects_held if v else None),
            "failures": 0 if me or v is None else v.failures,
            "last_error": None if me or v is None else v.last_error,
            "announcement": announcement.as_dict()}


def directory(db: Database, me: str | None, now: int, category: str | None = None) -> dict:
    """GET /ki/v1/hubs: verified hubs (this one included) serving `category`, and the unverified ones apart."""
    index = _verification_index(db)
    listed, unverified = [], []
    for a in hub_objects.announcements(db):
        if category is not None and category not in a.body.get("categories", ()):
            continue
        if a.author == me:
            listed.append(entry(a, None, me=True, now=now, held=hub_objects.held_count(db)))
        elif is_verified(a, index):
            listed.append(entry(a, index[(a.author, a.body.get("url"))]))
        else:
            v = index.get((a.author, a.body.get("url")))
            unverified.append({"did": a.author, "url": a.body.get("url"),
                               "why": (v.last_error if v and v.last_error else "not challenged yet")})
    return {"category": category, "hubs": listed, "unverified": unverified}

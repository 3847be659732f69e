"""Category hubs (spec section 14): which endorsements count, and which labels apply.

Pure functions over objects and the time passed in; storage hands them the
objects it holds and says which were retracted.

Endorsement chain (14.2): an endorsement by A of S in category C counts for a
reader iff it is not retracted, and some hub H that the reader recognizes (its
own DID, or a hub whose URL it verified, 14.3) has a current `hub` announcement
(the latest by H, section 6.2) that lists C in `categories` and names A as a
leader: A == H, or A is in the announcement's `leaders`. Standing is judged at
read time against the current announcements, so dropping a leader from the
announcement stops their endorsements counting, and adding them back restores
them. Nothing here depends on the order objects arrived in.
"""

from dataclasses import dataclass
from typing import Iterable, Mapping

from protocol.envelope import SignedObject


@dataclass(frozen=True)
class Standing:
    """One endorsement and whether it counts, with the reason and the hub that grants it."""

    endorsement: SignedObject
    counts: bool
    why: str
    hub: str | None = None  # the recognized hub whose announcement names the endorser
    revoked_by: str | None = None  # id of the retract that revoked it

    def as_dict(self) -> dict:
        e = self.endorsement
        return {"id": e.id, "endorser": e.author, "subject": e.body.get("subject"),
                "category": e.body.get("category"), "level": e.body.get("level"), "created_at": e.created_at,
                "counts": self.counts, "why": self.why, "hub": self.hub, "revoked_by": self.revoked_by,
                "object": e.as_dict()}


def leaders(announcement: SignedObject) -> frozenset[str]:
    """The DIDs whose endorsements a hub announcement backs: its author and its `leaders`."""
    named = announcement.body.get("leaders", ())
    return frozenset([announcement.author, *(d for d in named if isinstance(d, str))])


def granting_hub(endorser: str, category: str, announcements: Iterable[SignedObject],
                 recognized: frozenset[str] | set[str]) -> str | None:
    """The lowest DID of a recognized hub whose current announcement makes `endorser` a leader of `category`."""
    hubs = sorted(a.author for a in announcements
                  if a.type == "hub" and a.author in recognized
                  and category in a.body.get("categories", ()) and endorser in leaders(a))
    return hubs[0] if hubs else None


def standing(endorsement: SignedObject, announcements: Iterable[SignedObject],
             recognized: frozenset[str] | set[str], revoked_by: str | None = None) -> Standing:
    """Whether `endorsement` counts, given the current announcements and the hubs the reader recognizes.

    `announcements` are the current `hub` announcements (one per author);
    `revoked_by` is the id of the endorser's retract of it, if held.
    """
    category = endorsement.body.get("category")
    if revoked_by is not None:
        return Standing(endorsement, False, f"revoked: its endorser retracted it ({revoked_by})",
                        revoked_by=revoked_by)
    hub = granting_hub(endorsement.author, category, list(announcements), recognized)
    if hub is None:
        return Standing(endorsement, False, f"the endorser is not a leader of {category} named by the current "
                                            "announcement of any hub recognized here")
    who = "the hub itself" if hub == endorsement.author else f"a leader named by hub {hub}"
    return Standing(endorsement, True, f"the endorser is {who}, which serves {category}", hub=hub)


def is_endorsed(subject: str, category: str, standings: Iterable[Standing]) -> bool:
    """Whether any counting endorsement names `subject` in `category`."""
    return any(s.counts and s.endorsement.body.get("subject") == subject
               and s.endorsement.body.get("category") == category for s in standings)


# --- labels (14.4) ------------------------------------------------------------

@dataclass(frozen=True)
class LabelState:
    label: SignedObject
    applies: bool
    why: str
    responses: tuple[SignedObject, ...] = ()

    def as_dict(self) -> dict:
        body = self.label.body
        return {"id": self.label.id, "by": self.label.author, "scope": body.get("scope"),
                "target": body.get("target"), "subject": body.get("subject"), "reason": body.get("reason"),
                "note": body.get("note"), "expires": body.get("expires"), "applies": self.applies, "why": self.why,
                "responses": [{"id": r.id, "author": r.author, "created_at": r.created_at,
                               "text": r.body.get("text")} for r in self.responses],
                "object": self.label.as_dict()}


def affected(label: SignedObject, held: Mapping[str, SignedObject]) -> str | None:
    """The author a label concerns: the author of its target, or its subject."""
    if label.body.get("scope") == "author":
        return label.body.get("subject")
    target = held.get(label.body.get("target", ""))
    return target.author if target is not None else None


def label_state(label: SignedObject, now: int, honoured: frozenset[str] | set[str],
                responses: Iterable[SignedObject] = (), held: Mapping[str, SignedObject] | None = None) -> LabelState:
    """Whether a (non-retracted) label applies at `now` for a reader honouring labels by `honoured` DIDs.

    Only responses by the affected author are shown (earliest first); a
    retracted label is never passed here: retraction lifts it everywhere.
    """
    author = affected(label, held or {})
    shown = tuple(sorted((r for r in responses if r.body.get("label") == label.id
                          and (author is None or r.author == author)), key=lambda r: (r.created_at, r.id)))
    if label.author not in honoured:
        return LabelState(label, False, f"labels by {label.author} are not honoured here", shown)
    if now >= label.body["expires"]:
        return LabelState(label, False, f"expired at {label.body['expires']}", shown)
    return LabelState(label, True, f"{label.body['reason']}, until {label.body['expires']}", shown)


def delisting(obj: SignedObject, states: Iterable[LabelState]) -> list[LabelState]:
    """The applying labels that delist `obj`: an object label on its id, or an author label on its author."""
    return [s for s in states if s.applies and (
        (s.label.body.get("scope") == "object" and s.label.body.get("target") == obj.id)
        or (s.label.body.get("scope") == "author" and s.label.body.get("subject") == obj.author))]

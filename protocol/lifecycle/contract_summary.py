"""The few facts of a contract that reputation reads, free of the clock (spec section 13.4).

A contract view depends on `now` only through time-triggered outcomes:
auto-accept fires at delivery + auto_accept, a milestone becomes overdue
after `due`, the contract is in force from `in_force_at`. Folding with the
clock at the end of time (`FOREVER`) gives every such instant; comparing
them with a later `now` gives the view's outcome at that `now`, because
every other fact is dated at or before the latest object held. So a node
can keep one `ContractSummary` per contract in a derived table, refresh it
when an object of that contract arrives, and compute any participant's
reputation at any `now` from the summaries alone (`reputation_of`).
"""

from dataclasses import dataclass
from typing import Any

from protocol.lifecycle.contract_fold import ContractView
from protocol.lifecycle.view import plain

FOREVER = 2**53 - 1  # the largest timestamp: every auto-accept has fired


@dataclass(frozen=True)
class MilestoneFacts:
    key: str
    due: int
    accepted_at: int | None  # may be after `now` (an auto-accept still to come)
    delivered_at: int | None  # the accepted delivery's created_at
    ruled_at: int | None  # set when a ruling settled it before completion
    ruling_outcome: str | None


@dataclass(frozen=True)
class ReviewFacts:
    id: str
    author: str
    subject: str
    rating: int
    at: int


@dataclass(frozen=True)
class ContractSummary:
    id: str
    created_at: int
    category: str | None
    parties: tuple[tuple[str, str], ...]  # (did, role)
    price: dict
    counts: bool  # False for a withdrawn contract or a losing amendment: it takes no part
    in_force_at: int | None
    superseded_at: int | None
    completed_at: int | None  # may be after `now`
    milestones: tuple[MilestoneFacts, ...]
    reviews: tuple[ReviewFacts, ...]  # the counted ones

    def as_dict(self) -> dict[str, Any]:
        return plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ContractSummary":
        """Read back what `as_dict` wrote (a derived table's row)."""
        return cls(**{**data, "parties": tuple(tuple(p) for p in data["parties"]),
                      "milestones": tuple(MilestoneFacts(**m) for m in data["milestones"]),
                      "reviews": tuple(ReviewFacts(**r) for r in data["reviews"])})

    def in_force(self, now: int) -> bool:
        return (self.counts and self.in_force_at is not None and self.in_force_at <= now
                and (self.superseded_at is None or self.superseded_at > now))


def summarize(view: ContractView) -> ContractSummary:
    """The summary of a view folded at `FOREVER`."""
    return ContractSummary(
        id=view.id, created_at=view.created_at, category=view.category,
        parties=tuple((p.did, p.role) for p in view.parties), price=view.price,
        counts=view.status not in ("withdrawn", "lost"), in_force_at=view.in_force_at,
        superseded_at=view.superseded_at, completed_at=view.completed_at,
        milestones=tuple(MilestoneFacts(
            m.key, m.due, m.accepted_at,
            next((d.at for d in m.deliveries if d.id == m.accepted_delivery), None),
            m.settled_at if m.state == "ruled" else None, m.ruling_outcome) for m in view.milestones),
        reviews=tuple(ReviewFacts(r.id, r.author, r.subject, r.rating, r.at) for r in view.reviews if r.counts))

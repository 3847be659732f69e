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

    def as_row(self) -> list:
        """A compact positional form (fields in declaration order, nested facts as lists) for a derived table."""
        return [self.id, self.created_at, self.category, [list(p) for p in self.parties], self.price, self.counts,
                self.in_force_at, self.superseded_at, self.completed_at,
                [[m.key, m.due, m.accepted_at, m.delivered_at, m.ruled_at, m.ruling_outcome] for m in self.milestones],
                [[r.id, r.author, r.subject, r.rating, r.at] for r in self.reviews]]

    @classmethod
    def from_row(cls, row: list) -> "ContractSummary":
        """Read back what `as_row` wrote. Built without the frozen __init__ (one object.__setattr__ per field):
        a reputation read decodes a row per contract of the participant and its partners."""
        (id_, created_at, category, parties, price, counts, in_force_at, superseded_at, completed_at,
         milestones, reviews) = row
        return _frozen(cls, id=id_, created_at=created_at, category=category,
                       parties=tuple(tuple(p) for p in parties), price=price, counts=counts,
                       in_force_at=in_force_at, superseded_at=superseded_at, completed_at=completed_at,
                       milestones=tuple(_frozen(MilestoneFacts, key=m[0], due=m[1], accepted_at=m[2],
                                                delivered_at=m[3], ruled_at=m[4], ruling_outcome=m[5])
                                        for m in milestones),
                       reviews=tuple(_frozen(ReviewFacts, id=r[0], author=r[1], subject=r[2], rating=r[3], at=r[4])
                                     for r in reviews))

    def in_force(self, now: int) -> bool:
        return (self.counts and self.in_force_at is not None and self.in_force_at <= now
                and (self.superseded_at is None or self.superseded_at > now))


def _frozen(cls, **fields: Any) -> Any:
    # Equal to cls(**fields) for these plain frozen dataclasses (no __post_init__, no defaults computed).
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


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

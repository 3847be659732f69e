"""The contract fold: what a set of objects and a time say about one contract (spec section 13.3).

`contract_view(contract, objects, now)` is a pure function of the *set* of
objects and `now`: every node holding the same objects computes the same
view. Ties are broken by (created_at, id) ascending everywhere. Nothing here
refuses an object (that is `contracts.check_*`): an object that comes too
early, too late or second is kept and listed under `ignored` with why.

The steps, each a section of the spec:
1. signing (`contract_signing`): in force once every party has a counted
   sign; retracts of signs and of the contract count only before that;
   an amendment in force supersedes its predecessor, and signs at or after
   that instant no longer count.
2. the active window [in_force_at, superseded_at): only deliveries,
   acceptances, payments, disputes and rulings created in it count.
3. milestones (`contract_milestones.fold_milestones`): deliveries, decisions,
   auto-accept, payments, settlement by ruling.
4. completion and reviews.
"""

from dataclasses import dataclass
from typing import Iterable

from protocol.envelope import SignedObject
from protocol.lifecycle import refs
from protocol.lifecycle.contract_index import Index, index_objects
from protocol.lifecycle.contract_milestones import (
    DisputeView, Ignored, MilestoneView, fold_disputes, fold_milestones,
)
from protocol.lifecycle.contract_signing import Signing, amendments_of, contract_signing
from protocol.lifecycle.terms import AUTO_ACCEPT_DEFAULT, auto_accept, parties
from protocol.lifecycle.view import plain

__all__ = ["AUTO_ACCEPT_DEFAULT", "ContractView", "contract_view", "contract_views", "fold_contract"]


@dataclass(frozen=True)
class PartyView:
    did: str
    role: str
    sign: str | None  # the sign that counts, once the contract is in force (else the earliest live one)
    signed_at: int | None


@dataclass(frozen=True)
class ReviewView:
    id: str
    author: str
    subject: str
    rating: int
    at: int
    counts: bool
    reason: str | None  # why it does not count: not_completed, before_completion, second_review


@dataclass(frozen=True)
class Event:
    at: int
    kind: str
    id: str
    by: str | None


@dataclass(frozen=True)
class ContractView:
    id: str
    author: str
    created_at: int
    category: str | None
    parties: tuple[PartyView, ...]
    scope: tuple[str, ...]
    price: dict
    auto_accept: int
    supersedes: str | None
    status: str  # proposed, withdrawn, lost, in_force, completed, superseded
    in_force: bool  # at `now`: every party signed, not superseded, not a losing amendment
    in_force_at: int | None
    withdrawn_at: int | None
    superseded_at: int | None
    superseded_by: str | None
    lost_to: str | None  # the competing amendment of the same predecessor that came into force first
    amendments: tuple[str, ...]  # contracts naming this one in `supersedes`, in (created_at, id) order
    milestones: tuple[MilestoneView, ...]
    disputes: tuple[DisputeView, ...]
    reviews: tuple[ReviewView, ...]
    completed: bool
    completed_at: int | None
    closed_by_ruling: bool
    ignored: tuple[Ignored, ...]
    timeline: tuple[Event, ...]

    def milestone(self, key: str) -> MilestoneView | None:
        return next((m for m in self.milestones if m.key == key), None)

    def accepted_deliveries(self) -> dict[str, tuple[str, str]]:
        """milestone key -> (delivery id, artifact sha256) of each accepted milestone."""
        return {m.key: (m.accepted_delivery, m.sha256) for m in self.milestones if m.accepted_delivery}

    def as_dict(self) -> dict:
        return plain(self)


def contract_view(contract: SignedObject, objects: Iterable[SignedObject], now: int) -> ContractView:
    """The state of `contract` given `objects` (its signs, deliveries, ..., amendments, retracts) at `now`."""
    return fold_contract(contract, index_objects([contract, *_until(objects, now)]), now)


def contract_views(objects: Iterable[SignedObject], now: int) -> dict[str, ContractView]:
    """The view of every contract among `objects`, sharing one index."""
    index = index_objects(_until(objects, now))
    memo: dict[str, Signing] = {}
    return {c.id: fold_contract(c, index, now, memo) for c in index.contracts()}


def _until(objects: Iterable[SignedObject], now: int) -> list[SignedObject]:
    # An object dated after `now` has not happened yet at `now` (clock skew allows up to 600 s).
    return [obj for obj in objects if obj.created_at <= now]


def fold_contract(contract: SignedObject, index: Index, now: int, memo: dict[str, Signing] | None = None,
                  timeline: bool = True) -> ContractView:
    """`contract_view` over a prepared index; `memo` shares amendment signing across contracts."""
    signing = contract_signing(contract, index, {} if memo is None else memo)
    roles = parties(contract)
    ignored: list[Ignored] = []
    window = (signing.in_force_at, signing.superseded_at)
    disputes, ruled = fold_disputes(contract, roles, index, window, ignored)
    milestones = fold_milestones(contract, roles, index, now, window, ruled, ignored)
    settled = [m.settled_at for m in milestones]
    completed_at = max(settled) if all(t is not None for t in settled) else None
    if completed_at is not None:
        disputes = tuple(d if d.at < completed_at or d.status == "ruled" else d.after_completion()
                         for d in disputes)
    reviews = _reviews(contract, index, roles, completed_at)
    superseded = signing.superseded_at is not None and signing.superseded_at <= now
    in_force = (signing.in_force_at is not None and signing.in_force_at <= now and not superseded)
    status = ("withdrawn" if signing.withdrawn_at is not None else "lost" if signing.lost_to
              else "superseded" if superseded else "completed" if completed_at is not None
              else "in_force" if in_force else "proposed")
    view = ContractView(
        id=contract.id, author=contract.author, created_at=contract.created_at,
        category=contract.category or refs.root_category(contract, index.by_id),
        parties=tuple(PartyView(did, role, *signing.signs.get(did, (None, None))) for did, role in roles.items()),
        scope=tuple(contract.body["scope"]), price=dict(contract.body["price"]),
        auto_accept=auto_accept(contract), supersedes=contract.body.get("supersedes"),
        status=status, in_force=in_force, in_force_at=signing.in_force_at,
        withdrawn_at=signing.withdrawn_at, superseded_at=signing.superseded_at,
        superseded_by=signing.superseded_by, lost_to=signing.lost_to,
        amendments=tuple(a.id for a in amendments_of(contract, index)),
        milestones=milestones, disputes=disputes, reviews=reviews,
        completed=completed_at is not None, completed_at=completed_at,
        closed_by_ruling=any(m.state == "ruled" for m in milestones),
        ignored=tuple(sorted(ignored, key=lambda i: i.id)) if ignored else (), timeline=())
    if timeline:
        view = _with_timeline(view)
    return view


def _reviews(contract: SignedObject, index: Index, roles: dict[str, str],
             completed_at: int | None) -> tuple[ReviewView, ...]:
    views, seen = [], set()
    for review in index.named(contract.id, "review"):  # in (created_at, id) order
        body = review.body
        if review.author not in roles or body["subject"] not in roles or body["subject"] == review.author:
            continue  # refused at ingest (check_review); never part of the state
        reason = ("not_completed" if completed_at is None else "before_completion"
                  if review.created_at < completed_at else "second_review" if review.author in seen else None)
        if reason is None:
            seen.add(review.author)
        views.append(ReviewView(review.id, review.author, body["subject"], body["rating"], review.created_at,
                                reason is None, reason))
    return tuple(views)


def _with_timeline(view: ContractView) -> ContractView:
    events = [Event(view.created_at, "proposed", view.id, view.author)]
    events += [Event(p.signed_at, "signed", p.sign, p.did) for p in view.parties if p.sign is not None]
    for at, kind, by in ((view.in_force_at, "in_force", None), (view.withdrawn_at, "withdrawn", view.author),
                         (view.superseded_at, "superseded", None), (view.completed_at, "completed", None)):
        if at is not None:
            events.append(Event(at, kind, view.superseded_by if kind == "superseded" else view.id, by))
    for m in view.milestones:
        for d in m.deliveries:
            events.append(Event(d.at, "delivered", d.id, d.author))
            if d.decided_at is not None and d.status in ("accepted", "rejected", "auto_accepted"):
                events.append(Event(d.decided_at, d.status, d.decision or d.id, None))
        for p in m.payments:
            events.append(Event(p.at, "payment_sent", p.id, p.author))
            if p.confirmed_by is not None:
                events.append(Event(p.confirmed_at, "payment_confirmed", p.confirmed_by, None))
        if m.overdue:
            events.append(Event(m.due, "overdue", m.key, None))
    for d in view.disputes:
        events.append(Event(d.at, "disputed", d.id, d.author))
        if d.ruling is not None:
            events.append(Event(d.ruling.at, "ruled", d.ruling.id, None))
    events += [Event(r.at, "reviewed", r.id, r.author) for r in view.reviews if r.counts]
    events.sort(key=lambda e: (e.at, e.id, e.kind))
    return ContractView(**{**view.__dict__, "timeline": tuple(events)})

"""Milestones, deliveries, decisions, auto-accept, payments, disputes and rulings (spec sections 13.3.4, 13.3.5).

Everything here happens inside the contract's active window
[in_force_at, superseded_at): an object created outside it is listed as
ignored. An object naming another (an acceptance its delivery, a
confirmation its payment, a ruling its dispute) counts from
max(its created_at, the named object's created_at).

Each delivery is judged on its own: its decision is the earliest acceptance
counted before `delivered + auto_accept`; with none, it is accepted
automatically at that instant once `now` reaches it. A milestone is accepted
at the earliest acceptance time of its deliveries (tie: the earlier
delivery, then the lower id); deliveries after that are ignored. It is paid
at its earliest confirmed payment, complete at max(accepted, paid), and
settled at the earlier of that and the first ruling on a dispute about it
or about the whole contract.
"""

from dataclasses import dataclass, replace

from protocol import money
from protocol.envelope import SignedObject
from protocol.lifecycle.contract_index import Index
from protocol.lifecycle.terms import CLIENT_ROLES, SUPPLIER_ROLES, auto_accept, milestone, same_money


@dataclass(frozen=True)
class Ignored:
    id: str
    type: str
    reason: str  # not_in_force, before_in_force, after_superseded, already_decided, after_auto_accept, ...


@dataclass(frozen=True)
class DeliveryAttempt:
    id: str
    author: str
    at: int
    sha256: str
    location: str
    manifest: str | None
    status: str  # pending, accepted, rejected, auto_accepted, after_acceptance, after_ruling
    decided_at: int | None  # when accepted, rejected or auto-accepted
    decision: str | None  # the acceptance object's id (None when auto-accepted or pending)
    reason: str | None  # the rejection's reason


@dataclass(frozen=True)
class PaymentRecord:
    id: str
    author: str
    at: int
    amount: dict
    reference: str | None
    confirmed_by: str | None  # the earliest counted confirmation
    confirmed_at: int | None


@dataclass(frozen=True)
class MilestoneView:
    key: str
    title: str
    amount: dict
    due: int
    state: str  # open, delivered, rejected, accepted, completed, ruled
    deliveries: tuple[DeliveryAttempt, ...]
    accepted_delivery: str | None
    accepted_at: int | None
    sha256: str | None  # the accepted delivery's artifact digest
    manifest: str | None  # the accepted delivery's manifest, if it names one
    on_time: bool | None  # the accepted delivery was made at or before `due`
    overdue: bool  # due has passed at `now`, not accepted nor ruled, contract in force
    payments: tuple[PaymentRecord, ...]
    paid_at: int | None
    ruling: str | None  # the ruling that settled it, when that came before completion
    ruling_outcome: str | None
    settled_at: int | None  # completed (accepted and paid) or ruled, whichever came first


@dataclass(frozen=True)
class RulingRecord:
    id: str
    at: int
    outcome: str
    award: dict | None


@dataclass(frozen=True)
class DisputeView:
    id: str
    author: str
    at: int
    milestone: str | None  # None: the whole contract
    reason: str
    status: str  # open, ruled, after_completion
    ruling: RulingRecord | None

    def after_completion(self) -> "DisputeView":
        return replace(self, status="after_completion")


def by_effect(objects: tuple[SignedObject, ...], named: SignedObject) -> tuple[SignedObject, ...]:
    """`objects` naming `named` in (effect time, id) order; the index already gives (created_at, id) order,
    which is the same unless one claims a time before the object it names."""
    if len(objects) < 2 or objects[0].created_at >= named.created_at:
        return objects
    return tuple(sorted(objects, key=lambda o: (max(o.created_at, named.created_at), o.id)))


def in_window(obj_at: int, window: tuple[int | None, int | None]) -> str | None:
    """Why an object created at `obj_at` does not count, or None if it is inside the active window."""
    start, end = window
    if start is None:
        return "not_in_force"
    if obj_at < start:
        return "before_in_force"
    if end is not None and obj_at >= end:
        return "after_superseded"
    return None


def fold_disputes(contract: SignedObject, roles: dict[str, str], index: Index,
                  window: tuple[int | None, int | None], ignored: list[Ignored]) -> tuple[tuple[DisputeView, ...], dict[str | None, tuple[int, str, str]]]:
    """Disputes with their first ruling; and per milestone key (None: whole contract) the first ruling."""
    resolver = contract.body["dispute_resolver"]
    keys = [m["key"] for m in contract.body["milestones"]]
    views, ruled = [], {}
    for dispute in index.named(contract.id, "dispute"):
        if dispute.author not in roles or dispute.body["resolver"] != resolver or (
                dispute.body.get("milestone", keys[0]) not in keys):
            continue  # refused at ingest (check_dispute)
        why = in_window(dispute.created_at, window)
        if why is not None:
            ignored.append(Ignored(dispute.id, "dispute", why))
            continue
        ruling = None
        for candidate in by_effect(index.named(dispute.id, "ruling"), dispute):
            at = max(candidate.created_at, dispute.created_at)
            why = "already_ruled" if ruling is not None else in_window(at, window)
            if candidate.author != resolver or candidate.body["contract"] != contract.id or not _award_fits(
                    candidate, dispute, contract):
                continue  # refused at ingest (check_ruling)
            if why is not None:
                ignored.append(Ignored(candidate.id, "ruling", why))
                continue
            ruling = RulingRecord(candidate.id, at, candidate.body["outcome"], candidate.body.get("award"))
        key = dispute.body.get("milestone")
        if ruling is not None and (key not in ruled or (ruling.at, ruling.id) < ruled[key][:2]):
            ruled[key] = (ruling.at, ruling.id, ruling.outcome)
        views.append(DisputeView(dispute.id, dispute.author, dispute.created_at, key, dispute.body["reason"],
                                 "open" if ruling is None else "ruled", ruling))
    return tuple(views), ruled


def fold_milestones(contract: SignedObject, roles: dict[str, str], index: Index, now: int,
                    window: tuple[int | None, int | None], ruled: dict[str | None, tuple[int, str, str]],
                    ignored: list[Ignored]) -> tuple[MilestoneView, ...]:
    keys = {m["key"] for m in contract.body["milestones"]}
    deliveries: dict[str, list[SignedObject]] = {key: [] for key in keys}
    for delivery in index.named(contract.id, "delivery"):
        if roles.get(delivery.author) not in SUPPLIER_ROLES or delivery.body["milestone"] not in keys:
            continue  # refused at ingest (check_delivery)
        why = in_window(delivery.created_at, window)
        if why is not None:
            ignored.append(Ignored(delivery.id, "delivery", why))
        else:
            deliveries[delivery.body["milestone"]].append(delivery)
    payments = _payments(contract, index, roles, keys, window, ignored)
    wait = auto_accept(contract)
    in_force = window[0] is not None and window[0] <= now and (window[1] is None or window[1] > now)
    views = []
    for item in contract.body["milestones"]:
        key = item["key"]
        attempts = [_attempt(d, index, roles, wait, now, window, ignored) for d in deliveries[key]]
        rulings = [r for r in (ruled.get(key), ruled.get(None)) if r is not None]
        ruling = min(rulings) if rulings else None
        views.append(_milestone(item, attempts, payments.get(key, ()), ruling, now, in_force))
    return tuple(views)


def _attempt(delivery: SignedObject, index: Index, roles: dict[str, str], wait: int, now: int,
             window: tuple[int | None, int | None], ignored: list[Ignored]) -> DeliveryAttempt:
    deadline = delivery.created_at + wait
    decision = None
    for acceptance in by_effect(index.named(delivery.id, "acceptance"), delivery):
        if roles.get(acceptance.author) not in CLIENT_ROLES:
            continue  # refused at ingest (check_acceptance)
        at = max(acceptance.created_at, delivery.created_at)
        why = ("already_decided" if decision is not None else "after_auto_accept" if at >= deadline
               else in_window(at, window))
        if why is not None:
            ignored.append(Ignored(acceptance.id, "acceptance", why))
        else:
            decision = (acceptance, at)
    artifact = delivery.body["artifact"]
    status, decided_at, decision_id, reason = "pending", None, None, None
    if decision is not None:
        acceptance, decided_at = decision
        decision_id, reason = acceptance.id, acceptance.body.get("reason")
        status = "accepted" if acceptance.body["decision"] == "accept" else "rejected"
    elif deadline <= now and in_window(deadline, window) is None:
        status, decided_at = "auto_accepted", deadline
    return DeliveryAttempt(delivery.id, delivery.author, delivery.created_at, artifact["sha256"],
                           artifact["location"], delivery.body.get("manifest"), status, decided_at,
                           decision_id, reason)


def _milestone(item: dict, attempts: list[DeliveryAttempt], payments: tuple[PaymentRecord, ...],
               ruling: tuple[int, str, str] | None, now: int, in_force: bool) -> MilestoneView:
    accepted = min(((a.decided_at, a.at, a.id, a) for a in attempts if a.status in ("accepted", "auto_accepted")),
                   default=None, key=lambda t: t[:3])
    confirmed = [p.confirmed_at for p in payments if p.confirmed_at is not None]
    paid_at = min(confirmed) if confirmed else None
    completed_at = max(accepted[0], paid_at) if accepted is not None and paid_at is not None else None
    ruled = ruling is not None and (completed_at is None or ruling[0] < completed_at)
    if ruled and accepted is not None and ruling[0] < accepted[0]:
        accepted = None  # the ruling settled the milestone first; a later acceptance changes nothing
    accepted_at = accepted[0] if accepted is not None else None
    cutoffs = ([(accepted_at, "after_acceptance")] if accepted is not None else []) + (
        [(ruling[0], "after_ruling")] if ruled else [])
    if cutoffs:
        cut, label = min(cutoffs)
        attempts = [a if a.at <= cut else replace(a, status=label) for a in attempts]
    chosen = accepted[3] if accepted else None
    if ruled:
        state = "ruled"
    elif completed_at is not None:
        state = "completed"
    elif accepted_at is not None:
        state = "accepted"
    elif any(a.status == "pending" for a in attempts):
        state = "delivered"
    elif any(a.status == "rejected" for a in attempts):
        state = "rejected"
    else:
        state = "open"
    return MilestoneView(
        key=item["key"], title=item["title"], amount=dict(item["amount"]), due=item["due"], state=state,
        deliveries=tuple(attempts), accepted_delivery=chosen.id if chosen else None, accepted_at=accepted_at,
        sha256=chosen.sha256 if chosen else None, manifest=chosen.manifest if chosen else None,
        on_time=(chosen.at <= item["due"]) if chosen else None,
        overdue=in_force and state in ("open", "delivered", "rejected") and item["due"] < now,
        payments=payments, paid_at=paid_at, ruling=ruling[1] if ruled else None,
        ruling_outcome=ruling[2] if ruled else None,
        settled_at=ruling[0] if ruled else completed_at)


def _payments(contract: SignedObject, index: Index, roles: dict[str, str], keys: set[str],
              window: tuple[int | None, int | None], ignored: list[Ignored]) -> dict[str, tuple[PaymentRecord, ...]]:
    found: dict[str, list[PaymentRecord]] = {}
    for payment in index.named(contract.id, "payment"):
        body = payment.body
        if body["kind"] != "sent" or roles.get(payment.author) not in CLIENT_ROLES or body["milestone"] not in keys \
                or not same_money(body["amount"], milestone(contract, body["milestone"])["amount"]):
            continue  # confirmations are read through the payment they confirm; the rest is refused at ingest
        why = in_window(payment.created_at, window)
        if why is not None:
            ignored.append(Ignored(payment.id, "payment", why))
            continue
        confirmation = None
        for candidate in by_effect(index.named(payment.id, "confirms"), payment):
            if roles.get(candidate.author) not in SUPPLIER_ROLES or candidate.body["contract"] != contract.id or (
                    candidate.body["milestone"] != body["milestone"] or not same_money(candidate.body["amount"],
                                                                                     body["amount"])):
                continue  # refused at ingest (check_payment)
            at = max(candidate.created_at, payment.created_at)
            why = "already_confirmed" if confirmation is not None else in_window(at, window)
            if why is not None:
                ignored.append(Ignored(candidate.id, "payment", why))
            else:
                confirmation = (candidate.id, at)
        found.setdefault(body["milestone"], []).append(PaymentRecord(
            payment.id, payment.author, payment.created_at, dict(body["amount"]), body.get("reference"),
            *(confirmation or (None, None))))
    return {key: tuple(items) for key, items in found.items()}


def _award_fits(ruling: SignedObject, dispute: SignedObject, contract: SignedObject) -> bool:
    award = ruling.body.get("award")
    if award is None:
        return True
    key = dispute.body.get("milestone")
    covered = contract.body["price"] if key is None else milestone(contract, key)["amount"]
    return award["currency"] == covered["currency"] and money.in_minor_units(award) <= money.in_minor_units(covered)

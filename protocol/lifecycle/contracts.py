"""Static refusals of proposals, contracts and what follows them (spec section 13.3.1).

`check.check` calls `check_<type>(obj, held)` once every reference of `obj`
is held and the shared reference rules passed (each reference names an
object of an allowed type, everything under one root listing). Only what
stays invalid whatever else arrives later is refused here: who may sign,
deliver, accept, pay, confirm, dispute, rule or review, and whether the
milestone and amount named exist. When and in which order things happened
is the fold's business (`contract_fold.contract_view`), never a refusal.

Each checker raises the first failure in this order, so every node reports
the same code for the same object: `wrong_reference`, `not_authorized`,
`unknown_milestone`, `currency_mismatch`, `amount_mismatch`.

API (spec sections 13.3 and 13.4)::

    check_proposal / check_contract / check_sign / check_delivery / check_acceptance /
    check_payment / check_dispute / check_ruling / check_review   (obj, held) -> None
    contract_view(contract, objects, now) -> ContractView      (.as_dict(): section 13.3.6)
    contract_views(objects, now) -> {contract id: ContractView}
    project_contract_work(objects, now) -> {contract id: projects.ContractWork}
    reputation.reputation(did, objects, now, category=None) -> Reputation   (section 13.4)
    reputation.contract_summaries(objects, now) -> {id: ContractSummary}   (a derived-table row each)
    reputation.reputation_of(did, summaries, now, category=None) -> Reputation

`objects` may mix any types; pass the contract's root listing (for the
inherited category), its signs, deliveries, ..., its amendments and their
signs, the retracts of all of these and, to honour key rotation, the
`key_rotation`s of their authors.
"""

from typing import Any, Mapping

from protocol import money
from protocol.envelope import SignedObject
from protocol.errors import AmountMismatch, CurrencyMismatch, NotAuthorized, UnknownMilestone, WrongReference
from protocol.lifecycle.contract_fold import (  # noqa: F401  (re-exported: the fold's public names)
    AUTO_ACCEPT_DEFAULT, ContractView, contract_view, contract_views,
)
from protocol.lifecycle.terms import CLIENT_ROLES, SUPPLIER_ROLES, milestone, parties

Held = Mapping[str, SignedObject]


def check_proposal(proposal: SignedObject, held: Held) -> None:
    """A proposal bids on someone else's project, task or offer."""
    target = held[proposal.body["target"]]
    if target.author == proposal.author:
        raise NotAuthorized(f"body.target: {target.id} is the author's own {target.type}; a proposal bids "
                            "on someone else's listing")


def check_contract(contract: SignedObject, held: Held) -> None:
    """The author is a party, and of the contract it amends too."""
    if contract.author not in parties(contract):
        raise NotAuthorized(f"the author {contract.author} is not among the contract's parties")
    superseded_id = contract.body.get("supersedes")
    if superseded_id is not None:
        superseded = _of_type(held, superseded_id, "contract", "body.supersedes")
        if contract.author not in parties(superseded):
            raise NotAuthorized(f"body.supersedes: the author {contract.author} is not a party of "
                                f"{superseded_id}, so cannot amend it")


def check_sign(sign: SignedObject, held: Held) -> None:
    """Only a party signs."""
    contract = _contract_of(sign, held)
    _require_party(sign, contract, None, "sign")


def check_delivery(delivery: SignedObject, held: Held) -> None:
    """Only a supplier delivers, and only a milestone the contract has."""
    contract = _contract_of(delivery, held)
    _require_party(delivery, contract, SUPPLIER_ROLES, "deliver")
    _require_milestone(contract, delivery.body["milestone"])


def check_acceptance(acceptance: SignedObject, held: Held) -> None:
    """Only a client (or the coordinator) of the delivery's contract accepts or rejects it."""
    delivery = _of_type(held, acceptance.body["delivery"], "delivery", "body.delivery")
    contract = _of_type(held, delivery.body["contract"], "contract", "body.delivery")
    _require_party(acceptance, contract, CLIENT_ROLES, "accept or reject a delivery")


def check_payment(payment: SignedObject, held: Held) -> None:
    """A client records a payment of what a milestone is due; a supplier confirms a sent one."""
    contract = _contract_of(payment, held)
    body = payment.body
    confirmed = body["kind"] == "confirmed"
    if confirmed:
        sent = _of_type(held, body["confirms"], "payment", "body.confirms")
        if sent.body.get("kind") != "sent":
            raise WrongReference(f"body.confirms: {sent.id} is a confirmation, not a sent payment")
        if sent.body["contract"] != contract.id or sent.body["milestone"] != body["milestone"]:
            raise WrongReference(f"body.confirms: {sent.id} pays milestone {sent.body['milestone']!r} of "
                                 f"{sent.body['contract']}, not {body['milestone']!r} of {contract.id}")
    _require_party(payment, contract, SUPPLIER_ROLES if confirmed else CLIENT_ROLES,
                   "confirm a payment" if confirmed else "record a payment")
    due = _require_milestone(contract, body["milestone"])["amount"]
    _require_amount(body["amount"], due, "body.amount", exact=True)


def check_dispute(dispute: SignedObject, held: Held) -> None:
    """A party opens a dispute before the contract's own resolver, about the contract or one milestone."""
    contract = _contract_of(dispute, held)
    resolver = contract.body["dispute_resolver"]
    if dispute.body["resolver"] != resolver:
        raise WrongReference(f"body.resolver: the contract's dispute resolver is {resolver}, "
                             f"not {dispute.body['resolver']}")
    _require_party(dispute, contract, None, "open a dispute")
    if "milestone" in dispute.body:
        _require_milestone(contract, dispute.body["milestone"])


def check_ruling(ruling: SignedObject, held: Held) -> None:
    """Only the contract's resolver rules, and a split awards at most what the dispute covers."""
    dispute = _of_type(held, ruling.body["dispute"], "dispute", "body.dispute")
    if dispute.body["contract"] != ruling.body["contract"]:
        raise WrongReference(f"body.contract: the dispute {dispute.id} is about {dispute.body['contract']}, "
                             f"not {ruling.body['contract']}")
    contract = _of_type(held, dispute.body["contract"], "contract", "body.contract")
    resolver = contract.body["dispute_resolver"]
    if ruling.author != resolver:
        raise NotAuthorized(f"only the contract's dispute resolver {resolver} may rule on {dispute.id}")
    if "award" in ruling.body:
        key = dispute.body.get("milestone")
        covered = _require_milestone(contract, key)["amount"] if key is not None else contract.body["price"]
        _require_amount(ruling.body["award"], covered, "body.award", exact=False)


def check_review(review: SignedObject, held: Held) -> None:
    """A party reviews another party of the same contract."""
    contract = _contract_of(review, held)
    _require_party(review, contract, None, "review")
    subject = review.body["subject"]
    if subject == review.author or subject not in parties(contract):
        raise NotAuthorized(f"body.subject: {subject} is not another party of {contract.id}")


# --- helpers ----------------------------------------------------------------

def _of_type(held: Held, obj_id: str, type_: str, path: str) -> SignedObject:
    found = held[obj_id]
    if found.type != type_:
        raise WrongReference(f"{path}: {obj_id} is a {found.type}, not a {type_}")
    return found


def _contract_of(obj: SignedObject, held: Held) -> SignedObject:
    return _of_type(held, obj.body["contract"], "contract", "body.contract")


def _require_party(obj: SignedObject, contract: SignedObject, roles: frozenset[str] | None, act: str) -> None:
    role = parties(contract).get(obj.author)
    if role is None:
        raise NotAuthorized(f"{obj.author} is not a party of contract {contract.id}, so may not {act}")
    if roles is not None and role not in roles:
        raise NotAuthorized(f"{obj.author} is the {role} of contract {contract.id}; only a "
                            f"{' or '.join(sorted(roles))} may {act}")


def _require_milestone(contract: SignedObject, key: str) -> Mapping[str, Any]:
    found = milestone(contract, key)
    if found is None:
        keys = ", ".join(m["key"] for m in contract.body["milestones"])
        raise UnknownMilestone(f"body.milestone: contract {contract.id} has no milestone {key!r} (it has {keys})")
    return found


def _require_amount(amount: Mapping[str, str], due: Mapping[str, str], path: str, exact: bool) -> None:
    if amount["currency"] != due["currency"]:
        raise CurrencyMismatch(f"{path}: {amount['currency']} is not the contract's currency {due['currency']}")
    given, limit = money.in_minor_units(dict(amount)), money.in_minor_units(dict(due))
    if given != limit if exact else given > limit:
        relation = "equal" if exact else "be at most"
        raise AmountMismatch(f"{path}: {amount['amount']} {amount['currency']} must {relation} "
                             f"{due['amount']} {due['currency']}")


def project_contract_work(objects: list[SignedObject], now: int) -> dict:
    """What the project fold needs of every contract among `objects` (`projects.ContractWork`).

    Tasks, claims, approvals and reopens never change a contract's signing or milestones (only its
    inherited category, which ContractWork does not carry), so they stay out of the index, and the
    timeline is not built: on a project of 10,000 objects this halves the cost (bench/lifecycle_bench.py).
    """
    from protocol.lifecycle.contract_fold import fold_contract
    from protocol.lifecycle.contract_index import index_objects
    from protocol.lifecycle.projects import ContractWork, MilestoneWork

    index = index_objects(o for o in objects if o.created_at <= now and o.type not in _PROJECT_TYPES)
    memo: dict = {}
    work = {}
    for contract in index.contracts():
        view = fold_contract(contract, index, now, memo, timeline=False)
        milestones = tuple(MilestoneWork(
            key=m.key, due=m.due,
            delivered=any(d.status in ("pending", "accepted", "auto_accepted") for d in m.deliveries),
            accepted_at=m.accepted_at, delivery=m.accepted_delivery, sha256=m.sha256,
            ruled_at=m.settled_at if m.state == "ruled" else None) for m in view.milestones)
        work[contract.id] = ContractWork(contract.id, view.created_at, view.scope,
                                         view.in_force_at if view.in_force else None, milestones)
    return work


_PROJECT_TYPES = frozenset({"task", "claim", "approval", "reopen"})

"""The service layer's reads: views of projects, contracts and reputation, what waits for someone,
and where published objects went. Plain functions of a database snapshot (run with `store.read`).

Views come from the folds in protocol.lifecycle over the set storage.lifecycle
gives for a root listing, so the HTTP API, the CLI and the web UI show the
same state, and every node holding the same objects shows the same figures.
"""

from typing import Any

from sqlite_utils import Database

from kinode.errors import KinodeError
from protocol.envelope import SignedObject
from protocol.lifecycle import contract_fold, projects
from storage import deliveries as delivery_log
from storage import contract_summaries, lifecycle, pending
from storage.derived import select_in, signed_from_wire


class NotHeld(KinodeError):
    code, status = "not_found", 404


def held_or_pending(db: Database, ids: list[str]) -> set[str]:
    held = {r[0] for r in select_in(db.conn, "SELECT id FROM objects WHERE id IN ({})", ids)}
    return held | pending.pending_ids(db, ids)


def visible(db: Database, object_id: str) -> SignedObject | None:
    row = db.execute("SELECT wire FROM objects WHERE id = ? AND hidden_by IS NULL", [object_id]).fetchone()
    return signed_from_wire(row[0]) if row else None


def _of_type(db: Database, object_id: str, type_: str) -> SignedObject:
    obj = visible(db, object_id)
    if obj is None or obj.type != type_:
        raise NotHeld(f"no {type_} {object_id} is held here")
    return obj


def project_view(db: Database, project_id: str, now: int) -> dict[str, Any]:
    project = _of_type(db, project_id, "project")
    objects = lifecycle.objects_of_root(db, project.id, include_hidden=True)
    return projects.project_view(project, objects, now).as_dict()


def contract_view(db: Database, contract_id: str, now: int) -> dict[str, Any]:
    contract = _of_type(db, contract_id, "contract")
    return contract_fold.contract_view(contract, lifecycle.object_set(db, contract.id, include_hidden=True),
                                       now).as_dict()


def reputation(db: Database, did: str, now: int, category: str | None = None) -> dict[str, Any]:
    """From the contract summaries table: `did`'s contracts and, for the pair rule, those of its partners.

    Equal to protocol.lifecycle.reputation.reputation over the object sets of those contracts' roots
    (tests/storage/test_contract_summaries.py): the pair rule reads only the partners' own contracts.
    """
    from protocol.lifecycle.reputation import reputation_of

    found = contract_summaries.summaries(db, lifecycle.contracts_of_partners(db, did), now)
    return reputation_of(did, found, now, category=category).as_dict()


def contracts_of(db: Database, did: str) -> list[str]:
    """Ids of the visible contracts naming `did` as a party, oldest first."""
    return lifecycle.contracts_of(db, did)


def counterparties(db: Database, contract_ids: list[str]) -> list[str]:
    """Every party of these contracts (held ones), sorted."""
    return sorted({did for c in contract_ids for did, _ in lifecycle.parties_of(db, c)})


def needs(db: Database, me: str, now: int) -> list[dict[str, Any]]:
    """What waits for `me`, oldest first: each {"action", "contract", "object", "why"}."""
    contract_ids = lifecycle.contracts_of(db, me) + [
        r[0] for r in db.execute("SELECT id FROM objects WHERE type = 'contract' AND hidden_by IS NULL "
                                 "AND json_extract(wire, '$.body.dispute_resolver') = ?", [me])]
    waiting: list[dict[str, Any]] = []
    for contract_id in dict.fromkeys(contract_ids):
        contract = visible(db, contract_id)
        if contract is None:
            continue
        view = contract_fold.contract_view(contract, lifecycle.object_set(db, contract.id, include_hidden=True), now)
        role = next((p.role for p in view.parties if p.did == me), None)
        waiting += _needs_of(view, me, role)
    return waiting


def _needs_of(view, me: str, role: str | None) -> list[dict[str, Any]]:
    found = []

    def add(action: str, object_id: str, why: str) -> None:
        found.append({"action": action, "contract": view.id, "object": object_id, "why": why})

    if view.status == "proposed" and role is not None:
        if any(p.did == me and p.sign is None for p in view.parties):
            add("sign", view.id, "a contract naming you waits for your sign")
    if not view.in_force:
        return found
    for milestone in view.milestones:
        for attempt in milestone.deliveries:
            if attempt.status == "pending" and role in ("client", "coordinator"):
                add("accept_or_reject", attempt.id, f"the delivery of {milestone.title!r} ({milestone.key}) waits for your decision")
            if attempt.status == "rejected" and role == "supplier" and milestone.state == "rejected":
                add("deliver", view.id, f"milestone {milestone.key} was rejected: {attempt.reason}")
        for payment in milestone.payments:
            if payment.confirmed_by is None and role == "supplier":
                add("confirm", payment.id, f"payment for milestone {milestone.key} waits for your confirmation")
        if milestone.state in ("accepted",) and not milestone.payments and role in ("client", "coordinator"):
            add("pay", view.id, f"milestone {milestone.key} is accepted and unpaid")
        if milestone.state == "open" and role == "supplier":
            add("deliver", view.id, f"milestone {milestone.key} is due at {milestone.due}")
    for dispute in view.disputes:
        if dispute.status == "open" and role is None:
            add("rule", dispute.id, f"a dispute on contract {view.id} waits for your ruling")
    return found


def deliveries(db: Database, object_ids: list[str] | None, limit: int = 100) -> list[dict[str, Any]]:
    """Per routed object: delivered to N of M, and where and why not (storage.deliveries.summary)."""
    return delivery_log.summary(db, object_ids, limit)

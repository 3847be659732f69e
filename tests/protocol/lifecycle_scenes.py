"""Signed project objects from fixed seeds, for the projects tests (and nothing else)."""

from protocol.envelope import SignedObject, sign
from protocol.identity import Identity

T0 = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400
ALICE, BOB, CAROL, DAVE = (Identity(bytes([n]) * 32) for n in (1, 2, 3, 5))  # alice coordinates, carol resolves


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def project(at: int = T0, budget: str = "1000", deadline: int = T0 + 60 * DAY, **extra) -> SignedObject:
    return sign(ALICE, "project", {"category": "web-design", "title": "Shop relaunch", "description": "New shop.",
                                   "budget": eur(budget), "deadline": deadline, "coordinator": ALICE.did, **extra}, at)


def task(of: SignedObject, title: str, deps: tuple[SignedObject, ...] = (), budget: str = "100",
         deadline: int = T0 + 30 * DAY, lease: int = 2 * DAY, at: int = T0 + 1, by: Identity = ALICE,
         **extra) -> SignedObject:
    return sign(by, "task", {"project": of.id, "category": "web-design", "title": title, "description": "Do it.",
                             "budget": eur(budget), "deadline": deadline, "depends_on": [d.id for d in deps],
                             "claim_lease": lease, **extra}, at)


def claim(of: SignedObject, by: Identity, at: int, project_id: str | None = None) -> SignedObject:
    return sign(by, "claim", {"task": of.id, "project": project_id or of.body["project"]}, at)


def approval(of: SignedObject, at: int, by: Identity = ALICE) -> SignedObject:
    return sign(by, "approval", {"claim": of.id}, at)


def reopen(of: SignedObject, at: int, deadline: int, by: Identity = ALICE, project_id: str | None = None) -> SignedObject:
    return sign(by, "reopen", {"task": of.id, "project": project_id or of.body["project"], "deadline": deadline,
                               "reason": "Lapsed without delivery."}, at)


def retract(target: SignedObject, by: Identity, at: int) -> SignedObject:
    return sign(by, "retract", {"target": target.id}, at)


def contract(of: SignedObject, supplier: Identity, at: int, due: int | None = None) -> SignedObject:
    due = due or of.body["deadline"]
    return sign(ALICE, "contract", {
        "parties": [{"did": ALICE.did, "role": "client"}, {"did": supplier.did, "role": "supplier"}],
        "scope": [of.id], "terms": "Do the task as described.", "price": of.body["budget"],
        "milestones": [{"key": "all", "title": "All of it", "amount": of.body["budget"], "due": due}],
        "deadline": due, "dispute_resolver": CAROL.did}, at)


def signed_contract(of: SignedObject, supplier: Identity, at: int) -> list[SignedObject]:
    """A contract for task `of` with both parties' signs, in force at `at` + 2."""
    made = contract(of, supplier, at)
    return [made, sign(ALICE, "sign", {"contract": made.id}, at + 1), sign(supplier, "sign", {"contract": made.id}, at + 2)]


def delivery(of: SignedObject, supplier: Identity, at: int, digest: str) -> SignedObject:
    return sign(supplier, "delivery", {"contract": of.id, "milestone": "all",
                                       "artifact": {"sha256": digest, "location": "https://files.example.net/x"}}, at)


def acceptance(of: SignedObject, at: int, decision: str = "accept") -> SignedObject:
    body = {"delivery": of.id, "decision": decision}
    if decision == "reject":
        body["reason"] = "Not yet."
    return sign(ALICE, "acceptance", body, at)

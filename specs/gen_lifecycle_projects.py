"""Generate specs/vectors/lifecycle_projects.json: the project fold (section 13.2) as data.

Each case: a project, a set of objects signed from fixed seeds, a time `now`
-> the project view (`view`, the JSON of section 13.2.3) and the static
refusals (`refusals`: the code each refused object gets once its context is
held, judged against the case's other objects). The objects are listed in a
scrambled order on purpose: the view must not depend on it.

    python specs/generate_vectors.py   (writes every vector file)
"""

import hashlib
from typing import Any

from protocol.envelope import SignedObject, sign
from protocol.errors import ProtocolError
from protocol.identity import Identity
from protocol.lifecycle import check
from protocol.lifecycle.projects import project_view

T0 = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400
SEEDS = {"alice": 1, "bob": 2, "carol": 3, "dave": 5}  # alice coordinates; carol resolves disputes
ALICE, BOB, CAROL, DAVE = (Identity(bytes([n]) * 32) for n in SEEDS.values())


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def project(budget: str = "1000", **extra: Any) -> SignedObject:
    return sign(ALICE, "project", {"category": "web-design", "title": "Shop relaunch", "description": "A new shop.",
                                   "budget": eur(budget), "deadline": T0 + 60 * DAY, "coordinator": ALICE.did,
                                   **extra}, T0)


def task(of: SignedObject, title: str, deps: tuple[SignedObject, ...] = (), budget: str = "100",
         deadline: int = 30, at: int = 1, by: Identity = ALICE, **extra: Any) -> SignedObject:
    return sign(by, "task", {"project": of.id, "category": "web-design", "title": title, "description": "Do it.",
                             "budget": eur(budget), "deadline": T0 + deadline * DAY,
                             "depends_on": [d.id for d in deps], "claim_lease": 2 * DAY, **extra}, T0 + at)


def claim(of: SignedObject, by: Identity, at: int) -> SignedObject:
    return sign(by, "claim", {"task": of.id, "project": of.body["project"]}, T0 + at)


def contract_chain(of: SignedObject, supplier: Identity, at: int, digest: str, accept_after: int) -> list[SignedObject]:
    """Contract for one task, both signs, a delivery and its acceptance."""
    made = sign(ALICE, "contract", {
        "parties": [{"did": ALICE.did, "role": "client"}, {"did": supplier.did, "role": "supplier"}],
        "scope": [of.id], "terms": "Do the task as described.", "price": of.body["budget"],
        "milestones": [{"key": "all", "title": "All of it", "amount": of.body["budget"], "due": of.body["deadline"]}],
        "deadline": of.body["deadline"], "dispute_resolver": CAROL.did}, T0 + at)
    signs = [sign(ALICE, "sign", {"contract": made.id}, T0 + at + 1), sign(supplier, "sign", {"contract": made.id}, T0 + at + 2)]
    handed = sign(supplier, "delivery", {"contract": made.id, "milestone": "all", "artifact": {
        "sha256": digest, "location": "https://files.example.net/" + digest[:8]}}, T0 + at + 100)
    return [made, *signs, handed, sign(ALICE, "acceptance", {"delivery": handed.id, "decision": "accept"},
                                       T0 + at + 100 + accept_after)]


def _standby() -> tuple[str, SignedObject, list[SignedObject], int]:
    p = project()
    a = task(p, "Landing page")
    return ("a lapsed lease: the standby takes over at the lapse, a second claim by a live claimant is ignored",
            p, [a, claim(a, BOB, 100), claim(a, DAVE, 200), claim(a, DAVE, 300), claim(a, CAROL, 400)],
            T0 + 100 + 2 * DAY + 50)


def _approval() -> tuple[str, SignedObject, list[SignedObject], int]:
    p = project(claims_per_task=2, claim_approval=True)
    a = task(p, "Copy")
    bob, dave, carol = claim(a, BOB, 10), claim(a, DAVE, 20), claim(a, CAROL, 30)
    approvals = [sign(ALICE, "approval", {"claim": c.id}, T0 + at) for c, at in ((carol, 40), (bob, 50))]
    fake = sign(BOB, "approval", {"claim": dave.id}, T0 + 60)  # not the coordinator's: refused, no effect
    return ("claim approval and two places: approved claims hold in approval order", p,
            [a, bob, dave, carol, *approvals, fake], T0 + 100)


def _schedule() -> tuple[str, SignedObject, list[SignedObject], int]:
    p = project(budget="1000")
    design = task(p, "Design", estimate=5 * DAY, deadline=10)
    build = task(p, "Build", (design,), budget="500", estimate=20 * DAY, deadline=20, at=2)
    copy = task(p, "Copy", estimate=3 * DAY, deadline=20, at=3)
    launch = task(p, "Launch", (build, copy), budget="300", estimate=DAY, deadline=30, at=4)
    extra = task(p, "Extra photos", budget="200", at=5)  # 100 + 500 + 100 + 300 + 200 > 1000: over budget
    return ("critical path, slack and a projection past a task's deadline; a task over the budget", p,
            [launch, extra, copy, build, design, claim(design, BOB, 3600)], T0 + DAY)


def _reopen() -> tuple[str, SignedObject, list[SignedObject], int]:
    p = project()
    a = task(p, "Logo", deadline=10)
    b = task(p, "Icons", deadline=10, at=2)
    early = sign(ALICE, "reopen", {"task": a.id, "project": p.id, "deadline": T0 + 40 * DAY,
                                   "reason": "Too early."}, T0 + 5 * DAY)  # refused: not_overdue
    again = sign(ALICE, "reopen", {"task": a.id, "project": p.id, "deadline": T0 + 40 * DAY,
                                   "reason": "The lease lapsed without a delivery."}, T0 + 11 * DAY)
    return ("overdue tasks; a reopen moves the deadline and voids the earlier claims", p,
            [again, b, a, claim(a, BOB, 100), claim(b, DAVE, 100), early, claim(a, CAROL, 11 * DAY + 60)],
            T0 + 11 * DAY + 120)


def _recombination() -> tuple[str, SignedObject, list[SignedObject], int]:
    p = project()
    a, b = task(p, "Texts"), task(p, "Pictures", at=2)
    page = task(p, "Page", (a, b), deadline=40, at=3)
    digest = lambda label: hashlib.sha256(label.encode()).hexdigest()  # noqa: E731
    return ("contracts, deliveries and acceptances: task states and the recombination manifest", p,
            [page, *contract_chain(b, DAVE, 1000, digest("pictures"), 500), a,
             *contract_chain(a, BOB, 900, digest("texts"), 50), b,
             *contract_chain(page, BOB, 2000, digest("page"), 10)[:4]], T0 + 3000)


def _refusals() -> tuple[str, SignedObject, list[SignedObject], int]:
    p = project()
    a = task(p, "Logo")
    other = sign(ALICE, "project", {**p.body, "title": "Another shop"}, T0 + 1)
    foreign = task(other, "Elsewhere")
    bad = [
        task(p, "By a stranger", by=BOB, at=2),
        sign(ALICE, "task", {**a.body, "title": "In dollars", "budget": {"amount": "10", "currency": "USD"}}, T0 + 3),
        task(p, "Too dear", budget="1000.01", at=4),
        task(p, "Too late", deadline=61, at=5),
        task(p, "Due before its dependency", (a,), deadline=29, at=6),
        task(p, "Across projects", (foreign,), deadline=40, at=7),
        sign(BOB, "claim", {"task": a.id, "project": other.id}, T0 + 8),
        sign(BOB, "reopen", {"task": a.id, "project": p.id, "deadline": T0 + 50 * DAY, "reason": "Mine now."},
             T0 + 31 * DAY),
        sign(ALICE, "reopen", {"task": a.id, "project": p.id, "deadline": T0 + 61 * DAY, "reason": "Later."},
             T0 + 31 * DAY),
    ]
    return ("every static refusal of section 13.2.1; the view ignores the refused objects", p,
            [a, other, foreign, *bad], T0 + 9)


def _cascade() -> tuple[str, SignedObject, list[SignedObject], int]:
    p = project()
    a = task(p, "Banner")
    bob, dave, carol = claim(a, BOB, 100), claim(a, DAVE, 200), claim(a, CAROL, 4 * DAY + 200)
    gone = claim(a, CAROL, 150)
    return ("a lapse cascade: the standby promoted at the first lapse lapses at the same arrival too; a claim "
            "retracted by its author never counts, a retract dated after now does not count yet", p,
            [carol, a, sign(CAROL, "retract", {"target": gone.id}, T0 + 160), dave, gone, bob,
             sign(DAVE, "retract", {"target": dave.id}, T0 + 4 * DAY + 400)], T0 + 4 * DAY + 300)


def _frozen_and_ruled() -> tuple[str, SignedObject, list[SignedObject], int]:
    p = project()
    a, b = task(p, "Header", deadline=10), task(p, "Footer", deadline=10, at=2)
    made_a, made_b = contract_chain(a, BOB, 1000, "aa" * 32, 100)[:3], contract_chain(b, DAVE, 1100, "bb" * 32, 100)
    disputed = sign(ALICE, "dispute", {"contract": made_a[0].id, "resolver": CAROL.did, "reason": "Nothing came."},
                    T0 + 11 * DAY)
    ruled = sign(CAROL, "ruling", {"dispute": disputed.id, "contract": made_a[0].id, "outcome": "for_client",
                                   "reason": "Nothing was delivered."}, T0 + 12 * DAY)
    return ("a contract freezes the claims (a claim after it is in no list); a task whose contract a for_client "
            "ruling closed is accepted at the ruling, not overdue, and the project completes", p,
            [ruled, claim(a, BOB, 500), *made_b, b, claim(a, DAVE, 2000), disputed, a, *made_a,
             claim(b, CAROL, 900)], T0 + 13 * DAY)


CASES = (_standby, _approval, _schedule, _reopen, _recombination, _refusals, _cascade, _frozen_and_ruled)


def _refusal(obj: SignedObject, held: dict[str, SignedObject]) -> str | None:
    try:
        check.check(obj, held)
    except ProtocolError as error:
        return error.code
    return None


def lifecycle_projects_vectors() -> dict:
    vectors = []
    for make in CASES:
        name, root, objects, now = make()
        held = {o.id: o for o in (root, *objects)}
        refusals = [{"id": o.id, "type": o.type, "code": code} for o in objects
                    if (code := _refusal(o, held)) is not None]
        vectors.append({"name": name, "now": now, "project": root.as_dict(),
                        "objects": [o.as_dict() for o in objects], "refusals": refusals,
                        "view": project_view(root, objects, now).as_dict()})
    return {"description": "project, objects, now -> project view and static refusals (section 13.2); "
                           "verify each object with the clock at its own created_at",
            "seeds": {name: bytes([n] * 32).hex() for name, n in SEEDS.items()}, "vectors": vectors}

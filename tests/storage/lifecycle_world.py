"""One project's whole lifecycle, signed from fixed seeds, for the storage lifecycle tests.

Built on the contract tests' builders (tests/protocol/contract_cases.py):
alice coordinates the project and is the client, bob the supplier, carol the
dispute resolver, dave a second claimant whose key is rotated mid-way. The
world holds valid objects, objects the static rules refuse, retracts of every
kind (effective, void, of final types, of contracts) and a key rotation, so
that every path of ingest is taken.
"""

from protocol.envelope import SignedObject, sign
from protocol.identity import Identity
from tests.protocol.contract_cases import (
    ALICE, BOB, CAROL, DAVE, DAY, T0, confirm, contract, decide, deliver, eur, obj, pay, review, signs,
)

DAVE2 = Identity(bytes([9]) * 32)
NOW = T0 + 400 * DAY


def project(at: int = T0, who: Identity = ALICE, category: str = "web-design", budget: str = "4000.00",
            deadline: int = T0 + 60 * DAY) -> SignedObject:
    return obj(who, "project", at, category=category, title="Shop relaunch", description="New shop front end.",
               budget=eur(budget), deadline=deadline, coordinator=who.did)


def task(of: SignedObject, title: str, deps: tuple[SignedObject, ...] = (), at: int = T0 + 10,
         who: Identity = ALICE, budget: str = "1200.00", deadline: int = T0 + 40 * DAY,
         category: str = "web-design", currency: str = "EUR") -> SignedObject:
    return obj(who, "task", at, project=of.id, category=category, title=title, description="Do it.",
               budget={"amount": budget, "currency": currency}, deadline=deadline,
               depends_on=[d.id for d in deps], claim_lease=2 * DAY)


def claim(of: SignedObject, who: Identity, at: int, project_id: str | None = None) -> SignedObject:
    return obj(who, "claim", at, task=of.id, project=project_id or of.body["project"])


def retract(target: SignedObject, who: Identity, at: int) -> SignedObject:
    return obj(who, "retract", at, target=target.id)


def offer(who: Identity = CAROL, at: int = T0) -> SignedObject:
    return obj(who, "offer", at, category="web-design", title="Logo design", description="Three rounds.",
               price=eur("400.00"), unit="fixed")


def world() -> dict[str, SignedObject]:
    """Every object of the lifecycle by name (valid, refused, retracted, rotated)."""
    w: dict[str, SignedObject] = {}
    w["project"] = p = project()
    w["t1"] = t1 = task(p, "Design")
    w["t2"] = t2 = task(p, "Build", deps=(t1,), at=T0 + 11)
    w["claim bob"] = claim(t1, BOB, T0 + 20)
    w["claim dave"] = c_dave = claim(t1, DAVE, T0 + 21)
    w["retract claim dave"] = retract(c_dave, DAVE, T0 + 22)
    w["rotation dave"] = sign(DAVE, "key_rotation", {"successor": DAVE2.did}, T0 + 30)
    w["claim dave late"] = claim(t2, DAVE, T0 + 40)  # after dave's rotation: kept hidden, key_rotated
    w["claim dave late 2"] = late = claim(t1, DAVE, T0 + 45)
    w["retract claim dave late 2"] = retract(late, DAVE, T0 + 25)  # before the rotation: valid, but the
    # rotation outranks it: the claim is answered key_rotated in every order
    w["claim dave2"] = claim(t2, DAVE2, T0 + 41)
    w["proposal"] = obj(BOB, "proposal", T0 + 50, target=t2.id, category="web-design", price=eur("900.00"),
                        message="I can build it.")
    w["contract"] = k = contract(t1, T0 + 100)
    w["sign alice"], w["sign bob"] = signs(k, T0 + 110, ALICE, BOB)
    w["sign dave"] = obj(DAVE2, "sign", T0 + 111, contract=k.id)  # not a party: not_authorized
    w["delivery 1"] = d1 = deliver(k, "design", T0 + 2 * DAY)
    w["reject 1"] = decide(d1, T0 + 3 * DAY, "reject")
    w["delivery 2"] = d2 = deliver(k, "design", T0 + 4 * DAY, digest="ab" * 32)
    w["accept 2"] = decide(d2, T0 + 5 * DAY)
    w["delivery by client"] = deliver(k, "build", T0 + 5 * DAY, who=ALICE)  # not_authorized
    w["delivery unknown milestone"] = deliver(k, "launch", T0 + 5 * DAY)  # unknown_milestone
    w["payment"] = sent = pay(k, "design", T0 + 6 * DAY)
    w["confirmation"] = confirm(sent, k, T0 + 7 * DAY)
    w["dispute"] = dispute = obj(BOB, "dispute", T0 + 8 * DAY, contract=k.id, resolver=CAROL.did,
                                 milestone="build", reason="Scope grew.")
    w["ruling"] = obj(CAROL, "ruling", T0 + 9 * DAY, dispute=dispute.id, contract=k.id, outcome="for_supplier",
                      reason="The scope grew after signing.")
    w["review"] = review(k, T0 + 10 * DAY, ALICE, BOB, 5)
    w["retract delivery"] = retract(d1, BOB, T0 + 11 * DAY)  # final: not_authorized (or void when first)
    w["retract contract by bob"] = retract(k, BOB, T0 + 11 * DAY)  # not the author: not_authorized / void
    w["amendment"] = amend = contract(t1, T0 + 12 * DAY, price="1500.00", supersedes=k.id)
    w["retract amendment"] = retract(amend, ALICE, T0 + 12 * DAY + 1)  # kept: the fold reads it
    w["offer"] = o = offer()
    w["proposal on offer"] = obj(ALICE, "proposal", T0 + 60, target=o.id, category="web-design",
                                 price=eur("400.00"), message="Please.")
    w["task elsewhere"] = task(o, "Wrong root")  # a task of an offer: wrong_reference
    return w


WORLD = world()
CONTEXT = [WORLD["project"], WORLD["t1"], WORLD["t2"], WORLD["contract"]]


def refusals() -> list[tuple[str, list[SignedObject], SignedObject, str]]:
    """(rule, the context to hold first, an object breaking the rule, its code): one per static rule."""
    other = project(T0 + 1, who=DAVE)
    other_task = task(other, "Elsewhere", who=DAVE)
    W = WORLD
    P, T1, K = W["project"], W["t1"], W["contract"]
    sent = W["payment"]
    return [
        ("task by someone else", [P], task(P, "Mine", who=BOB), "not_authorized"),
        ("task after the project's deadline", [P], task(P, "Late", deadline=T0 + 61 * DAY), "deadline_conflict"),
        ("task over the project's budget", [P], task(P, "Dear", budget="4000.01"), "over_budget"),
        ("task in another currency", [P], task(P, "Dollars", currency="USD"), "currency_mismatch"),
        ("task in another category", [P], task(P, "Photos", category="photography"), "wrong_reference"),
        ("task depending on another project's task", [P, other, other_task],
         task(P, "Mixed", deps=(other_task,)), "wrong_reference"),
        ("task depending on a later deadline", [P, T1], task(P, "Early", deps=(T1,), deadline=T0 + 39 * DAY),
         "deadline_conflict"),
        ("task of an offer", [W["offer"]], W["task elsewhere"], "wrong_reference"),
        ("claim naming another project", [P, T1, other], claim(T1, BOB, T0 + 20, other.id), "wrong_reference"),
        ("claim of a project", [P], obj(BOB, "claim", T0 + 20, task=P.id, project=P.id), "wrong_reference"),
        ("reopen by someone else", [P, T1], obj(BOB, "reopen", T0 + 50 * DAY, task=T1.id, project=P.id,
                                                deadline=T0 + 55 * DAY, reason="Late."), "not_authorized"),
        ("proposal on one's own listing", [P, T1], obj(ALICE, "proposal", T0 + 50, target=T1.id,
                                                       category="web-design", price=eur("1.00"), message="Me."),
         "not_authorized"),
        ("contract by a non-party", [P, T1], sign(DAVE, "contract", {**K.body}, K.created_at), "not_authorized"),
        ("contract over two roots", [P, T1, other], contract(T1, T0 + 100, scope=[T1.id, other.id]),
         "wrong_reference"),
        ("sign by a non-party", CONTEXT, W["sign dave"], "not_authorized"),
        ("delivery by the client", CONTEXT, W["delivery by client"], "not_authorized"),
        ("delivery of an unknown milestone", CONTEXT, W["delivery unknown milestone"], "unknown_milestone"),
        ("acceptance by the supplier", CONTEXT + [W["delivery 1"]],
         obj(BOB, "acceptance", T0 + 3 * DAY, delivery=W["delivery 1"].id, decision="accept"), "not_authorized"),
        ("payment of the wrong amount", CONTEXT, obj(ALICE, "payment", T0 + 6 * DAY, contract=K.id,
                                                     milestone="design", amount=eur("1.00"), kind="sent"),
         "amount_mismatch"),
        ("payment confirmed by the payer", CONTEXT + [sent],
         obj(ALICE, "payment", T0 + 7 * DAY, contract=K.id, milestone="design", amount=sent.body["amount"],
             kind="confirmed", confirms=sent.id), "not_authorized"),
        ("dispute naming another resolver", CONTEXT, obj(BOB, "dispute", T0 + 8 * DAY, contract=K.id,
                                                         resolver=DAVE.did, reason="Scope."), "wrong_reference"),
        ("ruling by a party", CONTEXT + [W["dispute"]],
         obj(ALICE, "ruling", T0 + 9 * DAY, dispute=W["dispute"].id, contract=K.id, outcome="for_client",
             reason="Mine."), "not_authorized"),
        ("review of oneself", CONTEXT, obj(ALICE, "review", T0 + 10 * DAY, contract=K.id, subject=ALICE.did,
                                           rating=5), "not_authorized"),
        ("sign of a task", [P, T1], obj(ALICE, "sign", T0 + 110, contract=T1.id), "wrong_reference"),
        ("retract of a delivery", CONTEXT + [W["delivery 1"]], W["retract delivery"], "not_authorized"),
    ]

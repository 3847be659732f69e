"""Builders for contract lifecycles, shared by the contract, reputation and vector tests.

alice (seed 01) is the client, bob (02) the supplier, carol (03) the dispute
resolver, dave (04) a second supplier; every object is signed for real.
"""

from typing import Any

from protocol.envelope import SignedObject, sign
from protocol.identity import Identity

T0 = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400
ALICE, BOB, CAROL, DAVE = (Identity(bytes([n]) * 32) for n in (1, 2, 3, 4))
ARTIFACT = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def obj(who: Identity, type_: str, at: int, **body: Any) -> SignedObject:
    return sign(who, type_, body, at)


def project(at: int = T0, who: Identity = ALICE, title: str = "Shop relaunch") -> SignedObject:
    return obj(who, "project", at, category="web-design", title=title, description="New shop front end.",
               budget=eur("4000.00"), deadline=at + 60 * DAY, coordinator=who.did)


def contract(root: SignedObject, at: int = T0 + 100, client: Identity = ALICE, supplier: Identity = BOB,
             price: str = "1200.00", currency: str = "EUR", **extra: Any) -> SignedObject:
    total = int(price.split(".")[0])
    third = total // 3
    amount = (lambda a: {"amount": f"{a}.00", "currency": currency}) if "." in price else (
        lambda a: {"amount": str(a), "currency": currency})
    body = {"parties": [{"did": client.did, "role": "client"}, {"did": supplier.did, "role": "supplier"}],
            "scope": [root.id], "terms": "Design and build the landing page.",
            "price": amount(total),
            "milestones": [{"key": "design", "title": "Design", "amount": amount(third), "due": at + 7 * DAY},
                           {"key": "build", "title": "Build", "amount": amount(total - third), "due": at + 21 * DAY}],
            "deadline": at + 30 * DAY, "dispute_resolver": CAROL.did, **extra}
    return sign(client, "contract", body, at)


def signs(c: SignedObject, at: int, *who: Identity) -> list[SignedObject]:
    return [obj(w, "sign", at, contract=c.id) for w in who]


def deliver(c: SignedObject, key: str, at: int, who: Identity = BOB, digest: str = ARTIFACT) -> SignedObject:
    return obj(who, "delivery", at, contract=c.id, milestone=key,
               artifact={"sha256": digest, "location": "https://files.example.net/a.zip"})


def decide(d: SignedObject, at: int, decision: str = "accept", who: Identity = ALICE) -> SignedObject:
    extra = {"reason": "The footer is missing."} if decision == "reject" else {}
    return obj(who, "acceptance", at, delivery=d.id, decision=decision, **extra)


def amount_of(c: SignedObject, key: str) -> dict[str, str]:
    return next(m["amount"] for m in c.body["milestones"] if m["key"] == key)


def pay(c: SignedObject, key: str, at: int, who: Identity = ALICE) -> SignedObject:
    return obj(who, "payment", at, contract=c.id, milestone=key, amount=amount_of(c, key), kind="sent")


def confirm(sent: SignedObject, c: SignedObject, at: int, who: Identity = BOB) -> SignedObject:
    return obj(who, "payment", at, contract=c.id, milestone=sent.body["milestone"], amount=sent.body["amount"],
               kind="confirmed", confirms=sent.id)


def review(c: SignedObject, at: int, who: Identity, subject: Identity, rating: int) -> SignedObject:
    return obj(who, "review", at, contract=c.id, subject=subject.did, rating=rating)


def completed_lifecycle(root: SignedObject, start: int = T0 + 100, client: Identity = ALICE,
                        supplier: Identity = BOB, price: str = "1200.00", currency: str = "EUR",
                        late: bool = False) -> tuple[SignedObject, list[SignedObject]]:
    """A contract signed, both milestones delivered, accepted, paid and confirmed; returns (contract, rest)."""
    c = contract(root, start, client, supplier, price, currency)
    rest = signs(c, start + 10, client, supplier)
    offset = 25 * DAY if late else DAY
    for key in ("design", "build"):
        d = deliver(c, key, start + offset, supplier)
        sent = pay(c, key, start + offset + 200, client)
        rest += [d, decide(d, start + offset + 100, who=client), sent, confirm(sent, c, start + offset + 300, supplier)]
    return c, rest

"""Generate specs/vectors/lifecycle_contracts.json: the contract fold and reputation (sections 13.3, 13.4) as data.

Each case of kind "contract": a contract, a set of objects signed from fixed
seeds, a time `now` -> the contract view (`view`, section 13.3.6) and the
static refusals (`refusals`: the code each refused object gets, judged with
the case's other objects as context). Each case of kind "reputation": a
participant, objects, `now` (and a category or null) -> the reputation with
its derivation (section 13.4). The view is computed from every object listed,
refused ones included: the fold leaves them out by itself. Objects are listed
in a scrambled order on purpose.

    python specs/generate_vectors.py   (writes every vector file)
"""

import random
from typing import Any

from protocol.envelope import SignedObject, sign
from protocol.errors import ProtocolError
from protocol.identity import Identity
from protocol.lifecycle import check
from protocol.lifecycle.contracts import contract_view
from protocol.lifecycle.reputation import reputation

T0 = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400
SEEDS = {"alice": 1, "bob": 2, "carol": 3, "dave": 5, "erin": 6}  # alice the client, bob supplies, carol resolves
ALICE, BOB, CAROL, DAVE, ERIN = (Identity(bytes([n]) * 32) for n in SEEDS.values())
DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def at(who: Identity, type_: str, when: int, **body: Any) -> SignedObject:
    return sign(who, type_, body, T0 + when)


ROOT = at(ALICE, "project", 0, category="web-design", title="Shop relaunch", description="A new shop.",
          budget=eur("4000"), deadline=T0 + 90 * DAY, coordinator=ALICE.did)
COPY_ROOT = at(DAVE, "project", 0, category="copywriting", title="Catalogue texts", description="Texts.",
               budget=eur("4000"), deadline=T0 + 90 * DAY, coordinator=DAVE.did)  # another category


def contract(when: int = 100, client: Identity = ALICE, supplier: Identity = BOB, price: int = 1200,
             root: SignedObject = ROOT, **extra: Any) -> SignedObject:
    third = price // 3
    return at(client, "contract", when, parties=[{"did": client.did, "role": "client"},
                                                 {"did": supplier.did, "role": "supplier"}],
              scope=[root.id], terms="Design and build the landing page.", price=eur(str(price)),
              milestones=[{"key": "design", "title": "Design", "amount": eur(str(third)), "due": T0 + when + 7 * DAY},
                          {"key": "build", "title": "Build", "amount": eur(str(price - third)),
                           "due": T0 + when + 21 * DAY}],
              deadline=T0 + when + 30 * DAY, dispute_resolver=CAROL.did, **extra)


def signs(c: SignedObject, when: int, *who: Identity) -> list[SignedObject]:
    return [at(w, "sign", when, contract=c.id) for w in who]


def deliver(c: SignedObject, key: str, when: int, who: Identity = BOB, digest: str = DIGEST) -> SignedObject:
    return at(who, "delivery", when, contract=c.id, milestone=key,
              artifact={"sha256": digest, "location": "https://files.example.net/" + digest[:8]})


def decide(d: SignedObject, when: int, decision: str = "accept", who: Identity = ALICE) -> SignedObject:
    extra = {"reason": "The footer is missing."} if decision == "reject" else {}
    return at(who, "acceptance", when, delivery=d.id, decision=decision, **extra)


def paid(c: SignedObject, key: str, when: int, client: Identity = ALICE, supplier: Identity = BOB) -> list[SignedObject]:
    amount = next(m["amount"] for m in c.body["milestones"] if m["key"] == key)
    sent = at(client, "payment", when, contract=c.id, milestone=key, amount=amount, kind="sent")
    return [sent, at(supplier, "payment", when + 60, contract=c.id, milestone=key, amount=amount, kind="confirmed",
                     confirms=sent.id)]


def completed(when: int, client: Identity = ALICE, supplier: Identity = BOB, price: int = 1200,
              late: bool = False, root: SignedObject = ROOT) -> tuple[SignedObject, list[SignedObject]]:
    c = contract(when, client, supplier, price, root)
    rest = signs(c, when + 10, client, supplier)
    done = when + (25 if late else 2) * DAY
    for key in ("design", "build"):
        d = deliver(c, key, done, supplier)
        rest += [d, decide(d, done + 100, who=client), *paid(c, key, done + 200, client, supplier)]
    return c, rest


def _lifecycle() -> tuple[str, SignedObject, list[SignedObject], int]:
    c = contract()
    first = deliver(c, "design", 2 * DAY)
    again = deliver(c, "design", 3 * DAY, digest="ab" * 32)
    build = deliver(c, "build", 10 * DAY, digest="cd" * 32)
    return ("signed, a delivery rejected and delivered again, both milestones accepted, paid and confirmed; "
            "a review before completion does not count, the first after does, a second one does not",
            c, [*signs(c, 200, ALICE, BOB), first, decide(first, 2 * DAY + 600, "reject"), again,
                decide(again, 3 * DAY + 600), build, decide(build, 10 * DAY + 600),
                *paid(c, "design", 4 * DAY), *paid(c, "build", 11 * DAY),
                at(ALICE, "review", 5 * DAY, contract=c.id, subject=BOB.did, rating=2),
                at(ALICE, "review", 12 * DAY, contract=c.id, subject=BOB.did, rating=5),
                at(ALICE, "review", 13 * DAY, contract=c.id, subject=BOB.did, rating=1),
                at(BOB, "review", 12 * DAY, contract=c.id, subject=ALICE.did, rating=4)], T0 + 20 * DAY)


def _auto_accept() -> tuple[str, SignedObject, list[SignedObject], int]:
    c = contract(auto_accept=3 * DAY)
    design = deliver(c, "design", DAY)
    return ("auto-accept after three days of silence; a rejection after that is ignored; the build milestone "
            "is overdue", c, [*signs(c, 200, ALICE, BOB), design, decide(design, 5 * DAY, "reject")], T0 + 22 * DAY)


def _retracts() -> tuple[str, SignedObject, list[SignedObject], int]:
    c = contract()
    alice_first, bob_sign = signs(c, 200, ALICE)[0], signs(c, 400, BOB)[0]
    return ("a sign retracted before the contract is in force does not count; alice signs again; the "
            "contract's own retract comes after it is in force and is void", c,
            [alice_first, at(ALICE, "retract", 300, target=alice_first.id), bob_sign, *signs(c, 500, ALICE),
             at(ALICE, "retract", 600, target=c.id)], T0 + DAY)


def _amendments() -> tuple[str, SignedObject, list[SignedObject], int]:
    c = contract()
    one = at(ALICE, "contract", 1000, **{**c.body, "supersedes": c.id, "terms": "Two more pages."})
    two = at(BOB, "contract", 1000, **{**c.body, "supersedes": c.id, "terms": "One more page."})
    late = deliver(c, "design", 2 * DAY)
    return ("two amendments compete: the one in force first supersedes the contract; a delivery on the old "
            "contract after that is ignored, and so is a sign of it", c,
            [*signs(c, 200, ALICE, BOB), one, two, *signs(one, DAY + 500, ALICE, BOB),
             *signs(two, DAY, BOB, ALICE), late, at(BOB, "sign", 2 * DAY, contract=c.id)], T0 + 3 * DAY)


def _disputes() -> tuple[str, SignedObject, list[SignedObject], int]:
    c = contract()
    design = deliver(c, "design", DAY)
    on_design = at(BOB, "dispute", 9 * DAY, contract=c.id, resolver=CAROL.did, milestone="design",
                   reason="Accepted but not paid.")
    whole = at(ALICE, "dispute", 23 * DAY, contract=c.id, resolver=CAROL.did, reason="The build never came.")
    return ("a ruling on one milestone settles it with a split; a ruling on the whole contract closes it; "
            "a second ruling is ignored", c,
            [*signs(c, 200, ALICE, BOB), design, decide(design, DAY + 60), on_design, whole,
             at(CAROL, "ruling", 10 * DAY, dispute=on_design.id, contract=c.id, outcome="split", award=eur("300"),
                reason="Three quarters is due."),
             at(CAROL, "ruling", 24 * DAY, dispute=whole.id, contract=c.id, outcome="for_client",
                reason="Nothing was delivered."),
             at(CAROL, "ruling", 25 * DAY, dispute=whole.id, contract=c.id, outcome="for_supplier",
                reason="On second thought."),
             at(ALICE, "review", 26 * DAY, contract=c.id, subject=BOB.did, rating=1)], T0 + 30 * DAY)


def _refusals() -> tuple[str, SignedObject, list[SignedObject], int]:
    c = contract()
    d = deliver(c, "design", DAY)
    sent = paid(c, "design", 2 * DAY)[0]
    dispute = at(ALICE, "dispute", 3 * DAY, contract=c.id, resolver=CAROL.did, milestone="design", reason="Late.")
    bad = [
        at(ALICE, "proposal", 50, target=ROOT.id, category="web-design", price=eur("1200"), message="My own."),
        at(DAVE, "contract", 100, **c.body),
        at(DAVE, "contract", 150, **{**c.body, "supersedes": c.id,
                                     "parties": [{"did": DAVE.did, "role": "client"}, c.body["parties"][1]]}),
        at(DAVE, "sign", 300, contract=c.id),
        deliver(c, "design", DAY + 1, who=ALICE), deliver(c, "launch", DAY + 2),
        decide(d, DAY + 3, who=BOB),
        at(BOB, "payment", DAY + 4, contract=c.id, milestone="design", amount=eur("400"), kind="sent"),
        at(ALICE, "payment", DAY + 5, contract=c.id, milestone="design", amount=eur("399.99"), kind="sent"),
        at(ALICE, "payment", DAY + 6, contract=c.id, milestone="design",
           amount={"amount": "400", "currency": "USD"}, kind="sent"),
        at(ALICE, "payment", DAY + 7, contract=c.id, milestone="launch", amount=eur("400"), kind="sent"),
        at(ALICE, "payment", 2 * DAY + 1, contract=c.id, milestone="design", amount=eur("400"), kind="confirmed",
           confirms=sent.id),
        at(BOB, "payment", 2 * DAY + 2, contract=c.id, milestone="build", amount=eur("800"), kind="confirmed",
           confirms=sent.id),
        at(DAVE, "dispute", 3 * DAY, contract=c.id, resolver=CAROL.did, reason="Me too."),
        at(ALICE, "dispute", 3 * DAY, contract=c.id, resolver=DAVE.did, reason="My friend decides."),
        at(ALICE, "ruling", 4 * DAY, dispute=dispute.id, contract=c.id, outcome="for_client", reason="I win."),
        at(CAROL, "ruling", 4 * DAY, dispute=dispute.id, contract=c.id, outcome="split", award=eur("400.01"),
           reason="More than due."),
        at(DAVE, "review", 5 * DAY, contract=c.id, subject=BOB.did, rating=1),
        at(ALICE, "review", 5 * DAY, contract=c.id, subject=ALICE.did, rating=5),
    ]
    return ("every static refusal of section 13.3.1; the view leaves the refused objects out", c,
            [*signs(c, 200, ALICE, BOB), d, sent, dispute, *bad], T0 + 6 * DAY)


def _reputation() -> tuple[str, str, str | None, list[SignedObject], int]:
    small, small_rest = completed(100, ALICE, BOB, price=3)
    big, big_rest = completed(200, DAVE, BOB, price=3000, late=True)
    closed, closed_rest = completed(300, ERIN, BOB, price=1200)
    elsewhere, elsewhere_rest = completed(400, ALICE, DAVE, price=600)  # alice and dave work with others too
    open_one = contract(500, ALICE, BOB)
    reviews = [at(ALICE, "review", 40 * DAY, contract=small.id, subject=BOB.did, rating=2),
               at(DAVE, "review", 100 * DAY, contract=big.id, subject=BOB.did, rating=5),
               at(ERIN, "review", 40 * DAY, contract=closed.id, subject=BOB.did, rating=5),
               at(BOB, "review", 40 * DAY, contract=small.id, subject=ALICE.did, rating=4)]
    return ("bob's reputation: value weights (3 EUR and 3000 EUR), decay (a review 60 days older), erin only ever "
            "worked with bob (pair weight 1), two late milestones and two overdue ones",
            BOB.did, None, [ROOT, small, *small_rest, big, *big_rest, closed, *closed_rest, elsewhere,
                            *elsewhere_rest, open_one, *signs(open_one, 600, ALICE, BOB), *reviews], T0 + 200 * DAY)


def _withdrawn() -> tuple[str, SignedObject, list[SignedObject], int]:
    c = contract()
    return ("withdrawn by its author before bob signed: alice's sign is still shown, bob's later sign does not "
            "count, a delivery is not_in_force, a review is not_completed", c,
            [*signs(c, 200, ALICE), at(ALICE, "retract", 300, target=c.id), *signs(c, 400, BOB),
             deliver(c, "design", 500), at(BOB, "review", 600, contract=c.id, subject=ALICE.did, rating=3)],
            T0 + DAY)


def _lost() -> tuple[str, SignedObject, list[SignedObject], int]:
    c = contract()
    one = at(ALICE, "contract", 1000, **{**c.body, "supersedes": c.id, "terms": "Two more pages."})
    two = at(BOB, "contract", 1000, **{**c.body, "supersedes": c.id, "terms": "One more page."})
    return ("the view of the amendment that lost: signed but never in force, lost_to the winner; its delivery "
            "is not_in_force", one,
            [c, *signs(c, 200, ALICE, BOB), two, *signs(one, DAY + 500, ALICE, BOB), *signs(two, DAY, BOB, ALICE),
             deliver(one, "design", 2 * DAY)], T0 + 3 * DAY)


def _windows() -> tuple[str, SignedObject, list[SignedObject], int]:
    c = contract()
    early = deliver(c, "design", 500, digest="ee" * 32)
    design = deliver(c, "design", DAY)
    sent, confirmed = paid(c, "design", 2 * DAY)
    again = at(BOB, "payment", 2 * DAY + 120, contract=c.id, milestone="design", amount=eur("400"),
               kind="confirmed", confirms=sent.id)
    build = at(BOB, "dispute", 22 * DAY, contract=c.id, resolver=CAROL.did, milestone="build",
               reason="The client never sent the content.")
    return ("bob's sign is dated before the contract (signed_at is when it counts from); a delivery before "
            "in force and its acceptance; a second acceptance after the auto-accept deadline is already_decided; "
            "a second confirmation; a delivery at the acceptance's instant keeps its status, later ones and one after "
            "the ruling do not; a dispute after "
            "completion; an overdue milestone settled by a ruling has no overdue entry", c,
            [at(BOB, "sign", 50, contract=c.id), *signs(c, 1000, ALICE), early, decide(early, 600), design,
             decide(design, DAY + 60), decide(design, 9 * DAY), sent, confirmed, again,
             deliver(c, "design", DAY + 60, digest="ac" * 32), deliver(c, "design", DAY + 61, digest="ab" * 32),
             build,
             at(CAROL, "ruling", 23 * DAY, dispute=build.id, contract=c.id, outcome="for_supplier",
                reason="The client held up the work."),
             deliver(c, "build", 23 * DAY + 1, digest="cd" * 32),
             at(ALICE, "dispute", 24 * DAY, contract=c.id, resolver=CAROL.did, reason="Too late now.")],
            T0 + 25 * DAY)


def _category_reputation() -> tuple[str, str, str | None, list[SignedObject], int]:
    web, web_rest = completed(100, ERIN, BOB, price=1200)
    texts, texts_rest = completed(200, DAVE, BOB, price=500, root=COPY_ROOT)
    erin_texts, erin_texts_rest = completed(300, ERIN, DAVE, price=90, root=COPY_ROOT)
    reviews = [at(ERIN, "review", 40 * DAY, contract=web.id, subject=BOB.did, rating=4),
               at(DAVE, "review", 40 * DAY, contract=texts.id, subject=BOB.did, rating=1)]
    return ("bob's reputation in web-design only: the copywriting contract and its review are left out, but "
            "erin's copywriting contract with dave still gives her pair weight 4",
            BOB.did, "web-design", [ROOT, COPY_ROOT, web, *web_rest, texts, *texts_rest, erin_texts,
                                    *erin_texts_rest, *reviews], T0 + 60 * DAY)


CONTRACT_CASES = (_lifecycle, _auto_accept, _retracts, _amendments, _disputes, _refusals, _withdrawn, _lost,
                  _windows)


def _refusal(obj: SignedObject, held: dict[str, SignedObject]) -> str | None:
    try:
        check.check(obj, held)
    except ProtocolError as error:
        return error.code
    return None


def _scrambled(objects: list[SignedObject], seed: int) -> list[SignedObject]:
    objects = list(objects)
    random.Random(seed).shuffle(objects)
    return objects


def lifecycle_contracts_vectors() -> dict:
    vectors = []
    for seed, make in enumerate(CONTRACT_CASES):
        name, c, objects, now = make()
        objects = _scrambled(objects, seed)
        held = {o.id: o for o in (ROOT, c, *objects)}
        vectors.append({"name": name, "kind": "contract", "now": now, "root": ROOT.as_dict(),
                        "contract": c.as_dict(), "objects": [o.as_dict() for o in objects],
                        "refusals": [{"id": o.id, "type": o.type, "code": code} for o in objects
                                     if (code := _refusal(o, held)) is not None],
                        "view": contract_view(c, [ROOT, *objects], now).as_dict()})
    for seed, make in ((6, _reputation), (1001, _category_reputation)):  # 6: the first file's scramble, kept
        name, did, category, objects, now = make()
        objects = _scrambled(objects, seed)
        vectors.append({"name": name, "kind": "reputation", "now": now, "did": did, "category": category,
                        "objects": [o.as_dict() for o in objects],
                        "reputation": reputation(did, objects, now, category).as_dict()})
    return {"description": "objects, now -> contract view and static refusals (section 13.3), or a participant's "
                           "reputation (section 13.4); verify each object with the clock at its own created_at",
            "seeds": {name: bytes([n] * 32).hex() for name, n in SEEDS.items()}, "vectors": vectors}

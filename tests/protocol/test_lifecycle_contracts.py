"""Contracts and what follows them: every static refusal with its code, and the fold's rules."""

import json
import pathlib
import random

import pytest
from hypothesis import given, settings, strategies as st

from contract_cases import (
    ALICE, BOB, CAROL, DAVE, DAY, T0, completed_lifecycle, confirm, contract, decide, deliver, eur, obj, pay,
    project, review, signs,
)
from protocol.envelope import verify
from protocol.errors import ProtocolError
from protocol.lifecycle import check
from protocol.lifecycle.contracts import AUTO_ACCEPT_DEFAULT, contract_view, contract_views
from protocol.lifecycle.reputation import reputation

P = project()
C = contract(P)
START = C.created_at


def held(*objects):
    return {o.id: o for o in (P, C, *objects)}


def refused(obj, *context) -> str:
    with pytest.raises(ProtocolError) as caught:
        check.check(obj, held(*context))
    return caught.value.code


# --- static refusals ----------------------------------------------------------

def test_valid_objects_pass():
    d = deliver(C, "design", START + DAY)
    sent = pay(C, "design", START + DAY)
    dispute = obj(BOB, "dispute", START + DAY, contract=C.id, resolver=CAROL.did, reason="Unpaid.")
    ruling = obj(CAROL, "ruling", START + DAY, dispute=dispute.id, contract=C.id, outcome="split",
                 award=eur("1200"), reason="Half each.")
    proposal = obj(BOB, "proposal", T0, target=P.id, category="web-design", price=eur("1200.00"), message="Me.")
    for o, ctx in [(signs(C, START, BOB)[0], ()), (d, ()), (decide(d, START + DAY), (d,)), (sent, ()),
                   (confirm(sent, C, START + DAY), (sent,)), (dispute, ()), (ruling, (dispute,)),
                   (review(C, START, ALICE, BOB, 4), ()), (proposal, ()), (C, ())]:
        check.check(o, held(*ctx))


def test_proposal_on_own_listing():
    own = obj(ALICE, "proposal", T0, target=P.id, category="web-design", price=eur("1.00"), message="Me.")
    assert refused(own) == "not_authorized"


def test_contract_by_a_non_party():
    c = contract(P, client=ALICE, supplier=BOB)
    stranger = obj(DAVE, "contract", START, **c.body)
    assert refused(stranger) == "not_authorized"


def test_amendment_by_someone_not_party_of_the_amended_contract():
    body = {**C.body, "parties": [{"did": DAVE.did, "role": "client"}, {"did": BOB.did, "role": "supplier"}],
            "supersedes": C.id}
    assert refused(obj(DAVE, "contract", START + 5, **body)) == "not_authorized"
    by_bob = obj(BOB, "contract", START + 5, **{**body, "parties": C.body["parties"]})
    check.check(by_bob, held())


def test_sign_by_a_non_party():
    assert refused(signs(C, START, DAVE)[0]) == "not_authorized"


def test_delivery_by_the_client_or_for_an_unknown_milestone():
    assert refused(deliver(C, "design", START, who=ALICE)) == "not_authorized"
    assert refused(deliver(C, "launch", START)) == "unknown_milestone"


def test_acceptance_by_the_supplier_or_a_stranger():
    d = deliver(C, "design", START)
    assert refused(decide(d, START, who=BOB), d) == "not_authorized"
    assert refused(decide(d, START, who=DAVE), d) == "not_authorized"


def test_payment_sent_rules():
    assert refused(pay(C, "design", START, who=BOB)) == "not_authorized"
    wrong = obj(ALICE, "payment", START, contract=C.id, milestone="design", amount=eur("399.99"), kind="sent")
    assert refused(wrong) == "amount_mismatch"
    usd = obj(ALICE, "payment", START, contract=C.id, milestone="design",
              amount={"amount": "400.00", "currency": "USD"}, kind="sent")
    assert refused(usd) == "currency_mismatch"
    unknown = obj(ALICE, "payment", START, contract=C.id, milestone="launch", amount=eur("400"), kind="sent")
    assert refused(unknown) == "unknown_milestone"
    same_amount_fewer_digits = obj(ALICE, "payment", START, contract=C.id, milestone="design",
                                   amount=eur("400"), kind="sent")
    check.check(same_amount_fewer_digits, held())


def test_payment_confirmed_rules():
    sent = pay(C, "design", START)
    assert refused(confirm(sent, C, START, who=ALICE), sent) == "not_authorized"
    confirmation = confirm(sent, C, START)
    assert refused(confirm(confirmation, C, START + 1), sent, confirmation) == "wrong_reference"
    other = obj(BOB, "payment", START, contract=C.id, milestone="build", amount=eur("800.00"),
                kind="confirmed", confirms=sent.id)
    assert refused(other, sent) == "wrong_reference"


def test_dispute_rules():
    body = {"contract": C.id, "resolver": CAROL.did, "reason": "Late."}
    assert refused(obj(DAVE, "dispute", START, **body)) == "not_authorized"
    assert refused(obj(ALICE, "dispute", START, **{**body, "resolver": DAVE.did})) == "wrong_reference"
    assert refused(obj(ALICE, "dispute", START, **body, milestone="launch")) == "unknown_milestone"


def test_ruling_rules():
    dispute = obj(ALICE, "dispute", START, contract=C.id, resolver=CAROL.did, milestone="design", reason="Late.")
    body = {"dispute": dispute.id, "contract": C.id, "outcome": "split", "award": eur("400.00"), "reason": "Fair."}
    check.check(obj(CAROL, "ruling", START, **body), held(dispute))
    assert refused(obj(ALICE, "ruling", START, **body), dispute) == "not_authorized"
    assert refused(obj(CAROL, "ruling", START, **{**body, "award": eur("400.01")}), dispute) == "amount_mismatch"
    usd = {**body, "award": {"amount": "1", "currency": "USD"}}
    assert refused(obj(CAROL, "ruling", START, **usd), dispute) == "currency_mismatch"
    other = contract(P, START + 1)
    assert refused(obj(CAROL, "ruling", START, **{**body, "contract": other.id}), dispute, other) == "wrong_reference"


def test_review_rules():
    assert refused(review(C, START, DAVE, BOB, 5)) == "not_authorized"
    assert refused(review(C, START, ALICE, ALICE, 5)) == "not_authorized"
    assert refused(review(C, START, ALICE, DAVE, 5)) == "not_authorized"


# --- the fold ------------------------------------------------------------------

def view(*objects, now=START + 40 * DAY, of=C):
    return contract_view(of, [P, C, *objects], now)


def test_in_force_when_every_party_signed():
    first, second = obj(ALICE, "sign", START + 10, contract=C.id), obj(BOB, "sign", START + 20, contract=C.id)
    assert view(first).status == "proposed" and not view(first).in_force
    both = view(first, second)
    assert both.in_force and both.in_force_at == START + 20 and both.status == "in_force"
    assert [p.sign for p in both.parties] == [first.id, second.id]


def test_a_sign_claiming_a_time_before_the_contract_counts_from_the_contract():
    early = [obj(ALICE, "sign", START - 50, contract=C.id), obj(BOB, "sign", START - 40, contract=C.id)]
    assert view(*early).in_force_at == START


def test_retracting_a_sign_before_in_force_withdraws_it_after_is_void():
    a, b = signs(C, START + 10, ALICE)[0], obj(BOB, "sign", START + 30, contract=C.id)
    before = obj(ALICE, "retract", START + 20, target=a.id)
    assert not view(a, b, before).in_force
    again = obj(ALICE, "sign", START + 40, contract=C.id)
    assert view(a, b, before, again).in_force_at == START + 40
    after = obj(ALICE, "retract", START + 30, target=a.id)  # the instant it came into force: void
    assert view(a, b, after).in_force_at == START + 30


def test_retracting_the_contract_only_before_in_force():
    both = signs(C, START + 10, ALICE, BOB)
    early = obj(ALICE, "retract", START + 5, target=C.id)
    withdrawn = view(*both, early)
    assert withdrawn.status == "withdrawn" and withdrawn.withdrawn_at == START + 5 and not withdrawn.in_force
    late = obj(ALICE, "retract", START + 11, target=C.id)
    assert view(*both, late).in_force


def test_retracts_of_final_types_are_void():
    d = deliver(C, "design", START + DAY)
    objects = [*signs(C, START + 10, ALICE, BOB), d, decide(d, START + DAY + 5),
               obj(BOB, "retract", START + DAY + 9, target=d.id)]
    assert view(*objects).milestone("design").accepted_delivery == d.id


def test_amendment_supersedes_and_later_signs_of_the_old_contract_do_not_count():
    amended = obj(ALICE, "contract", START + 50, **{**C.body, "supersedes": C.id, "terms": "Amended."})
    old_signs = [obj(ALICE, "sign", START + 10, contract=C.id), obj(BOB, "sign", START + 200, contract=C.id)]
    new_signs = signs(amended, START + 100, ALICE, BOB)
    objects = [amended, *old_signs, *new_signs]
    old = view(*objects)
    assert old.superseded_at == START + 100 and old.superseded_by == amended.id
    assert old.in_force_at is None and old.status == "superseded"  # bob's sign came after the amendment
    assert view(*objects, of=amended).in_force and old.amendments == (amended.id,)


def test_a_superseded_contract_ignores_what_comes_after():
    amended = obj(ALICE, "contract", START + 50, **{**C.body, "supersedes": C.id, "terms": "Amended."})
    late = deliver(C, "design", START + 2 * DAY)
    objects = [amended, *signs(C, START + 10, ALICE, BOB), *signs(amended, START + DAY, ALICE, BOB), late]
    old = view(*objects)
    assert old.in_force_at == START + 10 and old.status == "superseded" and not old.in_force
    assert [(i.id, i.reason) for i in old.ignored] == [(late.id, "after_superseded")]


def test_competing_amendments_earliest_in_force_then_lowest_id():
    one = obj(ALICE, "contract", START + 50, **{**C.body, "supersedes": C.id, "terms": "One."})
    two = obj(BOB, "contract", START + 50, **{**C.body, "supersedes": C.id, "terms": "Two."})
    base = [one, two, *signs(C, START + 10, ALICE, BOB)]
    objects = base + signs(one, START + 300, ALICE, BOB) + signs(two, START + 200, ALICE, BOB)
    assert view(*objects).superseded_by == two.id
    assert view(*objects, of=one).status == "lost" and view(*objects, of=one).lost_to == two.id
    tie = base + signs(one, START + 200, ALICE, BOB) + signs(two, START + 200, ALICE, BOB)
    winner = min((one, two), key=lambda c: c.id)
    assert view(*tie).superseded_by == winner.id and view(*tie, of=winner).in_force


def test_rejection_then_redelivery_then_acceptance():
    first = deliver(C, "design", START + DAY)
    second = deliver(C, "design", START + 2 * DAY, digest="ab" * 32)
    objects = [*signs(C, START + 10, ALICE, BOB), first, decide(first, START + DAY + 60, "reject"), second,
               decide(second, START + 2 * DAY + 60)]
    m = view(*objects).milestone("design")
    assert [d.status for d in m.deliveries] == ["rejected", "accepted"]
    assert m.deliveries[0].reason == "The footer is missing."
    assert (m.state, m.accepted_delivery, m.sha256, m.on_time) == ("accepted", second.id, "ab" * 32, True)
    assert view(*objects[:4]).milestone("design").state == "rejected"


def test_the_first_decision_on_a_delivery_is_final():
    d = deliver(C, "design", START + DAY)
    objects = [*signs(C, START + 10, ALICE, BOB), d, decide(d, START + DAY + 5), decide(d, START + DAY + 9, "reject")]
    contract_state = view(*objects)
    assert contract_state.milestone("design").state == "accepted"
    assert [i.reason for i in contract_state.ignored] == ["already_decided"]


def test_auto_accept_fires_at_delivery_plus_period_with_injected_clock():
    d = deliver(C, "design", START + DAY)
    objects = [*signs(C, START + 10, ALICE, BOB), d]
    deadline = d.created_at + AUTO_ACCEPT_DEFAULT
    assert view(*objects, now=deadline - 1).milestone("design").state == "delivered"
    m = view(*objects, now=deadline).milestone("design")
    assert (m.state, m.accepted_at, m.deliveries[0].status) == ("accepted", deadline, "auto_accepted")
    late_reject = decide(d, deadline, "reject")
    after = view(*objects, late_reject, now=deadline + 5)
    assert after.milestone("design").state == "accepted" and after.ignored[0].reason == "after_auto_accept"
    early_reject = decide(d, deadline - 1, "reject")
    assert view(*objects, early_reject, now=deadline + 5).milestone("design").state == "rejected"


def test_auto_accept_period_from_the_contract():
    short = contract(P, START, auto_accept=3600)
    d = deliver(short, "design", START + DAY)
    m = contract_view(short, [P, *signs(short, START + 10, ALICE, BOB), d], START + DAY + 3600).milestone("design")
    assert m.accepted_at == START + DAY + 3600


def test_overdue_milestone():
    objects = signs(C, START + 10, ALICE, BOB)
    due = C.body["milestones"][0]["due"]
    assert not view(*objects, now=due).milestone("design").overdue
    assert view(*objects, now=due + 1).milestone("design").overdue
    d = deliver(C, "design", due + 50)
    late = view(*objects, d, decide(d, due + 60), now=due + 100).milestone("design")
    assert not late.overdue and late.on_time is False


def test_delivery_before_in_force_is_ignored():
    early = deliver(C, "design", START + 5)
    state = view(early, *signs(C, START + 10, ALICE, BOB))
    assert state.milestone("design").deliveries == () and state.ignored[0].reason == "before_in_force"


def test_objects_dated_after_now_do_not_count():
    objects = signs(C, START + 10, ALICE, BOB)
    assert not view(*objects, now=START + 9).in_force


def test_payments_and_completion():
    c, rest = completed_lifecycle(P)
    state = contract_view(c, [P, *rest], START + 40 * DAY)
    assert state.completed and state.status == "completed" and state.in_force
    assert state.completed_at == max(m.paid_at for m in state.milestones)
    unconfirmed = [o for o in rest if o.body.get("kind") != "confirmed"]
    assert not contract_view(c, [P, *unconfirmed], START + 40 * DAY).completed


def test_a_ruling_on_the_whole_contract_closes_it():
    dispute = obj(ALICE, "dispute", START + DAY, contract=C.id, resolver=CAROL.did, reason="Nothing delivered.")
    ruling = obj(CAROL, "ruling", START + 2 * DAY, dispute=dispute.id, contract=C.id, outcome="for_client",
                 reason="No delivery.")
    second = obj(CAROL, "ruling", START + 3 * DAY, dispute=dispute.id, contract=C.id, outcome="for_supplier",
                 reason="Changed my mind.")
    objects = [*signs(C, START + 10, ALICE, BOB), dispute]
    assert view(*objects).disputes[0].status == "open" and not view(*objects).completed
    closed = view(*objects, ruling, second)
    assert closed.completed and closed.closed_by_ruling and closed.completed_at == START + 2 * DAY
    assert closed.disputes[0].ruling.outcome == "for_client"
    assert {m.state for m in closed.milestones} == {"ruled"}
    assert [i.reason for i in closed.ignored] == ["already_ruled"]


def test_a_ruling_on_one_milestone_settles_only_it():
    dispute = obj(BOB, "dispute", START + DAY, contract=C.id, resolver=CAROL.did, milestone="design",
                  reason="Accepted but unpaid.")
    ruling = obj(CAROL, "ruling", START + 2 * DAY, dispute=dispute.id, contract=C.id, outcome="split",
                 award=eur("200.00"), reason="Half.")
    state = view(*signs(C, START + 10, ALICE, BOB), dispute, ruling)
    assert state.milestone("design").state == "ruled" and state.milestone("design").ruling_outcome == "split"
    assert state.milestone("build").state == "open" and not state.completed


def test_reviews_count_after_completion_once_per_reviewer():
    c, rest = completed_lifecycle(P)
    early = review(c, START + 10, ALICE, BOB, 1)
    first, second = review(c, START + 5 * DAY, ALICE, BOB, 5), review(c, START + 6 * DAY, ALICE, BOB, 2)
    state = contract_view(c, [P, *rest, early, first, second], START + 40 * DAY)
    assert [(r.id, r.counts, r.reason) for r in state.reviews] == [
        (early.id, False, "before_completion"), (first.id, True, None), (second.id, False, "second_review")]
    retracted = obj(ALICE, "retract", START + 7 * DAY, target=first.id)
    state = contract_view(c, [P, *rest, first, second, retracted], START + 40 * DAY)
    assert [(r.id, r.counts) for r in state.reviews] == [(second.id, True)]


def test_views_are_plain_json_with_a_timeline():
    c, rest = completed_lifecycle(P)
    data = contract_view(c, [P, *rest], START + 40 * DAY).as_dict()
    kinds = [e["kind"] for e in data["timeline"]]
    assert kinds[0] == "proposed" and kinds[-1] == "completed" and "payment_confirmed" in kinds
    assert [e["at"] for e in data["timeline"]] == sorted(e["at"] for e in data["timeline"])
    assert data["milestones"][0]["amount"] == {"amount": "400.00", "currency": "EUR"}


# --- order independence --------------------------------------------------------

def _pool() -> tuple[object, list]:
    """Objects of one contract that compete and interact: signs, retracts, amendments, decisions, ..."""
    c = C
    amended = obj(BOB, "contract", START + 5 * DAY, **{**C.body, "supersedes": C.id, "terms": "Amended."})
    s = [obj(ALICE, "sign", START + 10, contract=c.id), obj(BOB, "sign", START + 20, contract=c.id),
         obj(BOB, "sign", START + 15, contract=c.id)]
    d1, d2 = deliver(c, "design", START + DAY), deliver(c, "design", START + 2 * DAY, digest="cd" * 32)
    d3 = deliver(c, "build", START + 3 * DAY)
    sent = pay(c, "design", START + 2 * DAY)
    dispute = obj(ALICE, "dispute", START + 4 * DAY, contract=c.id, resolver=CAROL.did, milestone="build",
                  reason="Broken.")
    return c, [*s, obj(BOB, "retract", START + 12, target=s[2].id), obj(ALICE, "retract", START + 25, target=c.id),
               d1, decide(d1, START + DAY + 9, "reject"), decide(d1, START + DAY + 5), d2, decide(d2, START + 2 * DAY + 1),
               d3, sent, confirm(sent, c, START + 2 * DAY + 7), dispute,
               obj(CAROL, "ruling", START + 4 * DAY + 3, dispute=dispute.id, contract=c.id, outcome="for_supplier",
                   reason="Works."),
               amended, *signs(amended, START + 6 * DAY, ALICE, BOB), review(c, START + 9 * DAY, ALICE, BOB, 4)]


POOL_CONTRACT, POOL = _pool()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=len(POOL), max_size=len(POOL)), st.randoms(use_true_random=False),
       st.integers(START, START + 20 * DAY))
def test_any_subset_in_any_order_gives_one_view(keep, rng, now):
    subset = [o for o, k in zip(POOL, keep) if k]
    shuffled = list(subset)
    rng.shuffle(shuffled)
    expected = contract_view(POOL_CONTRACT, [P, *subset], now).as_dict()
    assert contract_view(POOL_CONTRACT, [*shuffled, P, *shuffled[:3]], now).as_dict() == expected
    assert contract_views([POOL_CONTRACT, P, *reversed(shuffled)], now)[POOL_CONTRACT.id].as_dict() == expected


def test_the_pool_exercises_the_rules():
    state = contract_view(POOL_CONTRACT, [P, *POOL], START + 20 * DAY)
    assert state.status == "superseded" and state.in_force_at == START + 20
    assert state.milestone("design").state == "completed" and state.milestone("build").state == "ruled"
    random.Random(1).shuffle(shuffled := list(POOL))
    assert contract_view(POOL_CONTRACT, [P, *shuffled], START + 20 * DAY) == state


# --- the committed vectors (specs/vectors/lifecycle_contracts.json) -----------------

VECTORS = json.loads((pathlib.Path(__file__).resolve().parents[2] / "specs" / "vectors" / "lifecycle_contracts.json")
                     .read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", VECTORS["vectors"], ids=lambda c: c["name"][:60])
def test_vector(case):
    objects = [verify(o, o["created_at"]) for o in case["objects"]]
    if case["kind"] == "reputation":
        assert reputation(case["did"], objects, case["now"], case["category"]).as_dict() == case["reputation"]
        return
    root, contract_obj = verify(case["root"], case["now"]), verify(case["contract"], case["now"])
    held = {o.id: o for o in (root, contract_obj, *objects)}
    codes = []
    for o in objects:
        try:
            check.check(o, held)
        except ProtocolError as error:
            codes.append({"id": o.id, "type": o.type, "code": error.code})
    assert codes == case["refusals"]
    assert contract_view(contract_obj, [root, *objects], case["now"]).as_dict() == case["view"]
    assert contract_view(contract_obj, [root, *reversed(objects)], case["now"]).as_dict() == case["view"]


def test_vectors_cover_every_code_and_kind():
    codes = {r["code"] for case in VECTORS["vectors"] for r in case.get("refusals", ())}
    assert {"not_authorized", "unknown_milestone", "amount_mismatch", "currency_mismatch", "wrong_reference"} <= codes
    assert {case["kind"] for case in VECTORS["vectors"]} == {"contract", "reputation"}


def test_objects_signed_after_a_key_rotation_do_not_count():
    rotation = obj(BOB, "key_rotation", START + 15, successor=DAVE.did)
    late_sign = obj(BOB, "sign", START + 20, contract=C.id)
    objects = [obj(ALICE, "sign", START + 10, contract=C.id), late_sign]
    assert view(*objects).in_force and not view(*objects, rotation).in_force


def test_an_acceptance_dated_before_its_delivery_takes_effect_at_the_delivery():
    d = deliver(C, "design", START + DAY)
    backdated, later = decide(d, START + DAY - 500, "reject"), decide(d, START + DAY + 5)
    objects = [*signs(C, START + 10, ALICE, BOB), d, later, backdated]
    attempt = view(*objects).milestone("design").deliveries[0]
    assert (attempt.status, attempt.decided_at, attempt.decision) == ("rejected", d.created_at, backdated.id)

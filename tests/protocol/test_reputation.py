"""Reputation: weights by value, age and pair; on-time rate; categories; summaries equal the fold at `now`."""

from hypothesis import given, settings, strategies as st

from contract_cases import (
    ALICE, BOB, DAVE, DAY, T0, completed_lifecycle, contract, decide, deliver, obj, project, review, signs,
)
from protocol.identity import Identity
from protocol.lifecycle.contract_summary import ContractSummary
from protocol.lifecycle.contracts import contract_views
from protocol.lifecycle.reputation import (
    CLOSED_PAIR_WEIGHT, HALF_LIFE, PAIR_WEIGHT, PPM, contract_summaries, decay_ppm, reputation, reputation_of,
    value_weight,
)
from protocol.lifecycle.terms import SUPPLIER_ROLES
from test_lifecycle_contracts import POOL, POOL_CONTRACT

P = project()
ERIN = Identity(bytes([5]) * 32)


def test_value_weight_is_log2_of_whole_units():
    assert value_weight({"amount": "0.99", "currency": "EUR"}) == 1
    assert value_weight({"amount": "1", "currency": "EUR"}) == 2
    assert value_weight({"amount": "1200.00", "currency": "EUR"}) == 12
    assert value_weight({"amount": "2400", "currency": "EUR"}) == 13
    assert value_weight({"amount": "150000", "currency": "JPY"}) == 19


def test_decay_halves_every_half_life_linear_in_between():
    assert decay_ppm(0) == PPM and decay_ppm(-5) == PPM
    assert decay_ppm(HALF_LIFE // 2) == 750_000
    assert decay_ppm(HALF_LIFE) == 500_000 and decay_ppm(2 * HALF_LIFE) == 250_000
    assert decay_ppm(64 * HALF_LIFE) == 0
    assert all(decay_ppm(a) >= decay_ppm(a + 997) for a in range(0, 3 * HALF_LIFE, 100_003))


def test_rating_weighted_by_value_and_age():
    small, rest_small = completed_lifecycle(P, T0 + 100, client=ALICE, price="3.00")
    big, rest_big = completed_lifecycle(P, T0 + 200, client=DAVE, price="3000.00")
    also = completed_lifecycle(P, T0 + 300, client=ALICE, supplier=DAVE)  # alice and dave work elsewhere too
    now = T0 + 40 * DAY
    objects = [P, *rest_small, small, *rest_big, big, also[0], *also[1],
               review(small, T0 + 30 * DAY, ALICE, BOB, 1), review(big, T0 + 30 * DAY, DAVE, BOB, 5)]
    rep = reputation(BOB.did, objects, now)
    by_contract = {r.contract: r for r in rep.reviews}
    assert by_contract[small.id].value_weight == 3 and by_contract[big.id].value_weight == 13
    decay = decay_ppm(10 * DAY)
    assert {r.decay_ppm for r in rep.reviews} == {decay} and {r.pair_weight for r in rep.reviews} == {PAIR_WEIGHT}
    assert rep.rating_milli == (3 * 1 + 13 * 5) * 1000 // 16
    assert rep.completed_value == ({"amount": "3003.00", "currency": "EUR"},)
    assert [c.id for c in rep.contracts] == [small.id, big.id]  # bob is no party of `also`


def test_a_reviewer_who_only_worked_with_the_subject_weighs_less():
    c, rest = completed_lifecycle(P, client=ERIN)
    rep = reputation(BOB.did, [P, c, *rest, review(c, T0 + 30 * DAY, ERIN, BOB, 5)], T0 + 40 * DAY)
    assert rep.reviews[0].pair_weight == CLOSED_PAIR_WEIGHT
    other, other_rest = completed_lifecycle(P, T0 + 500, client=ERIN, supplier=DAVE)
    rep = reputation(BOB.did, [P, c, *rest, other, *other_rest, review(c, T0 + 30 * DAY, ERIN, BOB, 5)],
                     T0 + 40 * DAY)
    assert rep.reviews[0].pair_weight == PAIR_WEIGHT


def test_on_time_rate_counts_accepted_late_and_overdue_milestones():
    on_time, rest = completed_lifecycle(P)
    late, late_rest = completed_lifecycle(P, T0 + 500, client=DAVE, late=True)
    open_one = contract(P, T0 + 900, client=ALICE)
    objects = [P, on_time, *rest, late, *late_rest, open_one, *signs(open_one, T0 + 910, ALICE, BOB)]
    rep = reputation(BOB.did, objects, T0 + 40 * DAY)
    assert (rep.on_time, rep.milestones_counted, rep.on_time_permille) == (2, 6, 333)  # late: both after due
    assert sorted(m.state for m in rep.milestones) == ["accepted"] * 4 + ["overdue"] * 2
    assert reputation(ALICE.did, objects, T0 + 40 * DAY).milestones_counted == 0  # alice supplies nothing


def test_per_category():
    other_root = obj(ALICE, "project", T0, category="copywriting", title="Texts", description="Shop texts.",
                     budget={"amount": "900.00", "currency": "EUR"}, deadline=T0 + 60 * DAY, coordinator=ALICE.did)
    web, web_rest = completed_lifecycle(P)
    copy, copy_rest = completed_lifecycle(other_root, T0 + 700)
    objects = [P, other_root, web, *web_rest, copy, *copy_rest,
               review(web, T0 + 30 * DAY, ALICE, BOB, 5), review(copy, T0 + 30 * DAY, ALICE, BOB, 2)]
    assert reputation(BOB.did, objects, T0 + 40 * DAY, "copywriting").rating_milli == 2000
    assert reputation(BOB.did, objects, T0 + 40 * DAY, "web-design").rating_milli == 5000
    assert [c.category for c in reputation(BOB.did, objects, T0 + 40 * DAY).contracts] == ["web-design", "copywriting"]


def test_no_reviews_no_rating_and_the_derivation_is_plain_json():
    rep = reputation(BOB.did, [P], T0)
    assert rep.rating_milli is None and rep.on_time_permille is None and rep.contracts == ()
    c, rest = completed_lifecycle(P)
    data = reputation(BOB.did, [P, c, *rest, review(c, T0 + 30 * DAY, ALICE, BOB, 4)], T0 + 40 * DAY).as_dict()
    assert data["reviews"][0]["weight"] == 12 * decay_ppm(10 * DAY) * CLOSED_PAIR_WEIGHT and data["half_life"] == HALF_LIFE


def test_summaries_round_trip_through_json():
    summaries = contract_summaries([P, *POOL, POOL_CONTRACT], T0 + 20 * DAY)
    for summary in summaries.values():
        assert ContractSummary.from_dict(summary.as_dict()) == summary


def _direct(did, objects, now):
    """The same figures read from contract views at `now`, without summaries: the reference."""
    views = contract_views(objects, now)
    counted = [v for v in views.values() if v.status not in ("withdrawn", "lost")
               and any(p.did == did for p in v.parties)]
    reviews = sorted((r.id, r.rating) for v in counted for r in v.reviews if r.counts and r.subject == did)
    milestones = []
    for v in counted:
        if next(p.role for p in v.parties if p.did == did) in SUPPLIER_ROLES:
            for m in v.milestones:
                if m.accepted_delivery is not None:
                    milestones.append((v.id, m.key, bool(m.on_time)))
                elif (m.state == "ruled" and m.ruling_outcome != "for_supplier") or (
                        m.overdue and m.state != "delivered"):
                    milestones.append((v.id, m.key, False))
    completed = sorted(v.id for v in counted if v.completed)
    return reviews, sorted(milestones), completed


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=len(POOL), max_size=len(POOL)), st.randoms(use_true_random=False),
       st.integers(T0, T0 + 60 * DAY), st.sampled_from([ALICE, BOB]))
def test_reputation_from_summaries_equals_the_fold_at_now(keep, rng, now, who):
    subset = [o for o, k in zip(POOL, keep) if k] + [P, POOL_CONTRACT]
    rng.shuffle(subset)
    rep = reputation(who.did, subset, now)
    reviews, milestones, completed = _direct(who.did, subset, now)
    assert sorted((r.id, r.rating) for r in rep.reviews) == reviews
    assert sorted((m.contract, m.key, m.on_time) for m in rep.milestones) == milestones
    assert sorted(c.id for c in rep.contracts if c.completed_at is not None) == completed
    assert reputation_of(who.did, reversed(list(contract_summaries(subset, now).values())), now) == rep


def test_auto_accepted_milestones_count_once_the_clock_passes():
    c = contract(P)
    d = deliver(c, "design", c.created_at + DAY)
    objects = [P, c, *signs(c, c.created_at + 10, ALICE, BOB), d]
    fires = d.created_at + 604_800
    assert reputation(BOB.did, objects, fires - 1).milestones_counted == 0
    rep = reputation(BOB.did, objects, fires)
    assert [(m.key, m.state, m.on_time) for m in rep.milestones] == [("design", "accepted", True)]
    rejected = [*objects, decide(d, d.created_at + 5, "reject")]
    assert [(m.state, m.on_time) for m in reputation(BOB.did, rejected, fires).milestones] == [("overdue", False)]

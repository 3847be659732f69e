"""Projects and tasks (spec section 13.2): every static refusal, every fold rule, order independence."""

import hashlib
import json
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle_scenes import (
    ALICE, BOB, CAROL, DAVE, DAY, T0, acceptance, approval, claim, delivery, eur, project, reopen, retract,
    signed_contract, task,
)
from protocol import canonical
from protocol.envelope import sign, verify
from protocol.errors import ProtocolError
from protocol.lifecycle import check
from protocol.lifecycle.projects import project_view

P = project()
A = task(P, "a")
B = task(P, "b", deadline=T0 + 20 * DAY)
C = task(P, "c", (A, B), deadline=T0 + 40 * DAY)


def held(*objs):
    return {o.id: o for o in objs}


def code_of(obj, *context) -> str | None:
    try:
        check.check(obj, held(*context))
    except ProtocolError as error:
        return error.code
    return None


# --- static refusals -----------------------------------------------------------

def test_a_valid_task_claim_approval_and_reopen_pass():
    one = claim(A, BOB, T0 + 10)
    assert code_of(C, P, A, B) is None
    assert code_of(one, P, A) is None
    assert code_of(approval(one, T0 + 20), P, A, one) is None
    assert code_of(reopen(A, T0 + 31 * DAY, T0 + 50 * DAY), P, A) is None


@pytest.mark.parametrize(("label", "make", "code"), [
    ("task by someone else", lambda: task(P, "x", by=BOB), "not_authorized"),
    ("budget in another currency", lambda: sign(ALICE, "task", {**A.body, "budget": {"amount": "1", "currency": "USD"}},
                                                T0 + 1), "currency_mismatch"),
    ("budget above the project's", lambda: task(P, "x", budget="1000.01"), "over_budget"),
    ("deadline after the project's", lambda: task(P, "x", deadline=T0 + 61 * DAY), "deadline_conflict"),
    ("dependency due after the task", lambda: task(P, "x", (A,), deadline=T0 + 29 * DAY), "deadline_conflict"),
])
def test_task_refusals(label, make, code):
    assert code_of(make(), P, A) == code


def test_a_dependency_of_another_project_is_a_wrong_reference():
    other = project(at=T0 + 5)
    foreign = task(other, "foreign")
    mine = task(P, "x", (foreign,), deadline=T0 + 40 * DAY)
    assert code_of(mine, P, other, foreign) == "wrong_reference"
    with pytest.raises(ProtocolError) as caught:  # the project checker says so on its own too
        check.checker("task")(mine, held(P, other, foreign))
    assert caught.value.code == "wrong_reference"


def test_a_task_in_another_category_is_refused_and_not_counted():
    elsewhere = sign(ALICE, "task", {**A.body, "category": "copywriting"}, T0 + 3)
    assert code_of(elsewhere, P) == "wrong_reference"
    with pytest.raises(ProtocolError) as caught:
        check.checker("task")(elsewhere, held(P))
    assert caught.value.code == "wrong_reference"
    assert [t.id for t in project_view(P, [elsewhere, A], T0 + 10).tasks] == [A.id]


def test_a_dependency_that_is_not_a_task_is_a_wrong_reference():
    not_a_task = claim(A, BOB, T0 + 2)
    mine = sign(ALICE, "task", {**A.body, "depends_on": [not_a_task.id]}, T0 + 3)
    assert code_of(mine, P, A, not_a_task) == "wrong_reference"


def test_claim_naming_another_project_is_a_wrong_reference():
    other = project(at=T0 + 5)
    bad = claim(A, BOB, T0 + 10, project_id=other.id)
    assert code_of(bad, P, A, other) == "wrong_reference"
    with pytest.raises(ProtocolError) as caught:
        check.checker("claim")(bad, held(P, A, other))
    assert caught.value.code == "wrong_reference"


def test_approval_and_reopen_refusals():
    one = claim(A, BOB, T0 + 10)
    assert code_of(approval(one, T0 + 20, by=BOB), P, A, one) == "not_authorized"
    assert code_of(reopen(A, T0 + 31 * DAY, T0 + 50 * DAY, by=BOB), P, A) == "not_authorized"
    assert code_of(reopen(A, T0 + 30 * DAY, T0 + 50 * DAY), P, A) == "not_overdue"  # at the deadline, not after
    assert code_of(reopen(A, T0 + 31 * DAY, T0 + 61 * DAY), P, A) == "deadline_conflict"
    other = project(at=T0 + 5)
    assert code_of(reopen(A, T0 + 31 * DAY, T0 + 50 * DAY, project_id=other.id), P, A, other) == "wrong_reference"


# --- the fold ---------------------------------------------------------------------

def test_budget_overflow_is_state_in_created_order():
    big = task(P, "big", budget="850", at=T0 + 2)
    bigger = task(P, "bigger", budget="900", at=T0 + 3)
    small = task(P, "small", budget="50", at=T0 + 4)
    view = project_view(P, [small, bigger, big, A], T0 + DAY)
    assert [t.id for t in view.tasks] == sorted([A.id, big.id, small.id], key=lambda i: (
        {A.id: 1, big.id: 2, small.id: 4}[i], i))
    assert view.over_budget == (bigger.id,)
    assert view.committed == eur("1000.00")


def test_first_claim_holds_the_next_stands_by_and_takes_over_at_the_lapse():
    first, second = claim(A, BOB, T0 + 100), claim(A, DAVE, T0 + 200)
    lease = A.body["claim_lease"]
    before = project_view(P, [A, first, second], T0 + 100 + lease - 1).task(A.id)
    assert before.state == "claimed"
    assert [h.claim for h in before.claims.holders] == [first.id]
    assert [s.claim for s in before.claims.standby] == [second.id]
    after = project_view(P, [A, first, second], T0 + 100 + lease).task(A.id)
    assert [(h.claim, h.lease_start, h.lease_end) for h in after.claims.holders] == [
        (second.id, T0 + 100 + lease, T0 + 100 + 2 * lease)]
    assert [p.claim for p in after.claims.lapsed] == [first.id] and after.claims.standby == ()
    freed = project_view(P, [A, first, second], T0 + 100 + 2 * lease).task(A.id)
    assert freed.state == "open" and freed.claims.holders == ()


def test_a_second_claim_by_a_live_claimant_is_ignored_but_a_later_one_counts():
    lease = A.body["claim_lease"]
    first, again, later = claim(A, BOB, T0 + 100), claim(A, BOB, T0 + 150), claim(A, BOB, T0 + 100 + lease + 5)
    view = project_view(P, [A, first, again, later], T0 + 100 + lease + 10).task(A.id)
    assert view.claims.ignored == (again.id,)
    assert [h.claim for h in view.claims.holders] == [later.id]


def test_claims_per_task_gives_several_places():
    roomy = project(claims_per_task=2)
    work = task(roomy, "pair")
    one, two, three = claim(work, BOB, T0 + 10), claim(work, DAVE, T0 + 20), claim(work, CAROL, T0 + 30)
    view = project_view(roomy, [work, three, two, one], T0 + 40).task(work.id)
    assert [h.claim for h in view.claims.holders] == [one.id, two.id]
    assert [s.claim for s in view.claims.standby] == [three.id]


def test_with_claim_approval_only_approved_claims_hold_in_approval_order():
    strict = project(claim_approval=True)
    work = task(strict, "vetted")
    early, late = claim(work, BOB, T0 + 10), claim(work, DAVE, T0 + 20)
    objects = [work, early, late, approval(late, T0 + 30), approval(early, T0 + 40)]
    view = project_view(strict, objects, T0 + 50).task(work.id)
    assert [(h.claim, h.ready_at) for h in view.claims.holders] == [(late.id, T0 + 30)]
    assert [s.claim for s in view.claims.standby] == [early.id]
    alone = project_view(strict, [work, early], T0 + 50).task(work.id)
    assert alone.state == "open" and alone.awaiting_approval == (early.id,)


def test_an_approval_by_someone_else_or_in_a_free_project_changes_nothing():
    strict = project(claim_approval=True)
    work = task(strict, "vetted")
    one = claim(work, BOB, T0 + 10)
    view = project_view(strict, [work, one, approval(one, T0 + 20, by=BOB)], T0 + 30).task(work.id)
    assert view.claims.holders == () and view.awaiting_approval == (one.id,)


def test_a_retracted_claim_never_existed_and_future_objects_do_not_count_yet():
    first, second = claim(A, BOB, T0 + 100), claim(A, DAVE, T0 + 200)
    view = project_view(P, [A, first, second, retract(first, BOB, T0 + 300)], T0 + 400).task(A.id)
    assert [h.claim for h in view.claims.holders] == [second.id] and view.claims.lapsed == ()
    foreign_retract = retract(second, ALICE, T0 + 300)  # not the author's: void
    assert project_view(P, [A, second, foreign_retract], T0 + 400).task(A.id).state == "claimed"
    assert project_view(P, [A, second], T0 + 199).task(A.id).state == "open"


def test_overdue_and_at_risk_with_an_injected_clock():
    tight = task(P, "tight", deadline=T0 + DAY, lease=2 * DAY)
    holder = claim(tight, BOB, T0 + 10)
    risky = project_view(P, [tight, holder], T0 + 20).task(tight.id)
    assert risky.at_risk and not risky.overdue  # the lease ends after the deadline
    late = project_view(P, [tight, holder], T0 + DAY + 1)
    assert late.task(tight.id).overdue and not late.task(tight.id).at_risk
    assert late.overdue_tasks == (tight.id,)
    assert not project_view(P, [tight, holder], T0 + DAY).task(tight.id).overdue  # at the deadline is in time


def test_reopen_moves_the_deadline_and_voids_earlier_claims():
    lease = A.body["claim_lease"]
    old = claim(A, BOB, T0 + 100)
    again = reopen(A, T0 + 31 * DAY, T0 + 50 * DAY)
    fresh = claim(A, DAVE, T0 + 31 * DAY + 5)
    view = project_view(P, [A, old, again, fresh], T0 + 31 * DAY + 10).task(A.id)
    assert view.deadline == T0 + 50 * DAY and view.reopens == (again.id,)
    assert view.voided_claims == (old.id,) and [h.claim for h in view.claims.holders] == [fresh.id]
    assert not view.overdue and lease < 19 * DAY


def test_a_reopen_of_an_accepted_task_does_not_count():
    made = signed_contract(A, BOB, T0 + 100)
    handed = delivery(made[0], BOB, T0 + 200, "ab" * 32)
    objects = [A, *made, handed, acceptance(handed, T0 + 300), reopen(A, T0 + 31 * DAY, T0 + 50 * DAY)]
    view = project_view(P, objects, T0 + 32 * DAY).task(A.id)
    assert view.state == "accepted" and view.reopens == () and view.deadline == A.body["deadline"]


def test_contract_delivery_acceptance_and_the_manifest():
    made_a, made_b = signed_contract(A, BOB, T0 + 100), signed_contract(B, DAVE, T0 + 100)
    got_a, got_b = delivery(made_a[0], BOB, T0 + 200, "aa" * 32), delivery(made_b[0], DAVE, T0 + 210, "bb" * 32)
    base = [P, A, B, C, *made_a, *made_b]
    assert project_view(P, base, T0 + 150).task(A.id).state == "contracted"
    assert project_view(P, base + [got_a], T0 + 250).task(A.id).state == "delivered"
    rejected = project_view(P, base + [got_a, acceptance(got_a, T0 + 260, "reject")], T0 + 270).task(A.id)
    assert rejected.state == "contracted"
    done = project_view(P, base + [got_a, got_b, acceptance(got_b, T0 + 300), acceptance(got_a, T0 + 310)], T0 + 400)
    assert done.task(A.id).state == done.task(B.id).state == "accepted"
    assert done.task(C.id).waiting_on == () and done.task(C.id).state == "open"
    order = [t.id for t in done.tasks]
    first, second = sorted([A, B], key=lambda t: (t.created_at, t.id))
    assert order == [first.id, second.id, C.id]
    listed = [d["sha256"] for d in done.deliverables]
    assert listed == ["aa" * 32 if first is A else "bb" * 32, "bb" * 32 if first is A else "aa" * 32]
    expected = [{"task": d["task"], "contract": d["contract"], "milestone": "all", "delivery": d["delivery"],
                 "sha256": d["sha256"]} for d in done.deliverables]
    assert done.manifest == hashlib.sha256(canonical.encode(expected)).hexdigest()
    assert {d["delivery"] for d in done.deliverables} == {got_a.id, got_b.id}


def test_critical_path_method_figures():
    now = T0 + 10
    view = project_view(P, [A, B, C], now)
    lease = 2 * DAY
    a, b, c = (view.task(t.id).schedule for t in (A, B, C))
    assert (a.earliest_start, a.earliest_finish, c.earliest_start, c.earliest_finish) == (
        now, now + lease, now + lease, now + 2 * lease)
    assert view.projected_completion == now + 2 * lease and not view.at_risk
    assert c.critical and c.slack == 0 and a.slack == b.slack == 0
    first = min((A, B), key=lambda t: (t.created_at, t.id))
    assert view.critical_path == (first.id, C.id)
    slow = task(P, "slow", estimate=5 * DAY, deadline=T0 + 30 * DAY, at=T0 + 2)
    late = task(P, "late", (slow,), estimate=70 * DAY, deadline=T0 + 60 * DAY, at=T0 + 3)
    view = project_view(P, [A, B, C, slow, late], now)
    assert view.critical_path == (slow.id, late.id)
    assert view.projected_completion == now + 75 * DAY and view.at_risk and view.task(late.id).at_risk
    assert view.task(A.id).schedule.slack == 75 * DAY - 2 * lease  # a, then c, before the end


def test_started_work_shortens_what_remains():
    holder = claim(A, BOB, T0 + 100)
    now = T0 + 100 + DAY
    schedule = project_view(P, [A, holder], now).task(A.id).schedule
    assert schedule.remaining == DAY and schedule.earliest_finish == now + DAY


def test_a_project_past_its_deadline_with_open_work_is_overdue():
    view = project_view(P, [A], T0 + 61 * DAY)
    assert view.overdue and not view.complete and view.as_dict()["overdue_tasks"] == [A.id]


# --- order independence ---------------------------------------------------------------

PEOPLE = (BOB, CAROL, DAVE)


@st.composite
def scenes(draw):
    strict = draw(st.booleans())
    places = draw(st.integers(1, 2))
    root = project(claims_per_task=places, claim_approval=strict)
    tasks, objects = [], []
    for n in range(draw(st.integers(1, 5))):
        deps = tuple(draw(st.lists(st.sampled_from(tasks), unique_by=lambda t: t.id, max_size=2))) if tasks else ()
        made = task(root, f"t{n}", deps, budget=draw(st.sampled_from(["100", "300", "450"])),
                    deadline=T0 + (10 + 5 * n) * DAY, lease=draw(st.sampled_from([DAY, 2 * DAY])),
                    at=T0 + draw(st.integers(1, 3)))
        tasks.append(made)
    objects += tasks
    for _ in range(draw(st.integers(0, 12))):
        target = draw(st.sampled_from(tasks[:2]))  # few tasks, so claims compete for places
        who, at = draw(st.sampled_from(PEOPLE)), T0 + draw(st.integers(10, 3 * DAY))
        made = claim(target, who, at)
        objects.append(made)
        if draw(st.booleans()):
            objects.append(approval(made, at + draw(st.integers(0, DAY))))
        if draw(st.integers(0, 5)) == 0:
            objects.append(retract(made, who, at + 50))
    for target in tasks:
        if draw(st.integers(0, 3)) == 0:
            objects.append(reopen(target, target.body["deadline"] + draw(st.integers(1, DAY)), T0 + 59 * DAY))
        if draw(st.integers(0, 2)) == 0:
            made = signed_contract(target, draw(st.sampled_from(PEOPLE)), T0 + draw(st.integers(10, 5 * DAY)))
            got = delivery(made[0], sign_author(made[0]), made[2].created_at + 100, f"{len(objects):064x}")
            objects += [*made, got, acceptance(got, got.created_at + draw(st.sampled_from([10, 8 * DAY])))]
    now = T0 + draw(st.one_of(st.integers(0, 4 * DAY), st.integers(0, 40 * DAY)))  # leases live, then anything
    return root, objects, now


def sign_author(contract):
    supplier = contract.body["parties"][1]["did"]
    return next(p for p in PEOPLE if p.did == supplier)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scene=scenes(), data=st.data())
def test_the_view_is_a_function_of_the_set_and_the_time(scene, data):
    """Any subset, delivered in any order and with repeats, gives one view."""
    root, objects, now = scene
    subset = data.draw(st.lists(st.sampled_from(objects), unique_by=lambda o: o.id)) if objects else []
    shuffled = data.draw(st.permutations(subset))
    repeated = shuffled + data.draw(st.lists(st.sampled_from(subset), max_size=3)) if subset else shuffled
    assert project_view(root, subset, now).as_dict() == project_view(root, repeated, now).as_dict()
    whole = project_view(root, data.draw(st.permutations(objects)), now)
    assert whole.as_dict() == project_view(root, objects, now).as_dict()
    for view_task in whole.tasks:  # invariants that hold for every scene
        holders = view_task.claims.holders
        assert len(holders) <= root.body["claims_per_task"]
        assert len({h.author for h in holders + view_task.claims.standby}) == len(holders + view_task.claims.standby)
        assert all(h.lease_end > now for h in holders) or view_task.contract is not None
        assert view_task.schedule.slack >= 0


# --- the committed vectors ------------------------------------------------------------

VECTORS = json.loads((pathlib.Path(__file__).resolve().parents[2] / "specs" / "vectors" / "lifecycle_projects.json")
                     .read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", VECTORS["vectors"], ids=lambda case: case["name"][:60])
def test_vector(case):
    root = verify(case["project"], now=case["project"]["created_at"])
    objects = [verify(o, now=o["created_at"]) for o in case["objects"]]
    context = {o.id: o for o in (root, *objects)}
    refusals = [{"id": o.id, "type": o.type, "code": code} for o in objects
                if (code := code_of(o, *context.values())) is not None]
    assert refusals == case["refusals"]
    assert project_view(root, objects, case["now"]).as_dict() == case["view"]
    assert project_view(root, objects[::-1], case["now"]).as_dict() == case["view"]


def test_the_vectors_cover_every_project_code_and_state():
    codes = {r["code"] for case in VECTORS["vectors"] for r in case["refusals"]}
    assert {"not_authorized", "currency_mismatch", "over_budget", "deadline_conflict", "wrong_reference",
            "not_overdue"} <= codes
    states = {t["state"] for case in VECTORS["vectors"] for t in case["view"]["tasks"]}
    assert {"open", "claimed", "delivered", "accepted"} <= states
    flags = [(t["overdue"], t["at_risk"], bool(t["standby"]), bool(t["lapsed"]), bool(t["reopens"]))
             for case in VECTORS["vectors"] for t in case["view"]["tasks"]]
    assert all(any(f[i] for f in flags) for i in range(5))


def test_a_contract_closed_by_a_ruling_settles_its_task():
    """A for_client ruling leaves a milestone never accepted; the task is still done (spec 13.2.2 step 7):
    it was overdue forever before, and its project could never be complete."""
    made = signed_contract(A, BOB, T0 + 100)
    disputed = sign(ALICE, "dispute", {"contract": made[0].id, "resolver": CAROL.did, "reason": "Nothing came."},
                    A.body["deadline"] + DAY)
    ruled = sign(CAROL, "ruling", {"dispute": disputed.id, "contract": made[0].id, "outcome": "for_client",
                                   "reason": "Nothing was delivered."}, A.body["deadline"] + 2 * DAY)
    before = project_view(P, [P, A, *made, disputed], A.body["deadline"] + 3 * DAY).task(A.id)
    assert before.overdue and before.overdue_milestones == ("all",) and before.state == "contracted"
    view = project_view(P, [P, A, *made, disputed, ruled], A.body["deadline"] + 3 * DAY)
    settled = view.task(A.id)
    assert (settled.state, settled.accepted_at, settled.overdue, settled.at_risk) == (
        "accepted", ruled.created_at, False, False)
    assert settled.overdue_milestones == () and view.deliverables == ()
    assert view.complete and not view.overdue_tasks  # A is the only task held here

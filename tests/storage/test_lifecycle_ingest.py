"""Lifecycle objects at ingest: judged in context, pending until it arrives, indexed by root (spec 13.1)."""

import itertools

import pytest

from protocol.errors import CategoryNotServed
from storage import lifecycle, listing, pending
from storage.ingest import validate_batch
from storage.objects import store_verified
from storage.store import Store
from tests.protocol.contract_cases import ALICE, BOB, CAROL, DAVE, DAY, T0, contract, deliver, obj, signs
from tests.storage.lifecycle_world import CONTEXT, NOW, WORLD, project, refusals, task

W = WORLD
P, T1, T2, K = W["project"], W["t1"], W["t2"], W["contract"]


def put(store, *objs, now=NOW, **options):
    """Deliver `objs` as one batch; (status, code) per object."""
    results = store.write_sync(store_verified, validate_batch([o.wire for o in objs], now), now, **options)
    return [(r.status, r.code) for r in results]


def state(store):
    """Everything ingest may change: objects (with what hides them), pending, the lifecycle tables, outbox."""
    def read(db):
        return {
            "objects": db.execute("SELECT id, category, hidden_by FROM objects ORDER BY id").fetchall(),
            "pending": db.execute("SELECT id FROM pending ORDER BY id").fetchall(),
            "needs": db.execute("SELECT needed, id FROM pending_needs ORDER BY needed, id").fetchall(),
            "index": lifecycle.index_rows(db),
            "parties": db.execute("SELECT * FROM contract_parties ORDER BY 1, 2").fetchall(),
            "retractions": db.execute("SELECT * FROM retractions ORDER BY 1, 2").fetchall(),
            "outbox": db.execute("SELECT destination, object_id FROM outbox ORDER BY 1, 2").fetchall(),
        }
    return store.read_sync(read)


@pytest.mark.parametrize("context, bad, code", [pytest.param(c, b, code, id=name) for name, c, b, code in refusals()])
def test_every_static_rule_refuses_at_ingest_and_changes_nothing(store, context, bad, code):
    assert all(status == "accepted" for status, _ in put(store, *context))
    before = state(store)
    assert put(store, bad) == [("rejected", code)]
    assert state(store) == before
    assert put(store, bad) == [("rejected", code)]  # and again: nothing was kept


def test_a_sign_before_its_contract_waits_then_is_accepted(store):
    put(store, P, T1)
    assert put(store, W["sign bob"], forward_to=("https://hub.example",)) == [("pending", "awaiting_context")]
    assert put(store, W["sign bob"]) == [("pending", "awaiting_context")]  # a re-delivery waits too
    assert store.read_sync(pending.list_pending)[0]["awaiting"] == [K.id]
    assert store.read_sync(listing.get, W["sign bob"].id) is None  # not served while pending
    assert put(store, K) == [("accepted", None)]
    assert store.read_sync(pending.count) == 0
    assert store.read_sync(listing.get, W["sign bob"].id).category == "web-design"
    # queued for where it was first stored for, in the transaction that accepted it
    assert ("https://hub.example", W["sign bob"].id) in state(store)["outbox"]
    assert put(store, W["sign bob"]) == [("duplicate", None)]


@pytest.mark.parametrize("order", ["sign first", "contract first"])
def test_a_contract_and_its_sign_in_one_batch_end_alike_in_either_order(store, order):
    batch = [W["sign bob"], K] if order == "sign first" else [K, W["sign bob"]]
    assert put(store, P, T1, *batch) == [("accepted", None)] * 4  # the sign's answer is its final verdict
    assert store.read_sync(pending.count) == 0


def test_a_chain_waiting_on_its_root_is_judged_to_a_fixpoint_in_one_transaction(store):
    chain = [W["accept 2"], W["delivery 2"], W["sign alice"], K, T1]
    for obj_ in chain:
        assert put(store, obj_) == [("pending", "awaiting_context")]
    assert put(store, P) == [("accepted", None)]
    assert store.read_sync(pending.count) == 0
    assert {o.id for o in store.read_sync(lifecycle.objects_of_root, P.id)} == {P.id} | {o.id for o in chain}


def test_a_pending_object_refused_once_its_context_arrives_is_dropped_and_recorded(store):
    put(store, P, T1)
    assert put(store, W["sign dave"]) == [("pending", "awaiting_context")]
    assert put(store, K) == [("accepted", None)]
    assert store.read_sync(pending.count) == 0
    assert store.read_sync(listing.get, W["sign dave"].id) is None
    [refusal] = store.read_sync(pending.refusals)
    assert (refusal["id"], refusal["code"]) == (W["sign dave"].id, "not_authorized")


def test_pending_is_bounded_in_count_oldest_first(store):
    limits = pending.Limits(count=2, age=7 * DAY)
    waiting = [W["sign alice"], W["sign bob"], W["delivery 1"]]
    for i, obj_ in enumerate(waiting):
        put(store, obj_, now=NOW + i, limits=limits)
    assert {p["id"] for p in store.read_sync(pending.list_pending)} == {W["sign bob"].id, W["delivery 1"].id}


def test_pending_is_bounded_in_age(store):
    limits = pending.Limits(count=100, age=DAY)
    put(store, W["sign alice"], now=NOW, limits=limits)
    put(store, W["sign bob"], now=NOW + DAY, limits=limits)
    assert store.read_sync(pending.count) == 2  # exactly the bound is still kept
    put(store, W["delivery 1"], now=NOW + DAY + 1, limits=limits)
    assert {p["id"] for p in store.read_sync(pending.list_pending)} == {W["sign bob"].id, W["delivery 1"].id}
    put(store, P, T1, K, now=NOW + DAY + 2, limits=limits)  # the dropped sign is simply not there
    assert store.read_sync(lifecycle.parties_of, K.id) == sorted([(ALICE.did, "client"), (BOB.did, "supplier")])
    assert store.read_sync(listing.get, W["sign alice"].id) is None
    assert store.read_sync(listing.get, W["sign bob"].id) is not None


def test_a_hub_takes_a_lifecycle_object_by_the_category_it_inherits(store):
    photo = project(T0 + 2, category="photography")
    photo_task = task(photo, "Shoot", category="photography")

    def served(obj_, category):
        return None if category == "web-design" else CategoryNotServed(f"not {category}")
    routed = []

    def route(obj_, category):
        routed.append((obj_.id, category))
        return [f"https://{category}.example"] if obj_.type != "project" else []
    assert put(store, photo_task, T1, in_context=served, route=route) == [("pending", "awaiting_context")] * 2
    assert put(store, P, photo, in_context=served, route=route) == [("accepted", None)] * 2
    assert store.read_sync(listing.get, photo_task.id) is None  # refused once its category was known
    assert store.read_sync(pending.refusals)[0]["code"] == "category_not_served"
    assert (T1.id, "web-design") in routed
    assert ("https://web-design.example", T1.id) in state(store)["outbox"]


def test_retracts_of_lifecycle_objects(store):
    put(store, *CONTEXT, W["claim dave"], W["delivery 1"], W["amendment"])
    assert put(store, W["retract claim dave"]) == [("accepted", None)]
    assert store.read_sync(listing.get, W["claim dave"].id).hidden  # a claim is withdrawn as usual
    assert put(store, W["retract delivery"]) == [("rejected", "not_authorized")]  # final
    assert put(store, W["retract amendment"]) == [("accepted", None)]
    kept = store.read_sync(listing.get, W["amendment"].id)
    assert not kept.hidden  # the contract fold decides what the retract means
    root_set = {o.id for o in store.read_sync(lifecycle.object_set, K.id)}
    assert {W["amendment"].id, W["retract amendment"].id} <= root_set
    assert W["claim dave"].id not in root_set


def test_a_contract_arriving_after_its_retract_is_accepted_and_the_retract_is_indexed(store):
    put(store, P, T1)
    assert put(store, W["retract amendment"]) == [("accepted", None)]
    assert put(store, K, W["amendment"]) == [("accepted", None)] * 2
    assert {o.id for o in store.read_sync(lifecycle.object_set, P.id)} >= {W["amendment"].id,
                                                                           W["retract amendment"].id}


def test_the_reads_of_the_service_layer(store):
    put(store, *WORLD.values())
    assert store.read_sync(lifecycle.contracts_of, BOB.did) == [K.id, W["amendment"].id]
    assert store.read_sync(lifecycle.contracts_of, CAROL.did) == []
    assert store.read_sync(lifecycle.root_of, W["ruling"].id) == P.id
    assert store.read_sync(lifecycle.root_of, P.id) == P.id
    assert store.read_sync(lifecycle.root_of, W["proposal on offer"].id) == W["offer"].id
    everything = store.read_sync(lifecycle.objects_of_root, P.id)
    assert everything == sorted(everything, key=lambda o: (o.created_at, o.id))
    assert W["claim dave late"].id not in {o.id for o in everything}  # hidden (key_rotated)
    assert W["claim dave late"].id in {o.id for o in store.read_sync(lifecycle.objects_of_root, P.id,
                                                                    include_hidden=True)}
    assert store.read_sync(lifecycle.object_set, K.id) == everything
    assert store.read_sync(lifecycle.object_set, "0" * 64) == []
    rows = {row[0]: row for row in store.read_sync(lifecycle.index_rows)}
    assert rows[W["accept 2"].id][1:5] == ("acceptance", P.id, W["delivery 2"].id,
                                                                      "web-design")


def test_a_rebuild_of_the_lifecycle_tables_equals_what_ingest_built(file_store):
    for name in reversed(list(WORLD)):  # every object pending first, then judged
        put(file_store, WORLD[name])
    before = state(file_store)
    file_store.rebuild_sync(["lifecycle_index"])
    assert state(file_store) == before
    file_store.rebuild_sync()
    assert state(file_store) == before


def test_a_delivery_signed_after_its_key_was_rotated_is_still_context(store):
    """A delivery signed after its author's rotation is kept hidden; what refers to it is judged the same."""
    put(store, P, T1)
    dave_contract = contract(T1, T0 + 100, supplier=DAVE)
    put(store, dave_contract, *signs(dave_contract, T0 + 110, ALICE, DAVE))
    late = deliver(dave_contract, "design", T0 + 2 * DAY, who=DAVE)
    put(store, W["rotation dave"])
    assert put(store, late) == [("rejected", "key_rotated")]
    verdict = obj(ALICE, "acceptance", T0 + 3 * DAY, delivery=late.id, decision="accept")
    assert put(store, verdict) == [("accepted", None)]


@pytest.mark.parametrize("order", list(itertools.permutations(["claim dave late 2", "retract claim dave late 2",
                                                                "rotation dave"])))
def test_a_rotation_outranks_a_retract_in_every_order(order):
    store = Store()
    try:
        put(store, P, T1)
        for name in order:
            put(store, W[name])
        late = W["claim dave late 2"]
        assert put(store, late) == [("rejected", "key_rotated")]
        assert store.read_sync(listing.get, late.id).rotated_by == W["rotation dave"].id  # GET: 410 key_rotated
    finally:
        store.close()


def test_refusals_are_bounded_in_count_and_age(store):
    limits = pending.Limits(count=3, age=DAY)
    for n in range(5):
        store.write_sync(pending.refused, f"{n:064x}", "not_authorized", "no", NOW + n)
    store.write_sync(pending.evict, NOW + 5, limits)  # the count bound: the 3 newest stay
    assert [r["id"][-1] for r in store.read_sync(pending.refusals)] == ["4", "3", "2"]
    store.write_sync(pending.evict, NOW + 3 + DAY, limits)  # the age bound: refused before NOW + 3 go
    assert [r["id"][-1] for r in store.read_sync(pending.refusals)] == ["4", "3"]
    store.write_sync(pending.evict, NOW + 3 + DAY, limits)  # nothing more to drop: unchanged
    assert len(store.read_sync(pending.refusals)) == 2

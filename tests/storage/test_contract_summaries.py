"""The contract summaries table (storage.contract_summaries): ingest equals a rebuild, reputation equals the fold.

Random subsets of a pool of lifecycles (competing signs, retracts of signs
and of a contract, an amendment, rejections, a dispute with a ruling,
reviews between partners who also work with others and between a closed
pair, the storage world with its key rotation) are delivered in random
orders and batches. Afterwards the table equals the one a rebuild from the
objects gives, and the reputation the service layer reads from it equals
protocol.lifecycle.reputation folded over the object sets of the roots of
every contract involved (what kinode.work.reads computed before the table),
at the end of time and at times before some objects were signed.
"""

from hypothesis import given, settings, strategies as st

from kinode.work import reads
from protocol.identity import Identity
from protocol.lifecycle.reputation import reputation as fold_reputation
from storage import contract_summaries, derived, lifecycle
from storage.ingest import validate_batch
from storage.objects import store_verified
from storage.store import Store
from tests.protocol.contract_cases import (
    ALICE, BOB, CAROL, DAVE, DAY, T0, completed_lifecycle, confirm, contract, decide, deliver, obj, pay, project,
    review, signs,
)
from tests.storage.lifecycle_world import NOW, WORLD

ERIN = Identity(bytes([5]) * 32)


def _pool() -> list:
    p = project()
    c = contract(p, T0 + 100)
    amended = obj(BOB, "contract", T0 + 5 * DAY, **{**c.body, "supersedes": c.id, "terms": "Amended."})
    rival = obj(ALICE, "contract", T0 + 5 * DAY + 1, **{**c.body, "supersedes": c.id, "terms": "Rival."})
    s = [obj(ALICE, "sign", T0 + 110, contract=c.id), obj(BOB, "sign", T0 + 120, contract=c.id),
         obj(BOB, "sign", T0 + 115, contract=c.id)]
    d1, d2 = deliver(c, "design", T0 + DAY), deliver(c, "design", T0 + 2 * DAY, digest="cd" * 32)
    sent = pay(c, "design", T0 + 2 * DAY)
    dispute = obj(ALICE, "dispute", T0 + 4 * DAY, contract=c.id, resolver=CAROL.did, milestone="build",
                  reason="Broken.")
    first = [*s, obj(BOB, "retract", T0 + 112, target=s[2].id), obj(ALICE, "retract", T0 + 125, target=c.id),
             d1, decide(d1, T0 + DAY + 9, "reject"), d2, decide(d2, T0 + 2 * DAY + 1), sent,
             confirm(sent, c, T0 + 2 * DAY + 7), dispute,
             obj(CAROL, "ruling", T0 + 4 * DAY + 3, dispute=dispute.id, contract=c.id, outcome="for_client",
                 reason="Broken indeed."),
             amended, *signs(amended, T0 + 6 * DAY, ALICE, BOB), rival, *signs(rival, T0 + 6 * DAY + 5, ALICE, BOB),
             review(c, T0 + 9 * DAY, ALICE, BOB, 4)]
    objects = [p, c, *first]
    for start, client, supplier, rating in ((T0 + 200, ALICE, BOB, 5), (T0 + 300, DAVE, BOB, 2),
                                            (T0 + 400, ALICE, DAVE, 3), (T0 + 500, ERIN, BOB, 5)):
        done, rest = completed_lifecycle(p, start, client=client, supplier=supplier)
        reviewed = review(done, start + 30 * DAY, client, supplier, rating)
        objects += [done, *rest, reviewed, review(done, start + 31 * DAY, supplier, client, 4),
                    obj(client, "retract", start + 32 * DAY, target=reviewed.id)] if rating == 2 else \
            [done, *rest, reviewed, review(done, start + 31 * DAY, supplier, client, 4)]
    return sorted([*objects, *WORLD.values()], key=lambda o: (o.created_at, o.id))


POOL = _pool()
PEOPLE = (ALICE, BOB, CAROL, DAVE, ERIN)
TIMES = (NOW, T0 + 3 * DAY, T0 + 40 * DAY)


def deliver_all(store, objs) -> None:
    store.write_sync(store_verified, validate_batch([o.wire for o in objs], NOW), NOW)


def folded_reputation(db, did: str, now: int) -> dict:
    """The fold over the root sets of `did`'s contracts and of its partners' contracts (reads.py before the table)."""
    objects: dict = {}
    ids = lifecycle.contracts_of(db, did, include_hidden=True)
    for contract_id in list(ids):
        for other, _ in lifecycle.parties_of(db, contract_id):
            ids += lifecycle.contracts_of(db, other, include_hidden=True)
    for contract_id in dict.fromkeys(ids):
        objects.update((o.id, o) for o in lifecycle.object_set(db, contract_id, include_hidden=True))
    return fold_reputation(did, list(objects.values()), now).as_dict()


def check(store, reputations: bool = True) -> None:
    incremental = store.read_sync(contract_summaries.rows)
    assert all(row[3] is not None for row in incremental)  # nothing left unfolded after a commit
    for did in PEOPLE if reputations else ():
        for now in TIMES:
            assert store.read_sync(reads.reputation, did.did, now) == store.read_sync(folded_reputation, did.did, now)
    store.write_sync(derived.rebuild, ["contract_summaries"])
    assert store.read_sync(contract_summaries.rows) == incremental


@st.composite
def deliveries(draw):
    chosen = sorted(draw(st.sets(st.integers(0, len(POOL) - 1), min_size=1)))
    order = draw(st.permutations(chosen))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(order) - 1)), max_size=5)))
    batches, start = [], 0
    for cut in [*cuts, len(order)]:
        if cut > start:
            batches.append([POOL[i] for i in order[start:cut]])
            start = cut
    return batches


@settings(max_examples=40, deadline=None)
@given(deliveries())
def test_incremental_table_equals_rebuild_and_reputation_equals_the_fold(batches):
    store = Store()
    try:
        for batch in batches:
            deliver_all(store, batch)
        check(store)
    finally:
        store.close()


def test_the_whole_pool_one_by_one_in_reverse():
    store = Store()
    try:
        for o in reversed(POOL):
            deliver_all(store, [o])
        rows = store.read_sync(contract_summaries.rows)
        assert len(rows) == 9  # every contract of the pool and of the world has a row
        rep = store.read_sync(reads.reputation, BOB.did, NOW)
        assert rep["reviews_counted"] >= 3 and {r["pair_weight"] for r in rep["reviews"]} == {
            r["pair_weight"] for r in store.read_sync(folded_reputation, BOB.did, NOW)["reviews"]}
        check(store)
    finally:
        store.close()


def test_after_every_single_object_in_order_the_table_equals_a_rebuild():
    # Each object alone in its transaction: one that fails to mark its contract shows at once.
    store = Store()
    try:
        for o in POOL:
            deliver_all(store, [o])
            check(store, reputations=False)
        check(store)
    finally:
        store.close()

"""Node.receive with lifecycle objects: in-batch context on a participant's node, a hub's category and routes.

Issue 10: a contract and its sign posted together in one batch refused the
sign as not_addressed; the order of objects within a batch must not change
the outcome.
"""

import pytest

from kinode.config import NodeConfig
from kinode.node import Node, Remote
from protocol.envelope import sign
from protocol.identity import Identity
from storage import listing, outbox
from storage.objects import store_verified
from tests.protocol.contract_cases import BOB, DAY, T0
from tests.storage.lifecycle_world import NOW, WORLD, project, task

W = WORLD
STRANGER = Identity(bytes([77]) * 32)


def results(answers):
    return [(r.status, r.code) for r in answers]


@pytest.fixture
def bob_node(store, tmp_path):
    """Bob's node (the supplier), already holding the project and the task the contract covers."""
    node = Node(NodeConfig(data_dir=tmp_path / "bob"), BOB, store, clock=lambda: NOW)
    store.write_sync(store_verified, [W["project"], W["t1"]], NOW)
    return node


@pytest.mark.parametrize("order", [("sign alice", "contract"), ("contract", "sign alice")])
async def test_a_contract_and_its_sign_in_one_batch_are_both_taken_in_either_order(bob_node, order):
    answers = await bob_node.receive([W[name].as_dict() for name in order])
    assert results(answers) == [("accepted", None), ("accepted", None)]


async def test_a_strangers_sign_of_an_unknown_contract_is_still_not_addressed(bob_node):
    stray = sign(STRANGER, "sign", {"contract": "ab" * 32}, T0 + 200)
    assert results(await bob_node.receive([stray.as_dict()])) == [("rejected", "not_addressed")]


async def test_a_hub_files_and_routes_a_lifecycle_object_by_its_inherited_category(store, tmp_path):
    hub = Node(NodeConfig(data_dir=tmp_path / "hub", roles=("node", "hub"), categories=("web-design",)),
               Identity(bytes([78]) * 32), store, clock=lambda: NOW)
    peer = "http://127.0.0.1:9"  # never contacted: only its outbox entries are looked at
    other = "http://127.0.0.1:10"
    hub.remotes = {peer: Remote(peer, None, ("web-design",), ("node", "hub")),
                   other: Remote(other, None, ("photography",), ("node", "hub"))}
    assert results(await hub.receive([W["sign bob"].as_dict(), W["t1"].as_dict()])) == \
        [("pending", "awaiting_context")] * 2
    assert results(await hub.receive([W["project"].as_dict(), W["contract"].as_dict()])) == \
        [("accepted", None)] * 2
    assert store.read_sync(listing.get, W["sign bob"].id).category == "web-design"
    queued = {(e.destination, e.object_id) for e in store.read_sync(outbox.due, NOW, 100)}
    assert {(peer, W[name].id) for name in ("project", "t1", "contract", "sign bob")} <= queued
    assert not any(destination == other for destination, _ in queued)


async def test_a_hub_refuses_a_lifecycle_object_of_a_category_it_does_not_serve_after_its_static_rules(store,
                                                                                                        tmp_path):
    hub = Node(NodeConfig(data_dir=tmp_path / "hub", roles=("node", "hub"), categories=("photography",)),
               Identity(bytes([79]) * 32), store, clock=lambda: NOW)
    photo = project(T0, category="photography")
    store.write_sync(store_verified, [W["project"], photo], NOW)  # e.g. from an earlier policy
    mine = task(photo, "Shoot", category="photography")
    too_late = task(W["project"], "Late", deadline=T0 + 70 * DAY)  # unserved category and late: static first
    answers = await hub.receive([mine.as_dict(), W["t1"].as_dict(), too_late.as_dict()])
    assert results(answers) == [("accepted", None), ("rejected", "category_not_served"),
                                ("rejected", "deadline_conflict")]

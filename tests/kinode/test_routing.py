"""Routing: an object goes to the node of everyone it concerns and to the hubs of its inherited
category; "pending" is not delivered and is retried; nobody reachable is reported, never dropped.

A hub and Bob's node are real apps on 127.0.0.1; Alice's node delivers with its own Gossip.
"""

import asyncio
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinode.config import NodeConfig
from kinode.federation.app import create_app
from kinode.federation.gossip import Gossip
from kinode.federation.lookup import fetch_missing_context
from kinode.federation.sessions import open_sessions
from kinode.node import Node, Remote
from kinode.work import routing
from kinode.work.service import WorkService
from protocol.envelope import sign
from protocol.identity import Identity
from storage import deliveries, peers
from storage.deliveries import UNREACHABLE
from storage.objects import store_verified
from storage.store import Store

START = int(time.time())
ALICE, BOB, CAROL, HUB = (Identity(bytes([n]) * 32) for n in (41, 42, 43, 44))
EUR = {"amount": "100.00", "currency": "EUR"}


class Clock:
    def __init__(self):
        self.now = int(time.time())  # now, not at import: Alice's request signatures must be fresh for the others

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def world(tmp_path, aiohttp_server):
    stores = [Store() for _ in range(3)]
    hub = Node(NodeConfig(data_dir=tmp_path / "hub", roles=("node", "hub"), categories=("web-design",)), HUB, stores[0])
    hub_server = await aiohttp_server(create_app(hub))
    hub_url = str(hub_server.make_url("")).rstrip("/")
    bob = Node(NodeConfig(data_dir=tmp_path / "bob", hubs=(hub_url,)), BOB, stores[1])
    bob_server = await aiohttp_server(create_app(bob))
    bob_url = str(bob_server.make_url("")).rstrip("/")
    clock = Clock()
    alice = Node(NodeConfig(data_dir=tmp_path / "alice", hubs=(hub_url,)), ALICE, stores[2], clock=clock)
    alice.remotes[hub_url] = Remote(hub_url, HUB.did, ("web-design",), ("node", "hub"))
    profile = sign(BOB, "profile", {"name": "Bob", "node": bob_url, "hubs": [hub_url]}, START - 60)
    resolver = sign(HUB, "profile", {"name": "Hub", "node": hub_url}, START - 60)  # the hub operator resolves disputes
    alice.store.write_sync(store_verified, [profile, resolver], START)
    async with open_sessions(alice.config) as sessions:
        yield alice, bob, hub, Gossip(alice, sessions), sessions, clock, hub_url, bob_url
    for store in stores:
        store.close()


def contract_body(task_id: str, supplier: str) -> dict:
    return {"scope": [task_id], "parties": [{"did": ALICE.did, "role": "client"}, {"did": supplier, "role": "supplier"}],
            "terms": "a logo", "price": EUR, "deadline": START + 80000, "dispute_resolver": HUB.did,
            "milestones": [{"key": "all", "title": "the logo", "amount": EUR, "due": START + 70000}]}


async def _task_and_contract(alice: Node, supplier: str) -> tuple:
    """Alice's project, its task, and her contract for it with `supplier`, through her work service."""
    service = WorkService(alice)
    project = await service.project(category="web-design", title="Site", description="A site",
                                    budget={"amount": "500.00", "currency": "EUR"}, deadline=START + 90000)
    task = await service.task(project.obj.id, title="Logo", description="A logo", budget=EUR, deadline=START + 86400)
    return task, await service.contract(**contract_body(task.obj.id, supplier))


async def test_pending_is_not_delivered_until_the_party_holds_the_context(world):
    alice, bob, hub, gossip, sessions, clock, hub_url, bob_url = world
    task, contract = await _task_and_contract(alice, BOB.did)
    assert task.route.destinations == ((hub_url, f"hub {hub_url}"),)
    assert {url for url, _ in contract.route.destinations} == {hub_url, bob_url}
    await gossip.deliver_due()
    [routed] = alice.store.read_sync(deliveries.summary, [contract.obj.id])
    states = {d["to"]: (d["state"], d["code"]) for d in routed["destinations"]}
    assert states == {hub_url: ("delivered", None), bob_url: ("pending", "awaiting_context")}
    assert (routed["delivered"], routed["total"]) == (1, 2)

    # Bob's node fetches what the contract waits for from its hub; Alice's retry then counts as delivered.
    assert await fetch_missing_context(bob, sessions)
    assert bob.store.read_sync(lambda db: db.execute("SELECT count(*) FROM objects WHERE id = ?",
                                                     [contract.obj.id]).fetchone()[0]) == 1
    clock.now += 30  # past the first backoff (and within the request-signature window)
    await gossip.deliver_due()
    [routed] = alice.store.read_sync(deliveries.summary, [contract.obj.id])
    assert (routed["delivered"], routed["total"]) == (2, 2)


async def test_someone_without_a_known_node_is_reported_unreachable(world):
    alice, bob, hub, gossip, sessions, clock, hub_url, bob_url = world
    _, contract = await _task_and_contract(alice, CAROL.did)
    assert [name.split()[0] for _, name in contract.route.unreachable] == ["supplier"]
    await gossip.deliver_due()
    [routed] = alice.store.read_sync(deliveries.summary, [contract.obj.id])
    assert (routed["delivered"], routed["total"]) == (1, 2)
    [lost] = [d for d in routed["destinations"] if d["to"] is None]
    assert lost["state"] == "unreachable" and CAROL.did[:14] in lost["name"]


async def test_an_unreachable_party_is_routed_once_its_profile_turns_up_at_a_hub(world, tmp_path, aiohttp_server):
    alice, bob, hub, gossip, sessions, clock, hub_url, bob_url = world
    _, contract = await _task_and_contract(alice, CAROL.did)
    await gossip.deliver_due()
    assert await gossip.reroute_unreachable() == 0  # nobody knows Carol yet: still unreachable, and said so
    [routed] = alice.store.read_sync(deliveries.summary, [contract.obj.id])
    assert [d["state"] for d in routed["destinations"] if d["to"] is None] == ["unreachable"]

    # Carol starts a node and publishes her profile to the hub; Alice's node looks again a round later.
    carol_store = Store()
    carol = Node(NodeConfig(data_dir=tmp_path / "carol", hubs=(hub_url,)), CAROL, carol_store)
    carol_url = str((await aiohttp_server(create_app(carol))).make_url("")).rstrip("/")
    profile = sign(CAROL, "profile", {"name": "Carol", "node": carol_url, "hubs": [hub_url]}, START - 30)
    hub.store.write_sync(store_verified, [profile], START)
    clock.now += 31  # past the first lookup's backoff (30 s)
    gossip.reroute_every = 0.05
    running = asyncio.get_running_loop().create_task(gossip.run())  # as `kinode serve` runs it
    try:
        def states() -> dict:
            [routed] = alice.store.read_sync(deliveries.summary, [contract.obj.id])
            return {d["to"]: d["state"] for d in routed["destinations"]}
        for _ in range(200):  # it finds the profile at the hub, routes the contract to Carol's node, sends it
            if states().get(carol_url) in ("delivered", "pending"):
                break
            await asyncio.sleep(0.05)
        assert None not in states() and states()[carol_url] in ("delivered", "pending"), states()
        assert carol_store.read_sync(lambda db: db.execute("SELECT count(*) FROM pending WHERE id = ?",
                                                           [contract.obj.id]).fetchone()) == (1,)
    finally:
        running.cancel()
        carol_store.close()


def test_a_hub_named_as_resolver_is_reached_at_its_announcement_or_where_this_node_reached_it():
    """A hub operator has no profile; a contract naming the hub as `dispute_resolver` still reaches it
    (spec 9.13 step 2): at its hub announcement's url, else where this node reached its did as a peer."""
    contract = _lifecycle()[2]
    hubs = [routing.Hub("http://hub.example", ("web-design",))]

    def resolver_route(*held) -> tuple:
        store = Store()
        try:
            store.write_sync(store_verified, [*_lifecycle()[:2], contract, *held], START + 10)
            return store.read_sync(routing.plan, contract, hubs, ALICE.did)
        finally:
            store.close()

    def where(route) -> dict[str, str]:
        return {name.split()[0]: url for url, name in route.destinations}

    assert where(resolver_route())["resolver"] == UNREACHABLE + HUB.did
    announced = sign(HUB, "hub", {"url": "http://hub.example/", "name": "Hub", "categories": ["web-design"]}, START)
    route = resolver_route(announced)
    assert where(route)["resolver"] == "http://hub.example" and HUB.did not in route.unreachable_dids

    store = Store()  # no announcement held: the peers table, as a node learns it from the hub's /.well-known/kinode
    try:
        store.write_sync(store_verified, [*_lifecycle()[:2], contract], START + 10)
        store.write_sync(peers.upsert_peer, HUB.did, "http://hub.example", ("web-design",), ("node", "hub"), START)
        assert where(store.read_sync(routing.plan, contract, hubs, ALICE.did))["resolver"] == "http://hub.example"
    finally:
        store.close()


async def test_a_private_proposal_travels_only_sealed(world):
    alice, bob, hub, gossip, sessions, clock, hub_url, bob_url = world
    project = sign(BOB, "project", {"category": "web-design", "title": "Shop", "description": "A shop",
                                    "budget": EUR, "deadline": START + 90000, "coordinator": BOB.did}, START - 30)
    for node in (alice, bob):
        node.store.write_sync(store_verified, [project], START)
    published = await WorkService(alice).propose(project.id, price=EUR, message="I do shops", private=True)
    assert published.private and published.message is not None
    assert {url for url, _ in published.route.destinations} == {bob_url, hub_url}
    await gossip.deliver_due()
    # Bob's node opened the message and holds the proposal; the hub holds only the sealed message, for Bob.
    assert bob.store.read_sync(lambda db: db.execute("SELECT type FROM objects WHERE id = ?",
                                                     [published.obj.id]).fetchone()) == ("proposal",)
    assert hub.store.read_sync(lambda db: db.execute("SELECT count(*) FROM objects WHERE id IN (?, ?)",
                                                     [published.obj.id, published.message.id]).fetchone()) == (0,)
    from storage import mailbox
    assert [h.object_id for h in hub.store.read_sync(mailbox.held_for, BOB.did, START + 1)] == [published.message.id]


# --- who an object concerns is a function of the set held, not of arrival order --------------------

def _lifecycle() -> list:
    project = sign(ALICE, "project", {"category": "web-design", "title": "Site", "description": "A site",
                                      "budget": EUR, "deadline": START + 90000, "coordinator": ALICE.did}, START)
    task = sign(ALICE, "task", {"project": project.id, "category": "web-design", "title": "Logo", "description": "A logo",
                                "budget": EUR, "deadline": START + 86400, "depends_on": [], "claim_lease": 3600}, START + 1)
    contract = sign(ALICE, "contract", contract_body(task.id, BOB.did), START + 2)
    sign_ = sign(BOB, "sign", {"contract": contract.id}, START + 3)
    claim = sign(CAROL, "claim", {"task": task.id, "project": project.id}, START + 4)
    return [project, task, contract, sign_, claim]


OBJECTS = _lifecycle()


@settings(max_examples=25, deadline=None)
@given(st.permutations(OBJECTS))
def test_the_route_of_each_object_does_not_depend_on_arrival_order(order):
    expected = {o.id: (routing.concerned(o, {x.id: x for x in OBJECTS}), "web-design") for o in OBJECTS}
    store = Store()
    try:
        for obj in order:  # one at a time: pending ones are judged when their context arrives
            store.write_sync(store_verified, [obj], START + 10)
        for obj in OBJECTS:
            route = store.read_sync(routing.plan, obj, [routing.Hub("http://hub", ("web-design",))], "nobody")
            assert (route.concerned, route.category) == expected[obj.id]
    finally:
        store.close()
    assert expected[OBJECTS[3].id][0] == {ALICE.did: "client", BOB.did: "supplier", HUB.did: "resolver"}
    assert expected[OBJECTS[4].id][0] == {ALICE.did: "coordinator"}


def test_only_people_are_looked_up_again_not_an_object_that_goes_nowhere():
    store = Store()
    try:
        store.write_sync(deliveries.plan, "a" * 64, [(routing.NOWHERE, "nowhere: no hub serves it")], START)
        store.write_sync(deliveries.plan, "b" * 64, [(UNREACHABLE + CAROL.did, "supplier did:key:… (no node URL)")],
                         START)
        assert store.read_sync(deliveries.unreachable) == [("b" * 64, CAROL.did, "supplier did:key:… (no node URL)")]
    finally:
        store.close()

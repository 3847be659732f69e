"""POST /ki/v1/fetch (spec 9.16) and the reconciliation's fetch of what it found missing.

Real apps on 127.0.0.1: a hub that holds some offers answers the batch fetch, splitting at the size
bound into objects and `unsent`; a node fetching from it stores them all, in batches of at most the id
limit; from a peer without the endpoint it falls back to one GET each.
"""

import json
import time

import aiohttp
import pytest
from aiohttp import web

from kinode.config import NodeConfig
from kinode.federation import handlers, reconcile
from kinode.federation.app import create_app
from kinode.node import Node
from protocol.envelope import sign
from protocol.identity import Identity
from storage import listing
from storage.objects import store_verified
from storage.store import Store

NOW = int(time.time())
HUB, ANN, ME = (Identity(bytes([n]) * 32) for n in (51, 52, 53))
OFFERS = [sign(ANN, "offer", {"category": "web-design", "title": f"Offer {n}", "description": "Work " * 40,
                              "price": {"amount": "10.00", "currency": "EUR"}, "unit": "hour"}, NOW - 100 + n)
          for n in range(5)]
IDS = [o.id for o in OFFERS]


@pytest.fixture
async def hub(tmp_path, aiohttp_server):
    store = Store()
    node = Node(NodeConfig(data_dir=tmp_path / "hub", roles=("node", "hub"), categories=("web-design",)), HUB, store)
    store.write_sync(store_verified, OFFERS, NOW)
    server = await aiohttp_server(create_app(node))
    yield str(server.make_url("")).rstrip("/")
    store.close()


@pytest.fixture
async def me(tmp_path):
    store = Store()
    yield Node(NodeConfig(data_dir=tmp_path / "me", roles=("node", "hub"), categories=("web-design",)), ME, store)
    store.close()


async def _fetch(client, url: str, ids: list[str]) -> dict:
    async with client.post(url + "/ki/v1/fetch", json={"ids": ids}) as response:
        assert response.status == 200
        return json.loads(await response.read())


async def test_past_the_size_bound_the_rest_is_unsent_in_request_order_and_comes_when_asked_again(hub, monkeypatch):
    monkeypatch.setattr(handlers, "MAX_FETCH_BYTES", 2 * len(OFFERS[0].wire) + 10)  # two objects fit
    async with aiohttp.ClientSession() as session:
        await _split_at_the_bound(session, hub, monkeypatch)


async def _split_at_the_bound(session, hub: str, monkeypatch) -> None:
    asked = [IDS[3], IDS[0], IDS[4], IDS[1], IDS[2]]
    first = await _fetch(session, hub, asked)
    assert [o["id"] for o in first["objects"]] == asked[:2] and first["unsent"] == asked[2:]
    second = await _fetch(session, hub, first["unsent"])
    assert [o["id"] for o in second["objects"]] == asked[2:4] and second["unsent"] == asked[4:]
    monkeypatch.setattr(handlers, "MAX_FETCH_BYTES", 10)  # smaller than one object: the first still goes whole
    alone = await _fetch(session, hub, asked)
    assert [o["id"] for o in alone["objects"]] == asked[:1] and alone["unsent"] == asked[1:]


async def test_a_reconciliation_fetches_all_it_needs_in_batches(hub, me, monkeypatch):
    monkeypatch.setattr(reconcile, "MAX_OFFERED_IDS", 2)
    monkeypatch.setattr(handlers, "MAX_FETCH_BYTES", len(OFFERS[0].wire) + 10)  # and only one object an answer
    async with aiohttp.ClientSession() as session:
        assert await reconcile._fetch(me, session, hub, IDS + ["ef" * 32]) == len(IDS)
    assert me.store.read_sync(listing.held_ids, IDS) == set(IDS)


async def test_from_a_peer_without_batch_fetch_each_object_is_fetched_with_get(me, aiohttp_server):
    wires = {o.id: o.wire for o in OFFERS}
    seen = []

    async def get_object(request: web.Request) -> web.Response:
        seen.append(request.match_info["id"])
        wire = wires.get(request.match_info["id"])
        return web.Response(body=wire, content_type="application/json") if wire else web.Response(status=404)

    app = web.Application()
    app.router.add_get("/ki/v1/objects/{id}", get_object)  # an older peer: no POST /ki/v1/fetch (404)
    url = str((await aiohttp_server(app)).make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as session:
        assert await reconcile._fetch(me, session, url, IDS) == len(IDS)
    assert sorted(seen) == sorted(IDS)
    assert me.store.read_sync(listing.held_ids, IDS) == set(IDS)


async def test_fetched_objects_reach_the_verifier_with_the_bytes_they_came_in(hub, me, monkeypatch):
    """Its fast path (and the worker processes) take canonical bytes, not values parsed on the loop."""
    got = []
    receive = me.receive

    async def spy(items, source=None):
        got.extend(items)
        return await receive(items, source=source)

    monkeypatch.setattr(me, "receive", spy)
    async with aiohttp.ClientSession() as session:
        assert await reconcile._fetch(me, session, hub, IDS) == len(IDS)
    assert [item.wire for item in got] == [o.wire for o in OFFERS]
